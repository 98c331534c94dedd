"""How a person gets to a Mini App: the bots' menu buttons, and `dvorik try` on this machine."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.processes import DVORIK, ROOT, START_UP_SECONDS, environment
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, served_with_bots

KEY = "internal-" + "m" * 40


@pytest.mark.parametrize(
    ("mini_app_base_url", "opens_at"),
    [
        ("https://app.dvorik.example.ru", "https://app.dvorik.example.ru"),
        (None, "https://dvorik.example.ru"),  # unset: where the webhooks are
    ],
)
async def test_registering_the_webhooks_points_each_bots_menu_at_its_mini_app(
    engine: AsyncEngine, mini_app_base_url: str | None, opens_at: str
) -> None:
    async with served_with_bots(
        engine,
        internal_api_key=KEY,
        webhook_base_url="https://dvorik.example.ru",
        mini_app_base_url=mini_app_base_url,
    ) as world:
        async with httpx.AsyncClient(base_url=world.dvorik.url) as http:
            registered = await http.post("/internal/set-webhooks", headers={"X-API-Key": KEY})

        assert registered.status_code == 200, registered.text
        for token, page, label in (
            (CUSTOMER_TOKEN, "/app/card", "Мои скидки"),
            (CASHIER_TOKEN, "/app/till", "Сканер"),
        ):
            button = await world.fake.call(token, "getChatMenuButton", {"chat_id": 12345})
            assert button == {"type": "web_app", "text": label, "web_app": {"url": opens_at + page}}
        assert registered.json()["cashier"]["menu_button"]["url"] == f"{opens_at}/app/till"
        assert world.fake.method_counts["setChatMenuButton"] == 2


async def read_until(process: asyncio.subprocess.Process, wanted: str) -> str:
    """Lines of `process`'s output until one with `wanted` in it (returned)."""
    assert process.stdout is not None
    async with asyncio.timeout(START_UP_SECONDS):
        while line := (await process.stdout.readline()).decode():
            if wanted in line:
                return line
    raise AssertionError(f"the output ended before {wanted!r}")


async def test_dvorik_try_prints_a_mini_app_url_that_opens_as_the_person_chatting(
    tmp_path: Path,
) -> None:
    env = environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'try.db'}")
    process = await asyncio.create_subprocess_exec(
        *DVORIK, "try", "customer", env=env, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None
    try:
        printed = await read_until(process, "Мини-приложение")
        process.stdin.write(b"/start\n")
        await read_until(process, "Здравствуйте, Гость!")
        url = printed.split()[-1]
        page, fragment = url.split("#", 1)
        init_data = parse_qs(fragment)["tgWebAppData"][0]
        assert urlsplit(page).path == "/app/card"
        async with httpx.AsyncClient(timeout=30) as http:
            shell = await http.get(page)
            opened = await http.get(
                page.replace("/app/card", "/app/api/card"),
                headers={"Authorization": f"tma {init_data}"},
            )
        assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
        assert opened.status_code == 200, opened.text
        assert opened.json()["customer"]["firstName"] == "Гость"
        assert len(opened.json()["discounts"]) == 1  # the welcome discount /start gave
        process.stdin.write(b"/quit\n")
        assert await asyncio.wait_for(process.wait(), START_UP_SECONDS) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
