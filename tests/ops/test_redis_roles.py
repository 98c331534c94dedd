"""Redis roles: the task stream, state and pub/sub each on a Redis of their own.

Four redis-servers of this test's own: one per role (REDIS_QUEUE_URL,
REDIS_STATE_URL, REDIS_CACHE_URL) and a fourth as REDIS_URL, which every role
overrides, so nothing may reach it. A real `dvorik serve` and `dvorik worker`
(MariaDB, the fake Bot API) get traffic that touches every role:

* a marketer's broadcast over GraphQL: its task goes to the stream (queue),
  the worker books the shared send pace (state) and publishes progress that
  a GraphQL subscription watches to the end (cache);
* a customer's `/birthday` over the webhook: the conversation state (state);
* a cashier's code look-up over the webhook: the rate limit's count (state).
  (Sign-ins are limited in the database, not in Redis: the look-up is the
  Redis rate limit there is.)

Then each server holds only its own role's keys and commands, none is
unused, and the fourth saw nothing. `/ready` asks each server and names each
role: with the state's server stopped (not the one pub/sub uses, which the
only probe used to ask) it is 503, the state "unavailable", the others "ok".
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import demo_data
from backend.domain import cashiers
from backend.domain.audit import Actor
from backend.domain.clock import utcnow
from backend.domain.database import create_sessionmaker
from backend.fake_telegram import FakeTelegram, create_app
from backend.fake_telegram.models import FakeUser
from tests.api import environment_for, serve_app, signed_in
from tests.databases import migrated_mariadb
from tests.processes import (
    DVORIK,
    RedisServer,
    free_port,
    redis_server,
    spawn,
    terminate,
    wait_until,
    wait_until_serving,
)
from tests.shop_over_http import SEND_NOW, Api, watch_progress
from tests.telegram_world import (
    CASHIER_TOKEN,
    CUSTOMER_TOKEN,
    bots_environment,
    connect_webhooks,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

RECIPIENTS = 20
ROLES = ("queue", "state", "cache")
CUSTOMER = FakeUser(id=6_910_000_001, first_name="Рита")
CASHIER = FakeUser(id=6_910_000_002, first_name="Вера")
# Keys each role's server may hold (the cache holds none: pub/sub leaves no keys).
OWN_KEYS = {
    "queue": ("dvorik:tasks",),
    "state": ("fsm:", "rate:", "dvorik:send:", "dvorik:broadcast-resume:", "dvorik:schedule:"),
    "cache": (),
}
# Commands only one role's server may see: the stream's, the state's (a conversation's
# SET, the rate limit's sorted set), pub/sub's.
OWN_COMMANDS = {
    "queue": ("xadd", "xreadgroup", "xack"),
    "state": ("set", "zadd"),
    "cache": ("publish", "subscribe"),
}

# What this test's own looks send (redis-py's HELLO, the start-up PING, KEYS, INFO).
LOOKING = {"hello", "ping", "keys", "info", "client"}


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_mariadb(f"dvorik_redis_roles_{os.getpid()}") as engine:
        yield engine


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, RedisServer]]:
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(redis_server(tmp_path / f"redis-{name}.log"))
            for name in (*ROLES, "default")
        }


async def _contents(server: RedisServer) -> tuple[set[str], dict[str, int]]:
    """The server's keys, and how often each command ran (INFO commandstats)."""
    async with Redis.from_url(server.url, decode_responses=True) as redis:
        keys = {str(key) for key in await redis.keys("*")}
        stats: dict[str, Any] = await redis.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
    return keys, calls


async def _birthday_prompt(fake: FakeTelegram) -> str:
    """A customer subscribes and asks to give their birthday: the bot now waits for a date."""
    await fake.send_text(CUSTOMER_TOKEN, CUSTOMER, "/start")
    delivery = await fake.send_text(CUSTOMER_TOKEN, CUSTOMER, "/birthday")
    assert delivery["status"] == 200, delivery
    return fake.messages_to(CUSTOMER.id, token=CUSTOMER_TOKEN)[-1].text or ""


async def _code_look_up(fake: FakeTelegram, invite: str) -> str:
    """A newly hired cashier types a code that does not exist (counted by the rate limit)."""
    await fake.send_text(CASHIER_TOKEN, CASHIER, f"/start {invite}")
    delivery = await fake.send_text(CASHIER_TOKEN, CASHIER, "ZZZZ2222")
    assert delivery["status"] == 200, delivery
    return fake.messages_to(CASHIER.id, token=CASHIER_TOKEN)[-1].text or ""


