"""The live event bus, in memory and on Redis: after-commit delivery, order, fan-out, slow clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from loa.kit.effects import commit, publish_after_commit
from loa.kit.events import EventBus, MemoryEventBus, RedisEventBus, SubscriptionOverflow
from loa.kit.jobs import QueueNames
from loa.runtime import Runtime
from loa.settings import Settings


def unique_names() -> QueueNames:
    return QueueNames(prefix=f"loa-test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def redis_client(live_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(live_redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    built: EventBus
    client: Redis | None = None
    if request.param == "memory":
        built = MemoryEventBus()
    else:
        client = Redis.from_url(request.getfixturevalue("live_redis_url"))
        built = RedisEventBus(client, channel_prefix=unique_names().channel_prefix)
    await built.start()
    try:
        yield built
    finally:
        await built.close()
        if client is not None:
            await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def bus_runtime(request: pytest.FixtureRequest, settings: Settings, reference_data: None,
                      ) -> AsyncIterator[Runtime]:
    """A runtime on the test database whose bus is memory or Redis."""
    if request.param == "redis":
        settings = settings.model_copy(update={"redis_url": request.getfixturevalue("live_redis_url"),
                                                "run_worker_in_web": False})
    names = unique_names()
    runtime = Runtime(settings, names=names)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()
        if settings.redis_url:  # the job stream its queue created
            client = Redis.from_url(settings.redis_url)
            await client.delete(names.jobs)
            await client.aclose()


def channel() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_publish_after_commit_reaches_a_subscriber(bus_runtime: Runtime) -> None:
    name = channel()
    async with bus_runtime.bus.subscribe(name) as subscription:
        async with bus_runtime.session() as session:
            await session.execute(text("SELECT 1"))
            publish_after_commit(session, name, {"id": "1", "text": "Thông báo mất nước"})
            assert subscription.queue.empty()  # staged, not sent before the commit
            await commit(session)
        assert await subscription.get(timeout=5) == (name, {"id": "1", "text": "Thông báo mất nước"})


async def test_a_rolled_back_transaction_publishes_nothing(bus_runtime: Runtime) -> None:
    name = channel()
    async with bus_runtime.bus.subscribe(name) as subscription:
        async with bus_runtime.session() as session:
            await session.execute(text("SELECT 1"))
            publish_after_commit(session, name, {"id": "rolled-back"})
            await session.rollback()
            # Later work on the same session sends only its own events.
            await session.execute(text("SELECT 1"))
            publish_after_commit(session, name, {"id": "committed"})
            await commit(session)
        with pytest.raises(RuntimeError):
            async with bus_runtime.session() as session:
                await session.execute(text("SELECT 1"))
                publish_after_commit(session, name, {"id": "failed"})
                raise RuntimeError("the service failed before commit")
        assert await subscription.get(timeout=5) == (name, {"id": "committed"})
        with pytest.raises(TimeoutError):
            await subscription.get(timeout=0.3)


async def test_two_subscribers_both_get_every_event_in_order(bus: EventBus) -> None:
    name = channel()
    async with bus.subscribe(name) as first, bus.subscribe(name) as second:
        for n in range(50):
            await bus.publish(name, {"n": n})
        for subscription in (first, second):
            got = [await subscription.get(timeout=5) for _ in range(50)]
            assert got == [(name, {"n": n}) for n in range(50)]


async def test_a_subscriber_gets_only_its_channels(bus: EventBus) -> None:
    mine, other = channel(), channel()
    async with bus.subscribe(mine, other) as both, bus.subscribe(mine) as only_mine:
        await bus.publish(other, {"to": "other"})
        await bus.publish(mine, {"to": "mine"})
        assert await both.get(timeout=5) == (other, {"to": "other"})
        assert await both.get(timeout=5) == (mine, {"to": "mine"})
        assert await only_mine.get(timeout=5) == (mine, {"to": "mine"})
        with pytest.raises(TimeoutError):
            await only_mine.get(timeout=0.2)


async def test_a_slow_subscriber_is_dropped_without_holding_up_others(bus: EventBus) -> None:
    name = channel()
    async with bus.subscribe(name, maxsize=5) as slow, bus.subscribe(name) as fast:
        for n in range(20):
            await bus.publish(name, {"n": n})
        got = [await fast.get(timeout=5) for _ in range(20)]
        assert [payload["n"] for _, payload in got] == list(range(20))
        assert slow.overflowed
        # Dropped for good: it never resumes after a gap, and its stream ends.
        with pytest.raises(SubscriptionOverflow):
            await slow.get(timeout=1)
        assert [event async for event in slow] == []
        await bus.publish(name, {"n": 20})
        assert await fast.get(timeout=5) == (name, {"n": 20})


async def test_leaving_stops_delivery(bus: EventBus) -> None:
    name = channel()
    async with bus.subscribe(name) as stays:
        async with bus.subscribe(name) as leaves:
            await bus.publish(name, {"n": 1})
            assert await leaves.get(timeout=5) == (name, {"n": 1})
        await bus.publish(name, {"n": 2})
        assert await stays.get(timeout=5) == (name, {"n": 1})
        assert await stays.get(timeout=5) == (name, {"n": 2})
        assert leaves.queue.empty()


@pytest.mark.parametrize("value", [object(), {1, 2}, datetime(2026, 1, 1, tzinfo=UTC)], ids=["object", "set", "time"])
async def test_payloads_must_be_json(bus: EventBus, value: object) -> None:
    # Times too: a payload carries them formatted, as the API shows them.
    with pytest.raises(TypeError):
        await bus.publish(channel(), {"value": value})


async def test_redis_bus_subscribes_once_per_channel_per_process(redis_client: Redis) -> None:
    names = unique_names()
    bus = RedisEventBus(redis_client, channel_prefix=names.channel_prefix)
    name = channel()
    key = names.channel_prefix + name
    try:
        async with bus.subscribe(name), bus.subscribe(name), bus.subscribe(name, channel()):
            assert dict(await redis_client.pubsub_numsub(key)) == {key.encode(): 1}
        for _ in range(50):  # UNSUBSCRIBE is not confirmed to the caller
            if dict(await redis_client.pubsub_numsub(key)) == {key.encode(): 0}:
                break
            await asyncio.sleep(0.02)
        assert dict(await redis_client.pubsub_numsub(key)) == {key.encode(): 0}
    finally:
        await bus.close()


async def test_redis_bus_reaches_every_process(redis_client: Redis) -> None:
    """Each web process has its own bus; an event published by any of them reaches all of them."""
    names = unique_names()
    here = RedisEventBus(redis_client, channel_prefix=names.channel_prefix)
    there = RedisEventBus(redis_client, channel_prefix=names.channel_prefix)
    elsewhere = RedisEventBus(redis_client, channel_prefix=unique_names().channel_prefix)
    name = channel()
    try:
        async with here.subscribe(name) as a, there.subscribe(name) as b, elsewhere.subscribe(name) as c:
            await there.publish(name, {"from": "there"})
            assert await a.get(timeout=5) == (name, {"from": "there"})
            assert await b.get(timeout=5) == (name, {"from": "there"})
            with pytest.raises(TimeoutError):  # another installation's prefix
                await c.get(timeout=0.2)
    finally:
        for bus in (here, there, elsewhere):
            await bus.close()


async def test_redis_bus_resubscribes_after_the_connection_drops(redis_client: Redis) -> None:
    names = unique_names()
    bus = RedisEventBus(redis_client, channel_prefix=names.channel_prefix)
    name = channel()
    key = names.channel_prefix + name
    try:
        async with bus.subscribe(name) as subscription:
            # Kill this bus's pub/sub connection on the server, as a Redis restart or a proxy would.
            writer = bus._pubsub.connection._writer  # type: ignore[union-attr]
            host, port = writer.get_extra_info("sockname")[:2]
            assert await redis_client.client_kill_filter(addr=f"{host}:{port}") == 1
            for _ in range(200):
                if dict(await redis_client.pubsub_numsub(key)) == {key.encode(): 1}:
                    break
                await asyncio.sleep(0.05)
            await bus.publish(name, {"after": "reconnect"})
            assert await subscription.get(timeout=5) == (name, {"after": "reconnect"})
    finally:
        await bus.close()
