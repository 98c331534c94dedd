"""Headless Chromium driven over the Chrome DevTools Protocol, for tests of pages in a browser.

Debian's chromium is started with a fresh profile and no background networking
(this machine's network is closed: Chromium's own calls home would fail) and
driven over CDP, a WebSocket (the `websockets` dev dependency). `.ci/install-tools`
installs chromium; with CI=true a missing browser fails the test instead of skipping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.databases import in_ci

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--window-size=1280,900",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed: run .ci/install-tools"
        if in_ci():
            pytest.fail(message + " (CI=true: the browser test must run)", pytrace=False)
        pytest.skip(message)
    return path


class DevTools:
    """A minimal Chrome DevTools Protocol client: commands by id, events kept in order."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message and message["id"] in self._waiting:
                self._waiting.pop(message["id"]).set_result(message)
            elif "method" in message:
                self.events.append(message)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next_id] = answer
        command = {"id": self._next_id, "method": method, "params": params}
        await self.socket.send(json.dumps(command))
        reply = await answer
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, what: str, seconds: float = 15.0) -> Any:
        """Poll `expression` until it is truthy (the page renders asynchronously)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; events: {self.problems()}")
            await asyncio.sleep(0.1)

    async def wait_for_event(self, method: str, after: int = 0, seconds: float = 15.0) -> None:
        """Until more than `after` events named `method` have arrived."""
        deadline = asyncio.get_running_loop().time() + seconds
        while sum(1 for event in self.events if event["method"] == method) <= after:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {method}; events: {self.problems()}")
            await asyncio.sleep(0.05)

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event["method"] == "Network.requestWillBeSent"
        ]

    def problems(self) -> list[Any]:
        kinds = ("Network.loadingFailed", "Runtime.exceptionThrown")
        return [event["params"] for event in self.events if event["method"] in kinds]

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.socket.close()


@contextlib.contextmanager
def browser_process(profile: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.asynccontextmanager
async def open_page(tmp_path: Path) -> AsyncIterator[DevTools]:
    """Chromium with a fresh profile; yields a DevTools session on its first tab."""
    profile, log = tmp_path / "profile", tmp_path / "chromium.log"
    with browser_process(profile, log) as process:
        port_file = profile / "DevToolsActivePort"
        while not port_file.exists() or not port_file.read_text().strip():
            if process.poll() is not None:
                raise AssertionError(f"chromium exited: {log.read_text()[-2000:]}")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(target for target in targets if target["type"] == "page")
        async with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            devtools = DevTools(socket)
            try:
                for domain in ("Page", "Runtime", "Network"):
                    await devtools.send(f"{domain}.enable")
                yield devtools
            finally:
                await devtools.close()


async def screenshot(page: DevTools, whole_page: bool = False) -> bytes:
    """The page as it looks now, as a PNG (tests keep it with their files).

    `whole_page`: all of it, also what is below the fold, at the emulated width.
    """
    if not whole_page:
        shot = await page.send("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"])
    size = (await page.send("Page.getLayoutMetrics"))["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = await page.send(
        "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
    )
    return base64.b64decode(shot["data"])


async def emulate_phone(
    page: DevTools, width: int = 390, height: int = 844, scale: float = 2, dark: bool = False
) -> None:
    """A phone's screen (CSS pixels, device pixel ratio, touch) and its light or dark preference."""
    await page.send(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=scale,
        mobile=True,
    )
    await page.send("Emulation.setTouchEmulationEnabled", enabled=True)
    scheme = {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}
    await page.send("Emulation.setEmulatedMedia", features=[scheme])


async def before_each_document(page: DevTools, script: str) -> str:
    """Run `script` in every document the tab opens, before the page's own scripts; its id."""
    added = await page.send("Page.addScriptToEvaluateOnNewDocument", source=script)
    identifier: str = added["identifier"]
    return identifier


async def block_urls(page: DevTools, *patterns: str) -> None:
    """Requests matching `patterns` (wildcards) fail at once, as with no route to that host."""
    await page.send("Network.setBlockedURLs", urls=list(patterns))


async def navigate(page: DevTools, url: str) -> None:
    """Open `url` in the tab and wait until its document has loaded."""
    loads = sum(1 for event in page.events if event["method"] == "Page.loadEventFired")
    await page.send("Page.navigate", url=url)
    await page.wait_for_event("Page.loadEventFired", after=loads)
