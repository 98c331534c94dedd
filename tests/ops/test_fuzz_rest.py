"""Schemathesis fuzzes the REST side (the FastAPI OpenAPI), and the Telegram webhook's body.

REST is small (/health, /ready, /internal/*, /telegram/{bot}), so every
operation gets generated path parameters and headers, valid and invalid
(`DVORIK_FUZZ_EXAMPLES` / 10 each), sent over real HTTP to a server whose bots
talk to the fake Telegram. Every answer must pass schemathesis's checks: not a
5xx, a status the OpenAPI documents, the documented content type and body
schema, invalid input refused. And whatever was generated: the internal
endpoints never reach Telegram without the key, and a webhook without the
secret processes nothing.

The webhook's body is not in the OpenAPI (it is Telegram's `Update`), so a
second test posts generated bodies with the right secret: any JSON, and
update-shaped JSON with junk in each field. Telegram re-sends an update until
it gets a 2xx, so each must answer 200, never 500.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation, BaseSchema
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.database import create_sessionmaker
from backend.domain.models import Customer
from backend.fake_telegram import FakeTelegram
from tests.databases import fresh_database, run_alembic
from tests.fuzzing import draw, operations_of
from tests.telegram_world import SECRET, served_with_bots

pytestmark = pytest.mark.slow

EXAMPLES = max(1, int(os.environ.get("DVORIK_FUZZ_EXAMPLES", "1000")) // 10)
API_KEY = "internal-" + "z" * 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class RestTarget:
    url: str
    schema: BaseSchema
    telegram: FakeTelegram
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def rest(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RestTarget]:
    """Dvorik with both bots (on the fake Telegram) on its own SQLite, and its OpenAPI."""
    tmp_dir: Path = tmp_path_factory.mktemp("fuzz-rest")
    engine = await fresh_database("sqlite", tmp_dir, "fuzz")
    await run_alembic(engine, "upgrade", "head")
    async with (
        served_with_bots(
            engine, webhook_base_url="https://dvorik.example.ru", internal_api_key=API_KEY
        ) as world,
        httpx.AsyncClient() as http,
    ):
        openapi = (await http.get(f"{world.dvorik.url}/api/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(openapi)
        yield RestTarget(world.dvorik.url, schema, world.fake, engine)
    await engine.dispose()


def draw_cases(
    operation: APIOperation[Any, Any, Any, Any], count: int, seed_value: int
) -> list[Case[Any]]:
    """Valid and invalid cases of one operation, the same ones every run."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if "{bot_name}" in operation.path:  # our bots too, not only names nobody has
        strategies += [
            operation.as_strategy(path_parameters={"bot_name": name})
            for name in ("customer", "cashier")
        ]
    return draw(st.one_of(strategies), count, seed_value)


async def send(http: httpx.AsyncClient, case: Case[Any]) -> httpx.Response:
    """The case as schemathesis would send it (its own transport is blocking)."""
    kwargs = case.as_transport_kwargs(base_url=str(http.base_url).rstrip("/"))
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    return await http.request(
        kwargs["method"],
        kwargs["url"],
        headers={name: str(value) for name, value in (kwargs.get("headers") or {}).items()},
        params=kwargs.get("params"),
        **body,
    )


async def test_generated_requests_get_documented_answers(rest: RestTarget) -> None:
    operations = operations_of(rest.schema)
    with_parameters = [
        operation.label for operation in operations if list(operation.iter_parameters())
    ]
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    behind_the_key: set[int] = set()
    failures: list[str] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=rest.url, timeout=30) as http:
        for number, operation in enumerate(operations):
            for case in draw_cases(operation, EXAMPLES, 8000 + number):
                response = await send(http, case)
                sent[operation.label] += 1
                statuses[response.status_code] += 1
                if operation.path.startswith(("/internal/", "/metrics")):
                    behind_the_key.add(response.status_code)
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as failure:
                    failures.append(f"{operation.label}: {failure}")
    elapsed = time.monotonic() - started
    print(f"\nREST: {sent.total()} requests in {elapsed:.1f}s; statuses {dict(statuses)}")
    if failures:
        shown = "\n".join(failures[:10])
        pytest.fail(f"{len(failures)} bad answers, the first ones:\n{shown}", pytrace=False)
    assert set(sent) == {operation.label for operation in operations}
    assert {"GET /health", "GET /ready", "POST /telegram/{bot_name}"} <= set(sent)
    assert {"POST /internal/set-webhooks", "GET /internal/webhook-info"} <= set(sent)
    # Operations without parameters have one request to send; the others get their share.
    assert all(sent[label] >= EXAMPLES // 2 for label in with_parameters)
    # Nothing generated held the key or the secret: Telegram heard nothing, nobody subscribed.
    assert behind_the_key == {401}
    assert rest.telegram.method_counts["setWebhook"] == 0
    assert rest.telegram.method_counts["getWebhookInfo"] == 0
    async with create_sessionmaker(rest.engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


# --- The webhook's body --------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    st.text(max_size=30),
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
# Telegram's ids are small; the edges of the BIGINT column (and past them) are what hurts.
EDGE_INTS = [0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
user_ids = st.one_of(st.sampled_from(EDGE_INTS), st.integers(min_value=1, max_value=2**40), scalars)
users = st.fixed_dictionaries(
    {"id": user_ids, "is_bot": st.booleans() | scalars, "first_name": st.text(max_size=20)}
)
texts = st.one_of(
    st.sampled_from(["/start", "/start " + "x" * 64, "/birthday", "/admin", "/today", "/stop"]),
    st.text(max_size=60),
    st.from_regex(r"\A[A-Z2-9]{8}( [0-9]{1,9}([.,][0-9]{1,3})?)?\Z"),
)
messages = st.fixed_dictionaries(
    {
        "message_id": st.integers(min_value=1, max_value=2**31) | scalars,
        "date": st.integers(min_value=0, max_value=2**33) | scalars,
        "chat": st.fixed_dictionaries({"id": user_ids, "type": st.just("private") | scalars}),
    },
    optional={"from": users, "text": texts | scalars, "contact": any_json},
)
update_ids = st.one_of(st.sampled_from(EDGE_INTS), st.integers(min_value=1), scalars)
updates = st.one_of(
    any_json,
    st.fixed_dictionaries({"update_id": update_ids}, optional={"message": messages}),
    st.fixed_dictionaries(
        {"update_id": update_ids},
        optional={
            "callback_query": st.fixed_dictionaries(
                {"id": st.text(max_size=10), "from": users, "chat_instance": st.text(max_size=5)},
                optional={"data": st.text(max_size=64), "message": messages},
            ),
            "my_chat_member": any_json,
        },
    ),
)


@pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")
async def test_any_webhook_body_with_the_right_secret_gets_200(rest: RestTarget) -> None:
    bodies = draw(st.tuples(st.sampled_from(["customer", "cashier"]), updates), EXAMPLES * 2, 8100)
    failures = []
    async with httpx.AsyncClient(base_url=rest.url, timeout=30) as http:
        for bot, body in bodies:
            response = await http.post(
                f"/telegram/{bot}", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            if response.status_code != 200 or response.json() != {"ok": True}:
                failures.append(f"{bot} {body!r:.200} -> {response.status_code} {response.text}")
    assert not failures, "\n".join(failures[:10])
    assert len(bodies) >= EXAMPLES
