"""Sign-in limits slow a flood from one place and never lock the owner out (issue 12, item 3).

The rule is in `backend/domain/sign_in.py`: failures count only against the
place they came from (the client IP and its /24 or /64): 20 per IP and 50 per
range over any emails, and for one account from one range 5 at once, then
delays of 1, 2, 4, 8 minutes (at most 15). Requests go through the whole app
with the client address an ASGI server would give it; the backoff schedule,
which needs a clock, calls the domain with chosen times.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import sign_in
from backend.domain.clock import utcnow
from backend.domain.errors import InvalidCredentials, Throttled
from backend.domain.models import AdminRole, LoginAttempt, RevokedToken
from backend.domain.models.staff import LoginOutcome
from backend.domain.sign_in import (
    ACCOUNT_FREE_FAILURES,
    IP_FAILURES,
    RANGE_FAILURES,
    WINDOW,
    account_delay,
)
from tests.api import LOGIN, GraphQLClient, GraphQLResponse, RunningServer, login
from tests.factories import make_admin

PASSWORD = "correct horse battery"
OWNER = "owner@dvorik.test"
ME = "{ me { email role } }"


@asynccontextmanager
async def from_address(server: RunningServer, ip: str) -> AsyncIterator[GraphQLClient]:
    """A GraphQL client whose requests reach the app from `ip`, as uvicorn would pass them."""
    transport = httpx.ASGITransport(app=server.app, client=(ip, 40_000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dvorik.test", timeout=120
    ) as http:
        yield GraphQLClient(http)


async def guesses(
    client: GraphQLClient, attempts: Iterable[tuple[str, str]], *, at_once: int = 10
) -> list[GraphQLResponse]:
    """Sign-ins sent `at_once` in parallel, as a guessing script would."""
    pending = list(attempts)
    answers: list[GraphQLResponse] = []
    for start in range(0, len(pending), at_once):
        wave = pending[start : start + at_once]
        answers += await asyncio.gather(
            *(client(LOGIN, email=email, password=password) for email, password in wave)
        )
    return answers


def outcomes(answers: Iterable[GraphQLResponse]) -> Counter[str]:
    return Counter(answer.error_codes[0] if answer.error_codes else "OK" for answer in answers)


def retry_after(answer: GraphQLResponse) -> int:
    (error,) = answer.body["errors"]
    assert error["extensions"]["code"] == "THROTTLED", error
    seconds: int = error["extensions"]["retry_after_seconds"]
    return seconds


async def stored_attempts(sessions: async_sessionmaker[AsyncSession]) -> list[LoginAttempt]:
    async with sessions() as session:
        return list(await session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))


async def an_owner(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await make_admin(session, email=OWNER, role=AdminRole.OWNER, password=PASSWORD)


async def signs_in(client: GraphQLClient, email: str = OWNER) -> bool:
    token = await login(client, email, PASSWORD)
    me = await client.as_(token)(ME)
    return bool(me.data == {"me": {"email": email, "role": "OWNER"}})


# --- One place, many emails -----------------------------------------------------------------


async def test_a_spray_over_300_emails_from_one_address_gets_20_password_checks(
    server: RunningServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await an_owner(sessions)
    emails = [f"clerk{n}@dvorik.test" for n in range(299)] + [OWNER]

    async with from_address(server, "203.0.113.7") as sprayer:
        answers = await guesses(sprayer, ((email, "Marmelad2026") for email in emails))

    codes = outcomes(answers)
    # Each INVALID_CREDENTIALS is one bcrypt check; a THROTTLED answer costs none.
    assert codes["INVALID_CREDENTIALS"] <= IP_FAILURES, codes
    assert codes["THROTTLED"] >= len(emails) - IP_FAILURES, codes
    assert set(codes) == {"INVALID_CREDENTIALS", "THROTTLED"}
    waits = [retry_after(answer) for answer in answers if answer.error_codes == ["THROTTLED"]]
    assert all(0 < wait <= WINDOW.total_seconds() for wait in waits), sorted(set(waits))
    # The owner's email was among those tried; the owner, elsewhere, signs in at once.
    async with from_address(server, "198.51.100.23") as owner:
        assert await signs_in(owner)
    # Refused attempts leave no row: the table holds the checks, not the flood.
    rows = await stored_attempts(sessions)
    assert len(rows) == codes["INVALID_CREDENTIALS"] + 1
    assert {(row.ip, row.net) for row in rows if row.outcome == LoginOutcome.FAILED} == {
        ("203.0.113.7", "203.0.113.0/24")
    }


async def test_hosts_of_one_range_share_its_limit_and_other_ranges_keep_theirs(
    server: RunningServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    checked: dict[str, int] = {}
    for host in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"):
        async with from_address(server, host) as sprayer:
            attempts = [(f"{host}-{n}@dvorik.test", "Marmelad2026") for n in range(IP_FAILURES + 3)]
            codes = outcomes(await guesses(sprayer, attempts))
        assert set(codes) <= {"INVALID_CREDENTIALS", "THROTTLED"}, codes
        checked[host] = codes["INVALID_CREDENTIALS"]

    # Each host is held to 20, and all of them together to the range's 50.
    assert all(count <= IP_FAILURES for count in checked.values()), checked
    assert sum(checked.values()) <= RANGE_FAILURES, checked
    assert checked["203.0.113.4"] == 0, checked
    async with from_address(server, "203.0.113.99") as neighbour:
        answer = await neighbour(LOGIN, email="new@dvorik.test", password="Marmelad2026")
        assert retry_after(answer) > 0
    async with from_address(server, "198.51.100.9") as elsewhere:
        answer = await elsewhere(LOGIN, email="new@dvorik.test", password="Marmelad2026")
        assert answer.error_code == "INVALID_CREDENTIALS"  # checked, not throttled


# --- One account, attacked --------------------------------------------------------------------


async def test_the_owner_signs_in_from_another_address_while_one_address_attacks_their_email(
    server: RunningServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await an_owner(sessions)
    async with from_address(server, "203.0.113.7") as attacker:
        first = outcomes(await guesses(attacker, [(OWNER, f"guess-{n}") for n in range(12)]))
        # The attacker's place is throttled, even with the right password.
        assert first["INVALID_CREDENTIALS"] <= ACCOUNT_FREE_FAILURES, first
        assert first["THROTTLED"] >= 12 - ACCOUNT_FREE_FAILURES, first
        answer = await attacker(LOGIN, email=OWNER, password=PASSWORD)
        assert retry_after(answer) > 0

        async with from_address(server, "198.51.100.23") as owner:
            assert await signs_in(owner)
            # The attack goes on while the owner works; the owner's next sign-in is not slowed.
            more = outcomes(await guesses(attacker, [(OWNER, f"again-{n}") for n in range(12)]))
            assert more == {"THROTTLED": 12}
            assert await signs_in(owner)


@pytest.mark.parametrize(
    ("attackers", "owner_elsewhere", "owner_among_attackers"),
    [
        ("203.0.113.{}", "198.51.100.23", "203.0.113.200"),
        ("2001:db8:1:2::{}", "2001:db8:1:3::5", "2001:db8:1:2::beef"),
    ],
    ids=["ipv4-24", "ipv6-64"],
)
async def test_many_hosts_of_one_range_attacking_an_email_count_as_one_place(
    server: RunningServer,
    sessions: async_sessionmaker[AsyncSession],
    attackers: str,
    owner_elsewhere: str,
    owner_among_attackers: str,
) -> None:
    await an_owner(sessions)
    codes: Counter[str] = Counter()
    for host in range(1, 11):
        async with from_address(server, attackers.format(host)) as attacker:
            codes += outcomes(await guesses(attacker, [(OWNER, f"h{host}-{n}") for n in range(3)]))

    # 30 guesses from ten hosts: the range gets the five an account allows a place.
    assert codes["INVALID_CREDENTIALS"] <= ACCOUNT_FREE_FAILURES, codes
    assert codes["THROTTLED"] >= 30 - ACCOUNT_FREE_FAILURES, codes
    async with from_address(server, owner_elsewhere) as owner:
        assert await signs_in(owner)
    # The price of the rule: an owner inside the attacking range waits like the attackers.
    async with from_address(server, owner_among_attackers) as owner:
        answer = await owner(LOGIN, email=OWNER, password=PASSWORD)
        assert retry_after(answer) > 0


async def test_an_account_attacked_from_one_place_gets_growing_delays_not_a_lockout(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await an_owner(sessions)
    start = utcnow()
    attacker, owner = "203.0.113.7", "198.51.100.23"

    async def attempt(password: str, at: datetime, ip: str = attacker) -> str | int:
        """ "ok", "wrong", or the seconds a THROTTLED answer asks to wait."""
        try:
            await sign_in.sign_in(sessions, OWNER, password, client_ip=ip, now=at)
        except InvalidCredentials:
            return "wrong"
        except Throttled as throttled:
            seconds: int = throttled.details["retry_after_seconds"]
            return seconds
        return "ok"

    assert [await attempt(f"g{n}", start) for n in range(5)] == ["wrong"] * 5
    # Past the fifth, every guess waits for a delay that doubles: 1, 2, 4, then 8
    # minutes. A second early is refused; at the end of the wait a guess is checked.
    clock, waits = start, []
    for _ in range(4):
        wait = await attempt(PASSWORD, clock)
        assert isinstance(wait, int), wait
        waits.append(wait)
        clock += timedelta(seconds=wait)
        assert isinstance(await attempt(PASSWORD, clock - timedelta(seconds=1)), int)
        assert await attempt("still guessing", clock) == "wrong"
    assert waits == [60, 120, 240, 480]
    # Meanwhile the owner signed in from another place at once.
    assert await attempt(PASSWORD, start + timedelta(minutes=5), owner) == "ok"
    # Not a lockout: 15 minutes on, the first five have left the window and the
    # attacking place itself gets its next check at once (the right password passes).
    assert clock == start + WINDOW
    assert await attempt(PASSWORD, clock) == "ok"
    # The delays stop growing at the window's length.
    assert [account_delay(failures).total_seconds() for failures in range(4, 11)] == [
        0,
        60,
        120,
        240,
        480,
        900,
        900,
    ]


# --- Housekeeping -------------------------------------------------------------------------------


async def test_sign_ins_clear_attempts_older_than_the_window_and_expired_revocations(
    server: RunningServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    stale, recent = now - WINDOW - timedelta(minutes=1), now - timedelta(minutes=1)
    async with sessions() as session, session.begin():
        session.add_all(
            LoginAttempt(
                email=f"old{n}@dvorik.test",
                ip="203.0.113.7",
                net="203.0.113.0/24",
                at=stale,
                outcome=LoginOutcome.FAILED,
            )
            for n in range(150)
        )
        session.add(
            LoginAttempt(
                email="recent@dvorik.test",
                ip="203.0.113.7",
                net="203.0.113.0/24",
                at=recent,
                outcome=LoginOutcome.FAILED,
            )
        )
        session.add(RevokedToken(jti="expired-jti", expires_at=now - timedelta(seconds=1)))
        session.add(RevokedToken(jti="live-jti", expires_at=now + timedelta(hours=1)))

    async with from_address(server, "198.51.100.23") as client:
        for _ in range(2):  # each sign-in sweeps up to 100 rows
            answer = await client(LOGIN, email="anyone@dvorik.test", password="Marmelad2026")
            assert answer.error_code == "INVALID_CREDENTIALS"

    rows = await stored_attempts(sessions)
    assert sorted(row.email for row in rows) == ["anyone@dvorik.test"] * 2 + ["recent@dvorik.test"]
    async with sessions() as session:
        assert list(await session.scalars(select(RevokedToken.jti))) == ["live-jti"]
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 3