async def test_each_role_keeps_to_its_own_redis(
    engine: AsyncEngine, servers: dict[str, RedisServer], tmp_path: Path
) -> None:
    sessions = create_sessionmaker(engine)
    await demo_data.add_subscribers(sessions, RECIPIENTS)
    async with sessions() as session, session.begin():
        _, invite = await cashiers.invite(
            session, CASHIER.first_name, "Светланская, 33", actor=Actor.system(), now=utcnow()
        )
    token = await signed_in(sessions)
    fake = FakeTelegram()
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    base_url = f"http://127.0.0.1:{free_port()}"
    role_urls = {f"REDIS_{role.upper()}_URL": servers[role].url for role in ROLES}

    async with serve_app(create_app(fake)) as fake_url:
        env = environment_for(
            engine, REDIS_URL=servers["default"].url, **role_urls, **bots_environment(fake_url)
        )
        api_process = spawn([*DVORIK, "serve", "--port", base_url.rsplit(":", 1)[1]], env, api_log)
        worker = spawn([*DVORIK, "worker"], env, worker_log)
        running = [(api_process, api_log), (worker, worker_log)]
        try:
            await wait_until_serving(f"{base_url}/ready", api_process, api_log)
            await connect_webhooks(fake, base_url)
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                api = Api(http, token)
                ready_before = await api.ready_body()
                prompt = await _birthday_prompt(fake)
                look_up = await _code_look_up(fake, invite)

                broadcast_id = await api.create_broadcast("Роли", "Привет, {first_name}!")
                seen: list[dict[str, Any]] = []
                watcher = asyncio.create_task(watch_progress(base_url, token, broadcast_id, seen))

                async def subscribed() -> bool:  # the watcher's channel is open on the cache
                    async with Redis.from_url(servers["cache"].url) as cache:
                        return bool(await cache.pubsub_channels())

                await wait_until(subscribed, "the progress subscription", seconds=30, watch=running)
                status, sent = await api.graphql(SEND_NOW, id=broadcast_id)
                assert status == 200 and not sent.get("errors"), sent
                async with asyncio.timeout(60):
                    await watcher

                async def acknowledged() -> bool:  # COMPLETED is published before the XACK
                    return bool((await _contents(servers["queue"]))[1].get("xack"))

                await wait_until(acknowledged, "the task acknowledged", seconds=30, watch=running)
                contents = {name: await _contents(server) for name, server in servers.items()}
                servers["state"].stop()
                started = time.monotonic()
                ready_without_state = await api.ready_body()
                asked_for = time.monotonic() - started
        finally:
            terminate(worker)
            terminate(api_process)

    held = {name: sorted(keys) for name, (keys, _) in contents.items()}
    print(
        f"\nredis roles: keys {held}; /ready {ready_before} and without the state server "
        f"({asked_for:.2f} s) {ready_without_state}"
    )
    assert "дату" in prompt, prompt
    assert "не найден" in look_up, look_up
    # The subscribers, and the customer who subscribed over the webhook.
    assert seen[-1]["status"] == "COMPLETED" and seen[-1]["sent"] == RECIPIENTS + 1, seen[-1:]

    for role in ROLES:
        keys, calls = contents[role]
        assert all(key.startswith(OWN_KEYS[role]) for key in keys), (role, keys)
        for other in ROLES:
            used = {command for command in OWN_COMMANDS[other] if calls.get(command)}
            if other == role:  # every one of its own commands ran: the role was used
                assert used == set(OWN_COMMANDS[role]), (role, calls)
            else:
                assert not used, (role, "ran", other, "commands", used)
    queue_keys, state_keys = contents["queue"][0], contents["state"][0]
    assert queue_keys == {"dvorik:tasks"}, queue_keys
    assert any(key.startswith("fsm:") for key in state_keys), state_keys
    assert any(key.startswith("rate:cashier-lookup:") for key in state_keys), state_keys
    # REDIS_URL is overridden by every role: nothing reached it.
    default_keys, default_calls = contents["default"]
    assert default_keys == set(), default_keys
    assert set(default_calls) <= LOOKING, default_calls

    assert ready_before["ready"] and ready_before["redis_roles"] == dict.fromkeys(ROLES, "ok")
    assert not ready_without_state["ready"], ready_without_state
    roles = ready_without_state["redis_roles"]
    assert roles["queue"] == roles["cache"] == "ok", roles
    assert roles["state"].startswith("unavailable"), roles
    assert ready_without_state["redis"].endswith("(state)"), ready_without_state
