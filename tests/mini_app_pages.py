"""The Mini Apps in headless Chromium, as Telegram opens them on a phone.

Telegram's client gives a Mini App `window.Telegram.WebApp` (initData, theme,
the QR scanner, the main button). Here a stand-in provides it before the page's
own scripts run: its initData is signed as Telegram signs it (or forged), its
theme is Telegram's light or dark palette, its scanner "scans" what the test
says and its main button is pressed by the test. telegram.org is unreachable,
as on this machine; the page must not need it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.browser import (
    DevTools,
    before_each_document,
    block_urls,
    emulate_phone,
    navigate,
    open_page,
    screenshot,
)
from tests.node_kits import ROOT

ARTEFACTS = ROOT / "test-artifacts" / "mini-apps"

# Telegram's own palettes (iOS client, default themes), as themeParams carries them.
THEMES: dict[str, dict[str, str]] = {
    "light": {
        "bg_color": "#ffffff",
        "text_color": "#000000",
        "hint_color": "#8e8e93",
        "link_color": "#007aff",
        "button_color": "#007aff",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#efeff4",
        "header_bg_color": "#f8f8f8",
        "accent_text_color": "#007aff",
        "section_bg_color": "#ffffff",
        "section_header_text_color": "#6d6d72",
        "subtitle_text_color": "#8e8e93",
        "destructive_text_color": "#ff3b30",
    },
    "dark": {
        "bg_color": "#000000",
        "text_color": "#ffffff",
        "hint_color": "#98989e",
        "link_color": "#3e88f7",
        "button_color": "#3e88f7",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#1c1c1d",
        "header_bg_color": "#1a1a1a",
        "accent_text_color": "#3e88f7",
        "section_bg_color": "#2c2c2e",
        "section_header_text_color": "#8d8e93",
        "subtitle_text_color": "#98989e",
        "destructive_text_color": "#eb5545",
    },
}

STAND_IN = """
(() => {
  const config = %s;
  const calls = [];
  const handlers = {};
  const mainButton = {
    text: "", isVisible: false, isActive: true, isProgressVisible: false, callbacks: [],
    setText(text) { this.text = text; return this; },
    onClick(callback) { this.callbacks.push(callback); return this; },
    offClick(callback) {
      this.callbacks = this.callbacks.filter((c) => c !== callback); return this;
    },
    show() { this.isVisible = true; return this; },
    hide() { this.isVisible = false; return this; },
    enable() { this.isActive = true; return this; },
    disable() { this.isActive = false; return this; },
    showProgress() { this.isProgressVisible = true; return this; },
    hideProgress() { this.isProgressVisible = false; return this; },
  };
  const webApp = {
    initData: config.initData, version: "8.0", platform: "ios",
    colorScheme: config.scheme, themeParams: config.themeParams,
    scanner: null,
    ready() { calls.push("ready"); },
    expand() { calls.push("expand"); },
    setHeaderColor(color) { calls.push("setHeaderColor:" + color); },
    setBackgroundColor(color) { calls.push("setBackgroundColor:" + color); },
    onEvent(name, callback) { (handlers[name] ||= []).push(callback); },
    offEvent() {},
    showScanQrPopup(params, callback) { calls.push("showScanQrPopup"); this.scanner = callback; },
    closeScanQrPopup() { calls.push("closeScanQrPopup"); this.scanner = null; },
    MainButton: mainButton,
    HapticFeedback: { notificationOccurred(kind) { calls.push("haptic:" + kind); } },
  };
  window.Telegram = { WebApp: webApp };
  window.telegramStandIn = {
    calls,
    scan(text) {
      if (!webApp.scanner) throw new Error("the scanner is not open");
      if (webApp.scanner(text) === true) webApp.closeScanQrPopup();
    },
    pressMainButton() {
      if (!mainButton.isVisible || !mainButton.isActive) throw new Error("no main button to press");
      mainButton.callbacks.forEach((callback) => callback());
    },
    switchTheme(scheme, themeParams) {
      webApp.colorScheme = scheme;
      webApp.themeParams = themeParams;
      (handlers.themeChanged || []).forEach((callback) => callback());
    },
  };
})();
"""


def stand_in(init_data: str, scheme: str = "light") -> str:
    config = {"initData": init_data, "scheme": scheme, "themeParams": THEMES[scheme]}
    return STAND_IN % json.dumps(config)


def made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.asynccontextmanager
async def mini_app(
    url: str, init_data: str | None, folder: Path, scheme: str = "light"
) -> AsyncIterator[DevTools]:
    """The Mini App at `url` on a phone, opened by Telegram with `init_data`, until it is ready.

    `init_data` None: no Telegram, a plain browser opens `url` (as from `dvorik try`).
    """
    async with open_page(made(folder)) as page:
        await emulate_phone(page, dark=scheme == "dark")
        await block_urls(page, "*telegram.org*")
        if init_data is not None:
            await before_each_document(page, stand_in(init_data, scheme))
        await navigate(page, url)
        await page.wait_for("!!document.querySelector('#app:not([aria-busy])')", "the page")
        yield page


async def switch_theme(page: DevTools, scheme: str) -> None:
    """The person switches Telegram to `scheme`: the client sends themeChanged."""
    await page.evaluate(
        f"telegramStandIn.switchTheme({json.dumps(scheme)}, {json.dumps(THEMES[scheme])})"
    )
    await emulate_phone(page, dark=scheme == "dark")


async def fits_a_small_phone(page: DevTools, scheme: str) -> bool:
    """Nothing wider than a 360x640 phone's screen; then the usual size."""
    await emulate_phone(page, width=360, height=640, dark=scheme == "dark")
    # Not innerWidth: a phone's browser widens its layout viewport to content too wide for it.
    fits = await page.evaluate("document.documentElement.scrollWidth <= 360")
    await emulate_phone(page, dark=scheme == "dark")
    return bool(fits)


