"""The bots' hot paths through the webhook: redemption at the till, a race, /start intake.

Updates are posted as Telegram posts them: `POST /telegram/<bot>` on the API
process with the secret header; the bot's replies go to the fake Bot API.
A callback query must be known to the fake before the bot can answer it, so
each one is first handed to the fake (`POST /fake/updates`; the fake has no
webhook set, so it only queues it) and then posted to the API, untimed and
timed respectively.

* Redemption: `--cashiers` cashiers at once, each serving customers one after
  another: type the code (a message update: look-up), then press "confirm"
  (a callback query: the redemption, which is what is timed). *Paced*: a
  cashier waits `--till-pause` seconds (jittered ±50%) between customers, as at
  a till; this is the figure with the target. *Burst*: no pause at all, every
  cashier confirming back to back (reported only; it measures queueing at
  the API's saturation, not a till).
* Race: `RACE_CODES` codes, each confirmed by `RACE_CASHIERS` cashiers at
  the same moment; the audit log must show exactly one redemption per code.
* Intake: `/start` from returning customers, `INTAKE_CONCURRENCY` in flight;
  updates per second one API process handles.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.bots.cashier import Redeem
from backend.domain.models import AuditEntry, Customer, CustomerStatus, Discount, DiscountStatus
from bench.broadcast import CASHIER_TOKEN
from bench.measure import (
    Aborted,
    Figure,
    Timings,
    above,
    at_most,
    cpu_seconds,
    judged,
    latency,
    say,
)
from bench.world import WEBHOOK_SECRET, Sessions

RACE_CODES = 20
RACE_CASHIERS = 10
INTAKE_CONCURRENCY = 32
# Issue 19's targets: the intake rate and its tail, and a till's look-up while others redeem.
INTAKE_RATE = 300.0  # updates per second
INTAKE_P99_MS = 250.0
LOOKUP_P99_MS = 300.0
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
# Update ids must be new to the database even when a schema is reused.
_update_ids = itertools.count(time.time_ns() // 1000)


@dataclass(frozen=True)
class BotBudget:
    cashiers: int
    paced_per_cashier: int
    burst_per_cashier: int
    till_pause: float
    intake_updates: int


def _user(telegram_id: int) -> dict[str, Any]:
    return {"id": telegram_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"}


def _chat(telegram_id: int) -> dict[str, Any]:
    return {"id": telegram_id, "type": "private", "first_name": "Bench"}


def message_update(telegram_id: int, text: str) -> dict[str, Any]:
    update_id = next(_update_ids)
    message: dict[str, Any] = {
        "message_id": update_id % 1_000_000_000,
        "date": int(time.time()),
        "chat": _chat(telegram_id),
        "from": _user(telegram_id),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def confirm_update(telegram_id: int, discount_id: int) -> dict[str, Any]:
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"bench-{update_id}",
            "from": _user(telegram_id),
            "chat_instance": str(telegram_id),
            "data": Redeem(discount_id=discount_id, amount_cents=125000).pack(),
            "message": {
                "message_id": update_id % 1_000_000_000,
                "date": int(time.time()),
                "chat": _chat(telegram_id),
                "from": {"id": 700000002, "is_bot": True, "first_name": "Касса"},
                "text": "Подтвердить погашение?",
            },
        },
    }


class Webhook:
    """Posts updates to the API's webhook; callback queries are announced to the fake first."""

    def __init__(self, api: httpx.AsyncClient, fake: httpx.AsyncClient) -> None:
        self.api = api
        self.fake = fake

    async def announce(self, update: dict[str, Any]) -> None:
        answer = await self.fake.post(
            "/fake/updates", json={"token": CASHIER_TOKEN, "update": update}
        )
        answer.raise_for_status()

    async def alive(self) -> bool:
        """Whether the API answers its health check (after a failed request: crash or not)."""
        try:
            return (await self.api.get("/health", timeout=5)).status_code < 500
        except httpx.TransportError:
            return False

    async def post(self, bot: str, update: dict[str, Any]) -> float:
        started = time.perf_counter()
        try:
            response = await self.api.post(f"/telegram/{bot}", json=update, headers=SECRET_HEADER)
        except httpx.TransportError as error:  # one line for the report, not a traceback
            raise Aborted(
                f"webhook /telegram/{bot}: {type(error).__name__} after "
                f"{time.perf_counter() - started:.2f} s ({error or 'no detail'}); "
                f"the API {'is down' if not await self.alive() else 'still answers'}"
            ) from error
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed


async def active_codes(sessions: Sessions, count: int) -> list[tuple[int, str]]:
    """`count` distinct discounts a till can redeem now, spread over the table."""
    async with sessions() as session:
        rows = await session.execute(
            select(Discount.id, Discount.code)
            .where(
                Discount.status == DiscountStatus.ACTIVE,
                Discount.expires_at > datetime.now(UTC),
            )
            .order_by(Discount.id.desc())
            .limit(count)
        )
        found = [(int(discount_id), str(code)) for discount_id, code in rows]
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} active discounts, {count} needed")
    return found


async def _redemptions(
    hook: Webhook,
    cashiers: list[int],
    codes: list[tuple[int, str]],
    per_cashier: int,
    pause: float,
) -> tuple[Timings, Timings]:
    """(look-up timings, confirm timings) of every cashier serving `per_cashier` customers."""
    queues = [codes[n * per_cashier : (n + 1) * per_cashier] for n in range(len(cashiers))]
    confirms = [[confirm_update(cashier, discount_id) for discount_id, _ in queue]
                for cashier, queue in zip(cashiers, queues, strict=True)]  # fmt: skip
    for update in itertools.chain.from_iterable(confirms):
        await hook.announce(update)
    lookups: list[float] = []
    redemptions: list[float] = []
    jitter = random.Random(7)

    async def till(
        cashier: int, queue: list[tuple[int, str]], updates: list[dict[str, Any]]
    ) -> None:
        await asyncio.sleep(jitter.uniform(0, pause))  # tills do not start in step
        for (_, code), confirm in zip(queue, updates, strict=True):
            lookups.append(await hook.post("cashier", message_update(cashier, code)))
            redemptions.append(await hook.post("cashier", confirm))
            if pause:
                await asyncio.sleep(jitter.uniform(pause * 0.5, pause * 1.5))

    await asyncio.gather(
        *(till(c, q, u) for c, q, u in zip(cashiers, queues, confirms, strict=True))
    )
    return Timings(tuple(lookups)), Timings(tuple(redemptions))


async def _redeemed(sessions: Sessions, discount_ids: list[int]) -> tuple[int, int]:
    """(discounts redeemed, successful redemptions recorded in the audit log)."""
    async with sessions() as session:
        redeemed = await session.scalar(
            select(func.count())
            .select_from(Discount)
            .where(Discount.id.in_(discount_ids), Discount.status == DiscountStatus.REDEEMED)
        )
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "discount.redeem",
                AuditEntry.entity_type == "discount",
                AuditEntry.entity_id.in_([str(discount_id) for discount_id in discount_ids]),
            )
        )
    return int(redeemed or 0), int(audited or 0)


async def _race(hook: Webhook, sessions: Sessions, cashiers: list[int]) -> tuple[int, int, int]:
    """(codes raced, codes redeemed, double redemptions)."""
    codes = await active_codes(sessions, RACE_CODES)
    rivals = cashiers[:RACE_CASHIERS]
    for discount_id, _ in codes:
        updates = [confirm_update(cashier, discount_id) for cashier in rivals]
        for update in updates:
            await hook.announce(update)
        await asyncio.gather(*(hook.post("cashier", update) for update in updates))
    ids = [discount_id for discount_id, _ in codes]
    redeemed, audited = await _redeemed(sessions, ids)
    return len(ids), redeemed, audited - redeemed


