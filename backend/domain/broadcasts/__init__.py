"""Broadcasts: a marketer's message to many customers and the states it goes through.

    draft ──schedule──▶ scheduled ──send_now / scheduler──▶ sending ──engine──▶ completed
      │  ◀─(re)schedule──┘ │                               ▲    │
      └──────send_now──────┼───────────────────────────────┘  pause/resume ⇄ paused
                           ▼
    draft, scheduled, sending, paused ──cancel──▶ cancelled        (engine: ──▶ failed)

This package is the state machine and the admin-facing operations; the engine
that creates and works through the `BroadcastDelivery` rows lives in
`backend.workers.sending` (its ledger in `backend.domain.deliveries`). The
engine ends a broadcast "completed" when at least one message was sent, and
"failed" when every row ended without a message (see `deliveries.finish_if_done`).

- `content`: what a broadcast may say (title, text, placeholders, percent);
- `lifecycle`: create, edit and the state changes, each under the row's lock
  and with an audit line;
- `progress`: where one stands: delivery counts, the sending runs' heartbeat
  and orphans, what operators watch (`sending_now`), the live message the
  engine publishes and the API relays;
- `reads`: one by id, many at once, the lists the API pages, the due ones.
"""

from backend.domain.broadcasts.lifecycle import (
    cancel,
    create,
    pause,
    resume,
    schedule,
    send_now,
    snapshot,
    update,
)
from backend.domain.broadcasts.progress import (
    RUN_SILENCE,
    BroadcastStats,
    Orphan,
    ProgressMessage,
    SendingNow,
    orphaned,
    progress_message,
    record_heartbeat,
    sending_now,
    stats,
    stats_many,
)
from backend.domain.broadcasts.reads import by_ids, delivery_listing, due_for_sending, get, listing

__all__ = [
    "RUN_SILENCE",
    "BroadcastStats",
    "Orphan",
    "ProgressMessage",
    "SendingNow",
    "by_ids",
    "cancel",
    "create",
    "delivery_listing",
    "due_for_sending",
    "get",
    "listing",
    "orphaned",
    "pause",
    "progress_message",
    "record_heartbeat",
    "resume",
    "schedule",
    "send_now",
    "sending_now",
    "snapshot",
    "stats",
    "stats_many",
    "update",
]
