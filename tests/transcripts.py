"""Plays a shop owner's transcript end to end: people type, staff act, the bots must answer so.

A transcript (tests/transcripts/*.txt) is plain Russian a shop owner reads:

    Покупатель: Маша                  a person and the bot they talk to
    Кассир: Ольга
    # ...                             narration, not played
    > Маша: /start                    what the person types
    > Ольга нажимает «✅ Погасить»    a button under the bot's last message with it
    > Ольга присылает стикер 🍬       a sticker instead of words
    < Бот: Здравствуйте, Маша! ...    what the bot answers the person who acted last
    < Бот → Маша: ...                 what the bot sends someone else (a notice)
      второй строкой                  an indented line continues the message above
    < Бот: [QR-код {код}] подпись     a photo: the QR of that code, with its caption
    * Маркетолог выдаёт ...           what staff do in the admin panel (GraphQL), see ACTIONS

After every step each person's new messages must be exactly the lines written
for them, in order, and nobody else gets anything. `{name}` in a bot line is
captured the first time (a code, a date, a time) and must read the same later;
in a typed line it is replaced by what was captured. `{сегодня}`,
`{сегодня+N}` and `{день и месяц сегодня}` are dates in the shop's zone. A
bot line ending with «…» only has to start with what is written. A
non-breaking space (money is shown with them) reads as a space.

The expected lines are written by hand, never recorded: a change of wording
fails here until somebody reads it as a customer or cashier would.

The parts: reading a file and its expected lines (tests/transcript_format.py),
what staff do in `*` lines (tests/transcript_staff.py); here the player.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.domain.clock import business_date, utcnow
from backend.domain.models import AdminRole, Customer, Discount
from backend.fake_telegram import FakeUser, SentMessage
from backend.telegram.qr_codes import qr_png
from tests.api import GraphQLClient
from tests.notification_worker import Worker, worker_talking_to
from tests.telegram_world import CASHIER_TOKEN, CUSTOMER_TOKEN, Telegram
from tests.timing import until
from tests.transcript_format import (
    PHOTO,
    PLACEHOLDER,
    ROLES,
    Expected,
    Line,
    Step,
    Transcript,
    TranscriptError,
    expected_pattern,
    parse,
    readable,
    show,
)
from tests.transcript_staff import ACTIONS

SHOWN = ("sendMessage", "sendPhoto", "editMessageText")
_ids = itertools.count(7_700_001)


@asynccontextmanager
async def worker_on(engine: AsyncEngine, telegram: Telegram) -> AsyncIterator[Worker]:
    """A task worker whose customer bot talks to the same fake Bot API as the chats."""
    async with worker_talking_to(
        engine,
        telegram.fake,
        telegram.url,
        customer_token=CUSTOMER_TOKEN,
        cashier_token=CASHIER_TOKEN,
    ) as worker:
        yield worker


class Player:
    def __init__(
        self,
        transcript: Transcript,
        telegram: Telegram,
        sessions: async_sessionmaker[AsyncSession],
        staff: dict[AdminRole, GraphQLClient],
        engine: AsyncEngine,
        exits: AsyncExitStack,
    ) -> None:
        self.transcript = transcript
        self.telegram = telegram
        self.sessions = sessions
        self.staff = staff
        self.engine = engine
        self.exits = exits
        self.worker: Worker | None = None
        self.users = {
            name: FakeUser(id=next(_ids), first_name=name, last_name=None, username=None)
            for name in transcript.people
        }
        self.cashier_ids: dict[str, int] = {}
        self.values: dict[str, str] = {}
        self.seen: dict[str, int] = {}  # messages each person had before the step
        self.zone = telegram.dvorik.runtime.settings.zone
        self.today = business_date(utcnow(), self.zone)

    # --- values -----------------------------------------------------------------

    def known(self, name: str) -> str | None:
        if name in self.values:
            return self.values[name]
        shift = re.fullmatch(r"сегодня\s*([+-]\s*\d+)?", name)
        if shift:
            days = int(shift.group(1).replace(" ", "")) if shift.group(1) else 0
            return f"{self.today + timedelta(days=days):%d.%m.%Y}"
        if name == "день и месяц сегодня":
            return f"{self.today:%d.%m}"
        return None

    def fill(self, text: str, line: Line) -> str:
        def value(match: re.Match[str]) -> str:
            found = self.known(match.group(1))
            if found is None:
                raise self.error(line, f"{{{match.group(1)}}} is not known yet")
            return found

        return PLACEHOLDER.sub(value, text)

    def error(self, line: Line, message: str) -> TranscriptError:
        return TranscriptError(f"{self.transcript.path.name}:{line.number}: {line.text}\n{message}")

    # --- people -------------------------------------------------------------------

    def token_of(self, name: str) -> str:
        return ROLES[self.transcript.people[name]]

    def shown_to(self, name: str) -> list[SentMessage]:
        user = self.users[name]
        return [
            sent
            for sent in self.telegram.fake.messages_to(user.id, token=self.token_of(name))
            if sent.method in SHOWN
        ]

    async def person_acts(self, line: Line) -> None:
        said = re.fullmatch(r">\s*(\S+):\s?(.*)", line.text)
        pressed = re.fullmatch(r">\s*(\S+) нажимает «(.+)»", line.text)
        sticker = re.fullmatch(r">\s*(\S+) присылает стикер (\S+)", line.text)
        if pressed:
            name, label = pressed.groups()
            await self.press(name, self.fill(label, line), line)
            return
        if sticker and sticker.group(1) in self.users:
            name, emoji = sticker.groups()
            await self.telegram.fake.send_sticker(self.token_of(name), self.users[name], emoji)
            return
        if said is None or said.group(1) not in self.users:
            raise self.error(line, "who is this? (name them at the top: «Покупатель: Маша»)")
        name, text = said.groups()
        delivery = await self.telegram.fake.send_text(
            self.token_of(name), self.users[name], self.fill(text, line)
        )
        if delivery["status"] != 200:
            raise self.error(line, f"the webhook answered {delivery['status']}: {delivery}")

    async def press(self, name: str, label: str, line: Line) -> None:
        for sent in reversed(self.shown_to(name)):
            rows = (sent.reply_markup or {}).get("inline_keyboard", [])
            for button in itertools.chain.from_iterable(rows):
                if button.get("text") == label and sent.message_id is not None:
                    await self.telegram.fake.press_button(
                        self.token_of(name),
                        self.users[name],
                        button["callback_data"],
                        sent.message_id,
                    )
                    return
        raise self.error(line, f"{name} has no button «{label}» in the chat")

    # --- staff ----------------------------------------------------------------------

    async def staff_acts(self, line: Line) -> None:
        text = line.text[1:].strip()
        for pattern, handler in ACTIONS:
            match = pattern.fullmatch(text)
            if match:
                await handler(self, match)
                return
        raise self.error(line, "no such staff action (see ACTIONS in tests/transcript_staff.py)")

    async def gql(self, role: AdminRole, query: str, **variables: Any) -> Any:
        return (await self.staff[role](query, **variables)).data

    async def customer_id(self, name: str) -> int:
        async with self.sessions() as session:
            found = await session.scalar(
                select(Customer.id).where(Customer.telegram_id == self.users[name].id)
            )
        assert found is not None, f"{name} is not a customer"
        return found

    async def discount_id(self, code: str) -> int:
        async with self.sessions() as session:
            found = await session.scalar(select(Discount.id).where(Discount.code == code))
        assert found is not None, f"no discount {code}"
        return found

    async def notices(self) -> Worker:
        if self.worker is None:
            self.worker = await self.exits.enter_async_context(
                worker_on(self.engine, self.telegram)
            )
        return self.worker

    # --- answers -------------------------------------------------------------------

    async def check(self, step: Step) -> None:
        wanted = {name: [e for e in step.expected if e.recipient == name] for name in self.users}
        for expected in step.expected:
            if expected.recipient not in self.users:
                raise self.error(expected.line, f"who is «{expected.recipient}»?")
        before = {name: self.seen[name] for name in self.users}

        def all_arrived() -> bool:
            return all(
                len(self.shown_to(name)) - before[name] >= len(wanted[name]) for name in self.users
            )

        with contextlib.suppress(AssertionError):  # told below, message by message
            await until(all_arrived, "the answers", within=15)
        for name in self.users:
            got = self.shown_to(name)[before[name] :]
            self.seen[name] += len(got)
            for index, expected in enumerate(wanted[name]):
                if index >= len(got):
                    raise self.error(
                        expected.line, f"{name} got nothing more; got only:\n{show(got)}"
                    )
                self.compare(expected, got[index])
            if len(got) > len(wanted[name]):
                extra = show(got[len(wanted[name]) :])
                raise self.error(
                    step.line, f"{name} also got what the transcript does not say:\n{extra}"
                )

    def compare(self, expected: Expected, sent: SentMessage) -> None:
        text = expected.text
        photo = PHOTO.match(text)
        if photo:
            text = text[photo.end() :]
        actual = readable(sent.caption if sent.method == "sendPhoto" else sent.text)
        pattern, new = expected_pattern(text, self.known)
        found = re.match(pattern, actual, flags=re.DOTALL)
        if found is None:
            raise self.error(expected.line, f"the bot wrote instead:\n{show([sent])}")
        for group, name in new.items():
            self.values[name] = found.group(group)
        if photo:
            code = self.known(photo.group(1))
            if sent.method != "sendPhoto" or code is None or sent.photo_size != len(qr_png(code)):
                raise self.error(expected.line, f"not the QR of {code}:\n{show([sent])}")
        elif sent.method == "sendPhoto":
            raise self.error(expected.line, f"the bot sent a photo:\n{show([sent])}")

    # --- the whole transcript ---------------------------------------------------------

    async def play(self) -> None:
        self.seen = {name: len(self.shown_to(name)) for name in self.users}
        for step in self.transcript.steps:
            if step.kind == ">":
                await self.person_acts(step.line)
            else:
                await self.staff_acts(step.line)
            await self.check(step)


async def play(
    path: Path,
    telegram: Telegram,
    sessions: async_sessionmaker[AsyncSession],
    staff: dict[AdminRole, GraphQLClient],
    engine: AsyncEngine,
) -> None:
    async with AsyncExitStack() as exits:
        await Player(parse(path), telegram, sessions, staff, engine, exits).play()