async def _intake(hook: Webhook, sessions: Sessions, count: int) -> tuple[float, Timings]:
    """(/start updates per second, their latencies) from returning customers."""
    async with sessions() as session:
        telegram_ids = list(
            await session.scalars(
                select(Customer.telegram_id)
                .where(Customer.status == CustomerStatus.ACTIVE)
                .order_by(Customer.id)
                .limit(count)
            )
        )
    updates = [message_update(telegram_id, "/start") for telegram_id in telegram_ids]
    pending = iter(updates)
    latencies: list[float] = []

    async def sender() -> None:
        for update in pending:
            latencies.append(await hook.post("customer", update))

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(INTAKE_CONCURRENCY)))
    elapsed = time.perf_counter() - started
    return len(updates) / elapsed, Timings(tuple(latencies))


async def run(
    api: httpx.AsyncClient,
    fake: httpx.AsyncClient,
    sessions: Sessions,
    cashiers: list[int],
    budget: BotBudget,
    api_pid: int | None = None,
) -> list[Figure]:
    """`api_pid`: the API process, whose CPU time per intake update is reported."""
    hook = Webhook(api, fake)
    n = len(cashiers)
    say(f"bots: {n} cashiers redeeming, paced then burst…")
    paced_codes = await active_codes(sessions, n * budget.paced_per_cashier)
    _, paced = await _redemptions(
        hook, cashiers, paced_codes, budget.paced_per_cashier, budget.till_pause
    )
    paced_done, _ = await _redeemed(sessions, [discount_id for discount_id, _ in paced_codes])
    burst_codes = await active_codes(sessions, n * budget.burst_per_cashier)
    lookups, burst = await _redemptions(hook, cashiers, burst_codes, budget.burst_per_cashier, 0.0)
    burst_done, _ = await _redeemed(sessions, [discount_id for discount_id, _ in burst_codes])
    say("bots: race round, webhook intake…")
    raced, race_redeemed, doubles = await _race(hook, sessions, cashiers)
    cpu_before = cpu_seconds(api_pid) if api_pid is not None else 0.0
    rate, intake = await _intake(hook, sessions, budget.intake_updates)
    cpu_ms = (
        (cpu_seconds(api_pid) - cpu_before) / max(1, len(intake.samples)) * 1000
        if api_pid is not None
        else float("nan")
    )
    return [
        at_most(
            f"redemption, {n} cashiers, paced ~{budget.till_pause:g} s ({len(paced.samples)})",
            paced,
            None,
            50,
        ),
        Figure(
            "paced redemptions that took effect",
            f"{paced_done} of {len(paced_codes)}",
            "all",
            paced_done == len(paced_codes),
            (paced_done,),
        ),
        latency(f"redemption, {n} cashiers, burst ({len(burst.samples)})", burst),
        at_most("code look-up during the burst", lookups, None, LOOKUP_P99_MS),
        Figure(
            "burst redemptions that took effect",
            f"{burst_done} of {len(burst_codes)}",
            "all",
            burst_done == len(burst_codes),
            (burst_done,),
        ),
        Figure(
            f"race: {raced} codes x {RACE_CASHIERS} cashiers, codes redeemed",
            str(race_redeemed),
            f"= {raced}",
            race_redeemed == raced,
            (race_redeemed,),
        ),
        Figure("race: double redemptions", str(doubles), "= 0", doubles == 0, (doubles,)),
        judged(
            f"webhook intake, /start of returning customers ({INTAKE_CONCURRENCY} in flight)",
            f"{rate:.0f} updates/s",
            f">= {INTAKE_RATE:g}/s",
            (rate,),
            above(rate, INTAKE_RATE),
        ),
        at_most("webhook intake latency", intake, None, INTAKE_P99_MS),
        Figure("API CPU per intake update", f"{cpu_ms:.1f} ms", numbers=(cpu_ms,)),
    ]
