"""Live event bus: `publish(channel, payload)` after commit; each web process fans out to its own clients.

Embedded: `MemoryEventBus`. Scaled out: `RedisEventBus` (one pub/sub connection per process).
Payloads are JSON in both, so what works embedded works scaled out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from loa.kit.metrics import EVENTS_PUBLISHED
from loa.kit.workers import reraise_cancellation, stop_task

log = structlog.get_logger(__name__)

DEFAULT_MAXSIZE = 1000


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, payload: dict[str, Any]) -> None: ...
    def subscribe(
        self, *channels: str, maxsize: int = DEFAULT_MAXSIZE
    ) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class SubscriptionOverflow(Exception):
    """The subscriber fell too far behind and was dropped; it replays from the database."""


class Subscription:
    """Events of the subscribed channels, in the order they were published."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def deliver(self, channel: str, payload: dict[str, Any]) -> None:
        if self.overflowed:
            return  # never resume after a gap: the client would miss events without knowing
        try:
            self.queue.put_nowait((channel, payload))
        except asyncio.QueueFull:
            # A client that stops reading is dropped, not buffered without bound; it replays on return.
            self.overflowed = True

    async def get(self, timeout: float | None = None) -> tuple[str, dict[str, Any]]:  # noqa: ASYNC109
        if self.overflowed:
            raise SubscriptionOverflow
        return await asyncio.wait_for(self.queue.get(), timeout)

    def __aiter__(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        while not self.overflowed:
            yield await self.queue.get()


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (never a raw newline, so one SSE `data:` line carries it). orjson: every stored
    message publishes two events, and the standard encoder was a sixth of a message's cost."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME)


class MemoryEventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        # Encoded as Redis would (a bad payload fails here too); subscribers get the JSON round trip.
        encoded = encode(payload)
        EVENTS_PUBLISHED.inc()
        subscribers = self._subscribers.get(channel)
        if not subscribers:
            return
        data = orjson.loads(encoded)
        for subscription in list(subscribers):
            subscription.deliver(channel, data)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str, maxsize: int = DEFAULT_MAXSIZE) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
        for channel in channels:
            self._subscribers[channel].add(subscription)
        try:
            yield subscription
        finally:
            for channel in channels:
                self._subscribers[channel].discard(subscription)
                if not self._subscribers[channel]:
                    del self._subscribers[channel]


class RedisEventBus:
    """Redis pub/sub with one connection per process and one SUBSCRIBE per channel in use here.

    A reader task takes each message once and hands it to this process's subscriptions; a slow one
    overflows its own queue and never holds up the others.
    """

    def __init__(self, redis: Redis, *, channel_prefix: str = "", confirm_timeout: float = 5.0) -> None:
        self._redis = redis
        self._prefix = channel_prefix
        self._confirm_timeout = confirm_timeout
        self._local: dict[str, set[Subscription]] = {}
        # One future per SUBSCRIBE sent, resolved by its confirmation (they come back in order).
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        return None  # the pub/sub connection opens on the first subscription (workers only publish)

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await stop_task(reader)
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None
        for futures in self._confirmations.values():
            for future in futures:
                future.cancel()
        self._confirmations.clear()
        self._local.clear()

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + channel, encode(payload))
        EVENTS_PUBLISHED.inc()

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str, maxsize: int = DEFAULT_MAXSIZE) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
        keys = list(dict.fromkeys(self._prefix + channel for channel in channels))
        try:
            await self._add(subscription, keys)
            yield subscription
        finally:
            await self._remove(subscription, keys)

    async def _add(self, subscription: Subscription, keys: list[str]) -> None:
        async with self._lock:
            pubsub = await self._connect()
            new = [key for key in keys if not self._local.get(key)]
            for key in keys:
                self._local.setdefault(key, set()).add(subscription)
            if new:
                loop = asyncio.get_running_loop()
                for key in new:
                    self._confirmations[key].append(loop.create_future())
                try:
                    await pubsub.subscribe(*new)
                    reraise_cancellation()
                except BaseException:
                    for key in new:
                        self._confirmations[key].pop().cancel()
                    raise
            # Wait for our channels' latest SUBSCRIBE, so an event published after we return reaches us.
            waiting = [self._confirmations[key][-1] for key in keys if self._confirmations.get(key)]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=self._confirm_timeout)
            if pending:
                log.warning("subscription not confirmed in time", channels=keys)

    async def _remove(self, subscription: Subscription, keys: Iterable[str]) -> None:
        async with self._lock:
            gone = []
            for key in keys:
                subscribers = self._local.get(key)
                if subscribers is None:
                    continue
                subscribers.discard(subscription)
                if not subscribers:
                    del self._local[key]
                    gone.append(key)
            if gone and self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(*gone)
                except Exception:
                    # Harmless: events for a channel nobody here listens to are ignored by the reader.
                    log.warning("unsubscribe failed", channels=gone, exc_info=True)

    async def _connect(self) -> PubSub:
        if self._pubsub is None:
            pubsub = self._redis.pubsub()
            await pubsub.connect()
            self._pubsub = pubsub
            self._reader = asyncio.create_task(self._read(pubsub), name="loa-event-reader")
        return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        pause = 0.2
        while True:
            try:
                # A bounded wait: a dead connection is noticed and reopened (redis-py resubscribes).
                message = await pubsub.get_message(timeout=10.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                reraise_cancellation()
                log.warning("event bus connection lost; reconnecting", pause=pause, exc_info=True)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            reraise_cancellation()
            pause = 0.2
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        key = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        if kind == "subscribe":
            futures = self._confirmations.get(key)
            if futures:
                future = futures.popleft()
                if not future.done():
                    future.set_result(None)
                if not futures:
                    del self._confirmations[key]
            return
        if kind != "message":
            return
        subscribers = self._local.get(key)
        if not subscribers:
            return
        try:
            payload = orjson.loads(message["data"])
        except ValueError:
            log.warning("event is not JSON; ignored", channel=key)
            return
        channel = key[len(self._prefix):]
        for subscription in list(subscribers):
            subscription.deliver(channel, payload)
