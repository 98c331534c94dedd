"""Broadcast progress pub/sub: in one process and through Redis, subscribers get what is
published while they listen, and leave nothing behind when they stop.

Redis is found at TEST_REDIS_URL (default database 15 on 127.0.0.1:6379); when it
cannot be reached its tests skip locally and fail when CI=true, like MariaDB's.
Channels are global to a Redis server (not per database), so each test uses its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
import redis.asyncio as redis

from backend.pubsub import (
    InProcessPubSub,
    PubSub,
    RedisPubSub,
    broadcast_channel,
    create_pubsub,
)
from tests.databases import redis_url, unavailable
from tests.timing import until

REDIS_URL = redis_url("TEST_REDIS_URL", 15)
WAIT = 5.0  # seconds; far more than any delivery here should take


@pytest.fixture(params=["in_process", "redis"])
async def pubsub(request: pytest.FixtureRequest) -> AsyncIterator[PubSub]:
    if request.param == "in_process":
        memory = InProcessPubSub()
        yield memory
        await memory.close()
        return
    remote = RedisPubSub(REDIS_URL, poll_interval=0.05)
    try:
        await remote.ping()
    except Exception as error:
        await remote.close()
        unavailable("Redis", error)
    yield remote
    await remote.close()


@pytest.fixture
def channel() -> str:
    return f"test-progress:{uuid4().hex}"


async def subscribers(pubsub: PubSub, channel: str) -> int:
    """Who is still subscribed, asked independently of the implementation under test."""
    if isinstance(pubsub, InProcessPubSub):
        return pubsub.subscriber_count(channel)
    assert isinstance(pubsub, RedisPubSub)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        counts = await client.pubsub_numsub(pubsub.on_server(channel))
    finally:
        await client.aclose()
    return int(counts[0][1])


async def take(messages: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(WAIT):
        return [await anext(messages) for _ in range(count)]


async def test_a_subscriber_gets_what_is_published_after_it_subscribed_in_order(
    pubsub: PubSub, channel: str
) -> None:
    await pubsub.publish(channel, {"sent": -1})  # nobody listens yet: gone

    async with pubsub.subscribe(channel) as messages:
        for sent in range(5):
            await pubsub.publish(channel, {"sent": sent, "note": "Весна — 15%"})
        await pubsub.publish(f"{channel}:other", {"sent": 99})

        got = await take(messages, 5)

    assert got == [{"sent": sent, "note": "Весна — 15%"} for sent in range(5)]


async def test_two_subscribers_both_receive_every_message(pubsub: PubSub, channel: str) -> None:
    async with pubsub.subscribe(channel) as first, pubsub.subscribe(channel) as second:
        assert await subscribers(pubsub, channel) == 2
        for sent in range(3):
            await pubsub.publish(channel, {"sent": sent})

        got_first, got_second = await take(first, 3), await take(second, 3)

    assert got_first == got_second == [{"sent": 0}, {"sent": 1}, {"sent": 2}]
    got_first[0]["sent"] = 42  # each subscriber has its own copy
    assert got_second[0] == {"sent": 0}


async def test_a_subscriber_that_stops_early_leaves_nothing_behind(
    pubsub: PubSub, channel: str
) -> None:
    async with pubsub.subscribe(channel) as messages:
        await pubsub.publish(channel, {"sent": 1})
        await pubsub.publish(channel, {"sent": 2})
        async for message in messages:
            assert message == {"sent": 1}
            break
    assert await subscribers(pubsub, channel) == 0
    async with asyncio.timeout(WAIT):
        assert [message async for message in messages] == []  # over once the block is left

    with pytest.raises(RuntimeError, match="dashboard closed"):
        async with pubsub.subscribe(channel):
            assert await subscribers(pubsub, channel) == 1
            raise RuntimeError("dashboard closed")
    assert await subscribers(pubsub, channel) == 0


async def test_a_cancelled_listener_unsubscribes(pubsub: PubSub, channel: str) -> None:
    listening = asyncio.Event()

    async def listen() -> None:
        async with pubsub.subscribe(channel) as messages:
            listening.set()
            async for _ in messages:
                pass

    task = asyncio.create_task(listen())
    async with asyncio.timeout(WAIT):
        await listening.wait()
    assert await subscribers(pubsub, channel) == 1
    await asyncio.sleep(0.1)  # let it block waiting for a message
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await subscribers(pubsub, channel) == 0


async def test_closing_ends_the_subscriptions_still_open(pubsub: PubSub, channel: str) -> None:
    listening = asyncio.Event()
    received: list[dict[str, Any]] = []

    async def listen() -> list[dict[str, Any]]:
        async with pubsub.subscribe(channel) as messages:
            listening.set()
            async for message in messages:
                received.append(message)
        return received

    task = asyncio.create_task(listen())
    async with asyncio.timeout(WAIT):
        await listening.wait()
    await pubsub.publish(channel, {"sent": 1})
    await until(lambda: bool(received), "the message received", within=WAIT)
    await pubsub.close()

    async with asyncio.timeout(WAIT):
        assert await task == [{"sent": 1}]
    with pytest.raises(RuntimeError, match="closed"):
        await pubsub.publish(channel, {"sent": 2})


@pytest.mark.parametrize("message", [{"at": object()}, ["not", "a", "dict"]])
async def test_only_json_objects_can_be_published(
    pubsub: PubSub, channel: str, message: Any
) -> None:
    with pytest.raises(TypeError):
        await pubsub.publish(channel, message)


async def test_a_slow_subscriber_keeps_the_newest_messages(channel: str) -> None:
    pubsub = InProcessPubSub(max_pending=3)
    async with pubsub.subscribe(channel) as slow, pubsub.subscribe(channel) as keeping_up:
        for sent in range(10):
            await pubsub.publish(channel, {"sent": sent})
            assert await take(keeping_up, 1) == [{"sent": sent}]

        assert await take(slow, 3) == [{"sent": 7}, {"sent": 8}, {"sent": 9}]
        await pubsub.publish(channel, {"sent": 10})
        assert await take(slow, 1) == [{"sent": 10}]
    await pubsub.close()


async def test_the_configuration_picks_the_implementation() -> None:
    in_process = create_pubsub(None)
    remote = create_pubsub(REDIS_URL)
    try:
        assert isinstance(in_process, InProcessPubSub)
        assert isinstance(create_pubsub(""), InProcessPubSub)
        assert isinstance(remote, RedisPubSub)
    finally:
        await in_process.close()
        await remote.close()
    assert broadcast_channel(42) == "broadcast-progress:42"


async def test_shops_on_one_redis_with_different_database_numbers_never_hear_each_other(
    channel: str,
) -> None:
    """Redis channels ignore the database number; the prefix makes them follow it."""
    other_url = REDIS_URL.rsplit("/", 1)[0] + "/" + str((int(REDIS_URL.rsplit("/", 1)[1]) + 1) % 16)
    ours, theirs = RedisPubSub(REDIS_URL), RedisPubSub(other_url)
    try:
        try:
            await ours.ping()
        except Exception as error:
            unavailable("Redis", error)
        async with ours.subscribe(channel) as mine, theirs.subscribe(channel) as other:
            await theirs.publish(channel, {"sent": 1})
            await ours.publish(channel, {"sent": 2})
            assert await take(mine, 1) == [{"sent": 2}]
            assert await take(other, 1) == [{"sent": 1}]
    finally:
        await ours.close()
        await theirs.close()
