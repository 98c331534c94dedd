"""Signing admins in and out: password throttling nobody can turn on the owner; revoked tokens.

The rule (docs/reliability.md tells the same)
---------------------------------------------
Every password sign-in is kept for `WINDOW` (15 minutes) with the email it
named and its *place*: the client IP and that IP's range, /24 for IPv4 and
/64 for IPv6. A failure is a password check that did not match, for a known
email or an unknown one. Failures count only against the place they came
from:

* A place, whatever emails it names: 20 failures per IP and 50 per range in
  the window; past that, THROTTLED until the oldest failure leaves the
  window. A spray over 300 emails from one host gets 20 password checks.
* One account from one range: 5 failures are answered at once (a typing
  streak), then each further check waits for a delay after that range's last
  failure on the account: 1 minute, then 2, 4, 8, at most 15 minutes. This
  is backoff, not a lockout: the range gets its next try when the delay is
  over, and failures older than the window stop counting (about 6 checks
  per 15 minutes in the long run).

Nothing counts an account's failures over all places: whoever could fill
that count could keep the owner out. So the owner signs in with the right
password at once from any other range while their email is under attack,
and only the attacker's own range is slowed (and anyone who shares it: an
owner in the attacker's /24 waits like the attacker). The price is that a
guesser with many ranges gets each range's share; bcrypt, 10-character
passwords and the place limits are the defence there.

A refused attempt checks no password (costs no bcrypt), counts for nothing
and leaves no row. Unknown emails are counted and checked exactly like known
ones (`admins.authenticate` checks a dummy hash), so neither the answer nor
its time tells which emails have accounts.

Race-proof: no burst gets more checks than the rule allows
----------------------------------------------------------
1. The attempt is written as PENDING and committed.
2. It is ranked: counted with the PENDING and FAILED attempts of its place
   before it (lower ids). When rows commit in id order, as they do in a
   burst, this lets exactly the allowed number through, no fewer.
3. One let through is marked FAILED and committed *before* its password is
   checked, then counted again with every FAILED row of its place, whatever
   its id. Of two attempts, the one marked second sees the other, so rows
   that commit out of id order (MariaDB hands ids out at insert, not at
   commit) cannot both pass where only one may. A success flips its row to
   SUCCEEDED and frees the place it held.

Housekeeping runs inside sign-in: each one first drops up to 100 attempts
older than the window and 100 revocations past their expiry. A sign-in adds
at most one row, so the table holds the last window's checked attempts
(bounded per place by the limits) and never grows without bound.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain import admins
from backend.domain.batched_deletes import delete_batch
from backend.domain.errors import Throttled
from backend.domain.models import Admin, LoginAttempt, RevokedToken
from backend.domain.models.staff import LoginOutcome

WINDOW = timedelta(minutes=15)
IP_FAILURES = 20
RANGE_FAILURES = 50
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_FIRST_DELAY = timedelta(minutes=1)
ACCOUNT_MAX_DELAY = timedelta(minutes=15)
IPV4_RANGE = 24
IPV6_RANGE = 64
SWEEP_BATCH = 100
UNKNOWN_PLACE = "unknown"


@dataclass(frozen=True)
class Place:
    """Where an attempt came from: the client IP and its range."""

    ip: str
    net: str


def place_of(client_ip: str) -> Place:
    """The place of a client address; anything that is not an IP is one place of its own.

    An IPv4 address mapped into IPv6 is the IPv4 address, and an IPv6 zone is
    dropped, so one host cannot count as several by spelling.
    """
    try:
        address = ipaddress.ip_address(client_ip.split("%", 1)[0])
    except ValueError:
        label = client_ip.strip()[:64] or UNKNOWN_PLACE
        return Place(label, label)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_RANGE if address.version == 4 else IPV6_RANGE
    return Place(str(address), str(ipaddress.ip_network((address, prefix), strict=False)))


@dataclass(frozen=True)
class Tally:
    """The failures of one place in the window, as one attempt sees them."""

    ip_failures: int
    ip_oldest: datetime | None
    range_failures: int
    range_oldest: datetime | None
    account_failures: int  # this email from this range
    account_latest: datetime | None


@dataclass(frozen=True)
class Refusal:
    wait: timedelta
    reason: str

    def error(self) -> Throttled:
        seconds = max(1, math.ceil(self.wait.total_seconds()))
        return Throttled(
            f"too many failed sign-ins {self.reason}; try again in {seconds} seconds",
            retry_after_seconds=seconds,
        )


def account_delay(failures: int) -> timedelta:
    """How long a range waits after its last failure on an account with `failures` of them."""
    if failures < ACCOUNT_FREE_FAILURES:
        return timedelta(0)
    doublings: int = min(failures - ACCOUNT_FREE_FAILURES, 16)  # past the cap anyway
    return min(ACCOUNT_FIRST_DELAY * (1 << doublings), ACCOUNT_MAX_DELAY)


def refusal(tally: Tally, now: datetime) -> Refusal | None:
    """Why this attempt may not check a password now, with the longest wait; None to go on."""
    refusals = []
    if tally.ip_failures >= IP_FAILURES:
        oldest = tally.ip_oldest or now
        refusals.append(Refusal(oldest + WINDOW - now, "from this address"))
    if tally.range_failures >= RANGE_FAILURES:
        oldest = tally.range_oldest or now
        refusals.append(Refusal(oldest + WINDOW - now, "from this network"))
    if tally.account_failures >= ACCOUNT_FREE_FAILURES:
        free_at = (tally.account_latest or now) + account_delay(tally.account_failures)
        if free_at > now:
            refusals.append(Refusal(free_at - now, "for this email from this network"))
    return max(refusals, key=lambda r: r.wait, default=None)


async def sign_in(
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    password: str,
    *,
    client_ip: str,
    now: datetime,
    read_sessions: async_sessionmaker[AsyncSession] | None = None,
) -> Admin:
    """The admin for these credentials, unless their place has failed too often (Throttled).

    `client_ip` is the address the request came from (the transport takes it
    from a trusted proxy's header or the connection). The password is checked
    in a session from `read_sessions` (default: `sessions`).
    """
    key = email.strip().lower()[:255]
    place = place_of(client_ip)
    async with sessions() as session, session.begin():
        await forget_expired(session, now=now)
        attempt = LoginAttempt(
            email=key, ip=place.ip, net=place.net, at=now, outcome=LoginOutcome.PENDING
        )
        session.add(attempt)
    async with sessions() as session, session.begin():
        ranked = await _tally(
            session,
            key,
            place,
            now,
            LoginAttempt.outcome.in_([LoginOutcome.PENDING, LoginOutcome.FAILED]),
            LoginAttempt.id < attempt.id,
        )
        refused = refusal(ranked, now)
        await _settle(session, attempt.id, None if refused else LoginOutcome.FAILED)
    if refused:
        raise refused.error()
    async with sessions() as session, session.begin():
        marked = await _tally(
            session,
            key,
            place,
            now,
            LoginAttempt.outcome == LoginOutcome.FAILED,
            LoginAttempt.id != attempt.id,
        )
        refused = refusal(marked, now)
        if refused:
            await _settle(session, attempt.id, None)
    if refused:
        raise refused.error()
    # No transaction stays open over bcrypt: on SQLite it would hold the one
    # write lock, and every other write of the process, for a quarter second.
    async with (read_sessions or sessions)() as session:
        admin = await admins.authenticate(session, email, password)
    async with sessions() as session, session.begin():
        await _settle(session, attempt.id, LoginOutcome.SUCCEEDED)
    return admin


async def _tally(
    session: AsyncSession,
    key: str,
    place: Place,
    now: datetime,
    *conditions: ColumnElement[bool],
) -> Tally:
    """One statement over the place's range: every count is a subset of its rows."""
    row = LoginAttempt
    on_ip = row.ip == place.ip
    on_account = row.email == key
    counts = (
        await session.execute(
            select(
                func.count(case((on_ip, row.id))),
                func.min(case((on_ip, row.at))),
                func.count(row.id),
                func.min(row.at),
                func.count(case((on_account, row.id))),
                func.max(case((on_account, row.at))),
            ).where(row.net == place.net, row.at > now - WINDOW, *conditions)
        )
    ).one()
    return Tally(
        ip_failures=int(counts[0]),
        ip_oldest=counts[1],
        range_failures=int(counts[2]),
        range_oldest=counts[3],
        account_failures=int(counts[4]),
        account_latest=counts[5],
    )


async def _settle(session: AsyncSession, attempt_id: int, outcome: LoginOutcome | None) -> None:
    """Give the attempt its outcome; a refused one (None) leaves no row."""
    if outcome is None:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
    else:
        await session.execute(
            update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(outcome=outcome)
        )


async def revoke(session: AsyncSession, jti: str, *, expires_at: datetime) -> None:
    """Refuse this token from now on (idempotent)."""
    try:
        async with session.begin_nested():
            session.add(RevokedToken(jti=jti, expires_at=expires_at))
    except IntegrityError:
        return


async def active_admin(session: AsyncSession, admin_id: int, jti: str) -> Admin | None:
    """The token's admin if it is active and the token is not revoked: one statement."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == jti).exists()
    result = await session.scalars(
        select(Admin).where(Admin.id == admin_id, Admin.is_active.is_(True), ~revoked)
    )
    return result.first()


async def forget_expired(session: AsyncSession, *, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Housekeeping, run by every sign-in: drop up to `limit` stale attempts and revocations.

    Picked by a plain read and deleted by key (`batched_deletes`), so sign-ins
    sweeping at once take no range locks that could hold up an insert.
    """
    attempts = await delete_batch(
        session,
        LoginAttempt.id,
        LoginAttempt.at <= now - WINDOW,
        order_by=LoginAttempt.at,
        limit=limit,
    )
    tokens = await delete_batch(
        session, RevokedToken.jti, RevokedToken.expires_at <= now, limit=limit
    )
    return attempts + tokens
