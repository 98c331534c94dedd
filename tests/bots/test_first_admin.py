"""The first admin: on a fresh install, the person SUPERADMIN_TELEGRAM_ID names sends /admin.

Nobody has run the CLI yet; the bot makes their owner account on first use,
once (also when they press /admin several times at once), and answers with a
one-time login link that signs them in to the admin SPA as an owner.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import admins
from backend.domain.models import Admin, AdminRole, AuditEntry
from backend.fake_telegram import FakeUser
from tests.telegram_world import CUSTOMER_TOKEN, Telegram, fresh, telegram_world

__all__ = ["telegram_world"]

SUPERADMIN = FakeUser(id=424242, first_name="Ирина", last_name="Дворик", username="irina")


@pytest.fixture
async def telegram(
    telegram_world: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> Telegram:
    return await fresh(telegram_world)


async def owners_of(sessions: async_sessionmaker[AsyncSession], telegram_id: int) -> list[Admin]:
    async with sessions() as session:
        return list(await session.scalars(select(Admin).where(Admin.telegram_id == telegram_id)))


async def sign_in_with(telegram: Telegram, link: str) -> dict[str, object]:
    token = link.split("token=")[1].split()[0]
    async with httpx.AsyncClient(base_url=telegram.dvorik.url) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": "mutation($t: String!) { loginWithToken(token: $t)"
                " { admin { role email } } }",
                "variables": {"t": token},
            },
        )
    admin: dict[str, object] = response.json()["data"]["loginWithToken"]["admin"]
    return admin


async def test_the_superadmin_gets_an_owner_account_and_a_link_on_a_fresh_install(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await owners_of(sessions, SUPERADMIN.id) == []

    await telegram.fake.send_text(CUSTOMER_TOKEN, SUPERADMIN, "/admin")

    answer = telegram.texts_to(SUPERADMIN, CUSTOMER_TOKEN)[-1]
    assert "/login?token=" in answer
    assert await sign_in_with(telegram, answer) == {
        "role": "OWNER",
        "email": admins.superadmin_email(SUPERADMIN.id),
    }
    [owner] = await owners_of(sessions, SUPERADMIN.id)
    assert owner.role is AdminRole.OWNER and owner.is_active

    # The next /admin is a new link for the same account, not a second account.
    await telegram.fake.send_text(CUSTOMER_TOKEN, SUPERADMIN, "/admin")
    second = telegram.texts_to(SUPERADMIN, CUSTOMER_TOKEN)[-1]
    assert "/login?token=" in second and second != answer
    assert [row.id for row in await owners_of(sessions, SUPERADMIN.id)] == [owner.id]
    async with sessions() as session:
        made = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "admin.create")
        )
    assert made == 1


async def test_parallel_admin_presses_make_one_account_and_a_link_each(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(
        *(telegram.fake.send_text(CUSTOMER_TOKEN, SUPERADMIN, "/admin") for _ in range(6))
    )

    answers = telegram.texts_to(SUPERADMIN, CUSTOMER_TOKEN)
    assert len(answers) == 6
    assert all("/login?token=" in answer for answer in answers)
    assert len(await owners_of(sessions, SUPERADMIN.id)) == 1


async def test_racing_transactions_insert_the_superadmin_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    gate = asyncio.Event()

    async def first_use() -> int:
        async with sessions() as session, session.begin():
            await gate.wait()
            return (await admins.superadmin_owner(session, SUPERADMIN.id)).id

    racing = [asyncio.create_task(first_use()) for _ in range(8)]
    await asyncio.sleep(0)
    gate.set()
    ids = await asyncio.gather(*racing)

    assert len(set(ids)) == 1
    assert len(await owners_of(sessions, SUPERADMIN.id)) == 1


async def test_a_deactivated_superadmin_gets_no_link(
    telegram: Telegram, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        owner = await admins.superadmin_owner(session, SUPERADMIN.id)
        owner.is_active = False

    await telegram.fake.send_text(CUSTOMER_TOKEN, SUPERADMIN, "/admin")

    answer = telegram.texts_to(SUPERADMIN, CUSTOMER_TOKEN)[-1]
    assert "token=" not in answer
    assert len(await owners_of(sessions, SUPERADMIN.id)) == 1
