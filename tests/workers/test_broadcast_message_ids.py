"""Each delivery row keeps the id Telegram gave its message (the batch UPDATE's CASE).

Sent messages are recorded in batches, one UPDATE for many rows; each row must
still get its own chat's message id (a shop deletes or edits a broadcast
message by it). The chats start at different message ids, so a mix-up shows.
"""

from __future__ import annotations

from backend.fake_telegram import FakeTelegram
from backend.telegram.bot_api import BotApi
from backend.workers.sending import InMemorySendRateLimiter
from tests.broadcast_runs import Sessions, arrange, rows, run, sends


async def test_every_sent_row_keeps_its_own_message_id(
    sessions: Sessions, fake: FakeTelegram, bot: BotApi
) -> None:
    audience = await arrange(sessions, 40)
    for n, customer in enumerate(audience.members):  # earlier messages: ids differ per chat
        for _ in range(n % 4):
            await bot.send_message(customer.telegram_id, "Здравствуйте!")

    outcome = await run(sessions, bot, audience, limiter=InMemorySendRateLimiter(1000))

    assert outcome.completed and outcome.sent == 40
    recorded = await rows(sessions, audience.broadcast_id)
    for n, customer in enumerate(audience.members):
        broadcast_message = sends(fake, customer)[-1]
        assert broadcast_message.message_id == n % 4 + 1
        assert recorded[customer.id].telegram_message_id == broadcast_message.message_id
