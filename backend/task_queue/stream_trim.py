"""Keeping the task stream small without ever dropping a task that still has to run.

A Redis stream keeps every message, acknowledged or not, until it is trimmed,
and the consumer group keeps a consumer entry for every worker process that
ever read it (a name per host and pid: one more each restart). Trimming by
length when a message is added (`XADD MAXLEN`) would also drop messages no
worker has read yet, or that a dead worker left pending, once more than the
limit are waiting (workers down for a day, a burst of tasks). So the stream
is trimmed here instead, from the hourly clean-up, and only below the oldest
message still needed:

* older than `before` (the retention: acknowledged messages stay a while
  for whoever inspects the stream with XRANGE);
* below every group's first undelivered message (after `last-delivered-id`);
* below every group's oldest pending message (delivered, not acknowledged:
  running, or left by a dead worker for another to claim).

A stream no group reads yet is left alone: a group created later reads it
from the start (`consumer_id="0"`). Consumers with nothing pending that have
not read for an hour are removed too: one is added per worker process ever
started (XGROUP DELCONSUMER would drop a consumer's pending messages, so one
with any is kept). All of it is one Lua script, so
no message can be delivered, claimed or acknowledged between the look and
the trim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from backend.task_queue.stream_broker import DvorikStreamBroker

# KEYS: the stream. ARGV: entries with ids below this many ms (Unix time) may go; a
# consumer with nothing pending, idle longer than ARGV[2] ms, goes. Returns
# {entries trimmed, consumers removed}.
_TRIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local function id_of(text)
  local dash = string.find(text, '-', 1, true)
  return tonumber(string.sub(text, 1, dash - 1)), tonumber(string.sub(text, dash + 1))
end
local function field(reply, name)
  for i = 1, #reply, 2 do
    if reply[i] == name then return reply[i + 1] end
  end
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {0, 0} end
local floor_ms, floor_seq = tonumber(ARGV[1]), 0
local function keep_from(ms, seq)
  if ms < floor_ms or (ms == floor_ms and seq < floor_seq) then
    floor_ms, floor_seq = ms, seq
  end
end
local removed = 0
for _, group in ipairs(groups) do
  local name = field(group, 'name')
  local last_ms, last_seq = id_of(field(group, 'last-delivered-id'))
  keep_from(last_ms, last_seq + 1)
  local pending = redis.call('XPENDING', KEYS[1], name)
  if pending[1] > 0 then keep_from(id_of(pending[2])) end
  for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], name)) do
    if field(consumer, 'pending') == 0 and field(consumer, 'idle') > tonumber(ARGV[2]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], name, field(consumer, 'name'))
      removed = removed + 1
    end
  end
end
local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', floor_ms, floor_seq))
return {trimmed, removed}
"""


# A consumer with nothing pending is removed after this long without a read: a live
# worker reads every few seconds, so only one that is gone (or cut off from Redis
# that long) qualifies, and such a worker's next read simply adds it again.
CONSUMER_GONE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Trimmed:
    """What one trim removed from the stream."""

    messages: int = 0
    consumers: int = 0


async def trim_stream(broker: object, *, now: datetime, keep: timedelta) -> Trimmed:
    """Trim `broker`'s stream of what is older than `keep` and done; nothing for a
    broker that is not a stream (the embedded one keeps no messages)."""
    if not isinstance(broker, DvorikStreamBroker):
        return Trimmed()
    before_ms = int((now - keep).timestamp() * 1000)
    idle_ms = int(CONSUMER_GONE_AFTER.total_seconds() * 1000)
    async with Redis(connection_pool=broker.connection_pool) as redis:
        trim = redis.register_script(_TRIM)
        messages, consumers = await trim(keys=[broker.queue_name], args=[before_ms, idle_ms])
    return Trimmed(int(messages), int(consumers))