async def keep_screenshot(page: DevTools, name: str) -> list[Path]:
    """The phone's screen as the person sees it (`name`.png), kept in test-artifacts/mini-apps/;
    and all of the page (`name`-whole.png) when it is longer than the screen."""
    folder = made(ARTEFACTS)
    await page.evaluate("window.scrollTo(0, 0)")  # the screen as the app opens
    (folder / f"{name}.png").write_bytes(await screenshot(page))
    kept = [folder / f"{name}.png"]
    if await page.evaluate("document.documentElement.scrollHeight > window.innerHeight"):
        (folder / f"{name}-whole.png").write_bytes(await screenshot(page, whole_page=True))
        kept.append(folder / f"{name}-whole.png")
    return kept


# --- what a person does and sees -----------------------------------------------------------


def q(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)})"


async def type_into(page: DevTools, selector: str, value: str) -> None:
    """Types `value` into the field (the page hears an input event, as from a keyboard)."""
    await page.evaluate(
        f"(() => {{ const field = {q(selector)}; field.focus(); field.value = {json.dumps(value)};"
        " field.dispatchEvent(new Event('input', { bubbles: true })); })()"
    )


async def tap(page: DevTools, selector: str) -> None:
    await page.evaluate(f"{q(selector)}.click()")


async def text_of(page: DevTools, selector: str) -> str:
    return str(await page.evaluate(f"{q(selector)}?.innerText ?? ''"))


async def texts_of(page: DevTools, selector: str) -> list[str]:
    found: list[str] = await page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.innerText)"
    )
    return found


async def shown(page: DevTools, selector: str, what: str) -> str:
    """Waits until `selector` is on screen; its text."""
    await page.wait_for(f"!!{q(selector)} && !{q(selector)}.hidden", what)
    return await text_of(page, selector)


async def stand_in_calls(page: DevTools) -> list[Any]:
    calls: list[Any] = await page.evaluate("telegramStandIn.calls")
    return calls
