"""Live event bus: `publish(channel, payload)` after commit; each web process fans out to its own clients.

Embedded: `MemoryEventBus`. Scaled out: `RedisEventBus` (one pub/sub connection per process).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, payload: dict[str, Any]) -> None: ...
    def subscribe(self, *channels: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class Subscription:
    """Events of the subscribed channels, in the order they were published."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def deliver(self, channel: str, payload: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait((channel, payload))
        except asyncio.QueueFull:
            # A client that stops reading is dropped, not buffered without bound; it replays on return.
            self.overflowed = True

    async def get(self, timeout: float | None = None) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def __aiter__(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        while not self.overflowed:
            yield await self.queue.get()


class MemoryEventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            subscription.deliver(channel, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        for channel in channels:
            self._subscribers[channel].add(subscription)
        try:
            yield subscription
        finally:
            for channel in channels:
                self._subscribers[channel].discard(subscription)
                if not self._subscribers[channel]:
                    del self._subscribers[channel]
