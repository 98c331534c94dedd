"""The broadcast engine: works a "sending" broadcast's deliveries off through the Bot API.

`process_broadcast` is what the task worker runs for one broadcast; it may run
again after a crash, and several may run at once (the ledger in
`backend.domain.deliveries` keeps every delivery to one worker and one send).

One run, step by step:

* fix the audience (`resolve_audience`, idempotent), settle rows a dead worker
  left behind once their lease ran out (`expire_leases`: only claimed → sent
  again; started → ambiguous, never resent);
* loop: keep about two ticks of sending claimed; each delivery books its slot
  from the shared `SendRateLimiter` when its chat is free, waits for a
  connection and its spacing, and only then is marked started (`Marks`: one
  UPDATE for the rows due together, committed just before their requests go
  out) and sent; a message Telegram accepted is recorded with the next wave
  of marks (milliseconds), other results in batches (every 0.1 s), leases
  renewed while the run lives, progress published at most 4 times a second;
  a watcher re-reads the broadcast status every 0.25 s, so a pause or cancel
  stops new sends within about a second (rows waiting for their slot are
  released, requests already on the wire finish and are recorded);
* all along, the run writes its heartbeat on the broadcast every
  `HEARTBEAT_EVERY` (`broadcasts.record_heartbeat`): a run that stops writing
  it (a killed worker) is noticed by the workers' sweep within seconds and
  the broadcast is queued again, and its progress shows "no worker";
* when nothing is pending, end the broadcast (`finish_if_done`: completed, or
  failed when not one message went out); when the run stops, publish the
  counts read from the delivery rows after its last results are recorded.

The parts: `pace` (the limiter's
contract) and `limiters` (in memory, or in Redis for several workers);
`run` (the main loop and `process_broadcast`) with `context` (what its parts
share) and `stopping` (its stop, and cancelling its own tasks); `delivery`
(one claim's tries and what Telegram's answer means, with the error rules);
`outgoing` (this process's spacing and connections, and `take_slot` for
messages outside a broadcast); `marks` (the one writer of the write-ahead
marks), `recording` (results on their way to the ledger); `upkeep`
(heartbeat, lease renewals, the status watch) and `progress`.
"""

from backend.workers.sending.limiters import (
    InMemorySendRateLimiter,
    RedisSendRateLimiter,
    create_send_rate_limiter,
)
from backend.workers.sending.outgoing import take_slot
from backend.workers.sending.pace import CHAT_INTERVAL, MAX_RATE, PACE_MARGIN, SendRateLimiter
from backend.workers.sending.run import DEFAULT_LEASE, BroadcastOutcome, process_broadcast

__all__ = [
    "CHAT_INTERVAL",
    "DEFAULT_LEASE",
    "MAX_RATE",
    "PACE_MARGIN",
    "BroadcastOutcome",
    "InMemorySendRateLimiter",
    "RedisSendRateLimiter",
    "SendRateLimiter",
    "create_send_rate_limiter",
    "process_broadcast",
    "take_slot",
]
