"""The delivery ledger: one `BroadcastDelivery` row per recipient, sent exactly once.

The engine (`backend.workers.sending`) drives these functions; this package owns
the rules, so they hold whichever worker, and however many, runs a broadcast.
Its parts: `audience` (the rows, made once), `markers` (what `last_error`
says of a held or doubtful row), `claiming` (leasing and rendering),
`marks` (the write-ahead mark and lease renewals), `outcomes` (recording
results) and `ending` (lost runs' rows, the broadcast's end); `rendering`
fills one recipient's text.

Exactly-once protocol (no extra columns: status, attempts, last_error,
telegram_message_id and sent_at carry it):

1. `resolve_audience` turns the broadcast's `rules_snapshot` into rows once: one
   INSERT … SELECT, atomic, skipped if the broadcast has rows already (the
   broadcast row is locked first so two workers cannot both insert).
2. `claim_batch` leases rows. In one transaction it picks pending rows that
   nobody holds, sets `attempts = attempts + 1` and writes a lease into
   `last_error`: ``claimed until <UTC deadline> by <worker>#<nonce>`` (the
   conditional UPDATE re-checks "pending and not held", so of two racing
   workers each row goes to one). The engine claims only what its rate
   limiter lets it send within the next fraction of a second, and renders
   (and issues promo codes) for those rows here.
3. `start_sending` is the write-ahead mark, committed just before the
   requests go out, for the few rows about to be sent at once: the lease
   becomes ``sending until …`` (same deadline and holder). Only rows still
   carrying this worker's lease are started, and only those are sent.
4. The worker then records what happened, each a conditional UPDATE on a still
   pending row: `mark_sent` (status sent, message id, sent_at; a batch in one
   UPDATE), `mark_blocked` (403: the customer is marked blocked too),
   `mark_failed` (Telegram refused: 400 "chat not found", retries used up,
   ...), `unstart_one` when a request was *certainly* refused (429, 5xx, a
   connection never opened) and will be retried by the same worker, and
   also at once on a final refusal (400, 403) before that outcome is
   recorded, so a worker killed in between leaves a row to be sent again
   (and refused again), not one in doubt; or
   `release_for_retry` when the worker lets a row go unsent (stopping before
   the request): the lease is dropped and the row is pending again for any
   worker.
5. A worker that dies leaves its leases behind; `expire_leases` settles them
   once their deadline passes. A row only claimed was certainly not sent: it
   goes back to pending and another run sends it. A row started (the request
   may have reached Telegram) is the one case nobody can settle, like a
   timeout or a connection dropped mid-request: resending could send twice,
   so the rule is **never resend**: the row is marked failed with last_error
   ``ambiguous: …`` (`mark_ambiguous`). `count_ambiguous` counts them apart
   from real failures. Such a customer got the message at most once, maybe
   not at all. A late `mark_sent` from a worker that was only slow upgrades it
   to sent.
6. `finish_if_done` ends the broadcast with one conditional UPDATE (status
   still "sending" and no pending rows): two workers cannot both. It ends
   "completed" when at least one row was sent, and "failed" when rows exist
   and none was (every recipient refused, blocked, or in doubt: e.g. a text
   Telegram cannot parse); a broadcast with no recipients at all completes.

So: a row is sent only by the worker holding its lease, a lease is given only
to a pending row nobody holds, and a started row whose result is lost is never
given out again. A restarted worker resumes with the rows still pending; rows
skipped are only the ambiguous ones (at most the requests on the wire when a
worker died), and they are counted.
"""

from backend.domain.deliveries.audience import resolve_audience
from backend.domain.deliveries.claiming import Claim, claim_batch, promo_once_key
from backend.domain.deliveries.ending import (
    Expired,
    count_ambiguous,
    expire_leases,
    finish_if_done,
    sending_status,
)
from backend.domain.deliveries.markers import (
    AMBIGUOUS,
    CLAIMED,
    IN_FLIGHT,
    RELEASED,
    STARTED,
    WORKER_LOST,
    WORKER_LOST_BEFORE,
    lease_deadline,
    lease_marker,
    renewed,
)
from backend.domain.deliveries.marks import (
    Renewal,
    renew_leases,
    start_sending,
    unstart_one,
    update_marks,
)
from backend.domain.deliveries.outcomes import (
    ENGINE_ACTOR,
    Outcome,
    OutcomeKind,
    mark_ambiguous,
    mark_blocked,
    mark_failed,
    mark_sent,
    record_outcomes,
    release_for_retry,
)
from backend.domain.deliveries.rendering import Recipient, render_for

__all__ = [
    "AMBIGUOUS",
    "CLAIMED",
    "ENGINE_ACTOR",
    "IN_FLIGHT",
    "RELEASED",
    "STARTED",
    "WORKER_LOST",
    "WORKER_LOST_BEFORE",
    "Claim",
    "Expired",
    "Outcome",
    "OutcomeKind",
    "Recipient",
    "Renewal",
    "claim_batch",
    "count_ambiguous",
    "expire_leases",
    "finish_if_done",
    "lease_deadline",
    "lease_marker",
    "mark_ambiguous",
    "mark_blocked",
    "mark_failed",
    "mark_sent",
    "promo_once_key",
    "record_outcomes",
    "release_for_retry",
    "render_for",
    "renew_leases",
    "renewed",
    "resolve_audience",
    "sending_status",
    "start_sending",
    "unstart_one",
    "update_marks",
]
