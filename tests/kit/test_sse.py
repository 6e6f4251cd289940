"""The live hub: frames, cursors, heartbeats, slow clients, shared bus subscriptions, replay then live."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from loa.kit.events import MemoryEventBus, Subscription
from loa.kit.sse import LiveEvent, LiveHub, event_body, format_cursor, parse_cursor


def parse_frames(raw: bytes) -> list[dict[str, Any]]:
    """SSE frames as dicts of their fields (`comment` for a comment-only frame)."""
    frames = []
    for block in raw.decode().split("\n\n")[:-1]:
        frame: dict[str, Any] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if line.startswith(":"):
                frame["comment"] = line[1:].strip()
            elif field == "data":
                frame["data"] = json.loads(value)
            else:
                frame[field] = value
        frames.append(frame)
    return frames


class FakeClient:
    """An ASGI client of `hub.serve`: records what it is sent; `stuck` makes its sends never complete."""

    def __init__(self, hub: LiveHub, channels: Sequence[str], cursor: dict[str, int] | None = None) -> None:
        self.hub = hub
        self.received = bytearray()
        self.stuck = False
        self.gone = asyncio.Event()
        self.sends = 0
        self.task = asyncio.create_task(hub.serve(self.send, self.receive, channels, cursor))

    async def send(self, message: dict[str, Any]) -> None:
        self.sends += 1
        if self.stuck:
            await asyncio.Event().wait()  # a socket that is never drained
        self.received += message["body"]

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    @property
    def frames(self) -> list[dict[str, Any]]:
        return parse_frames(bytes(self.received))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if "event" in frame and frame["event"] != "ready"]

    async def until(self, predicate: Callable[[FakeClient], bool], timeout: float = 3.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not predicate(self):  # noqa: ASYNC110 - polls what the client was sent
                await asyncio.sleep(0.005)

    async def ready(self) -> None:
        await self.until(lambda c: any(frame.get("event") == "ready" for frame in c.frames))

    async def leave(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 3)


class CountingBus(MemoryEventBus):
    def __init__(self) -> None:
        super().__init__()
        self.subscribed: list[tuple[str, ...]] = []
        self.active = 0

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str, maxsize: int = 1000) -> AsyncIterator[Subscription]:
        self.subscribed.append(channels)
        self.active += 1
        try:
            async with super().subscribe(*channels, maxsize=maxsize) as subscription:
                yield subscription
        finally:
            self.active -= 1


@pytest.fixture
async def bus() -> AsyncIterator[CountingBus]:
    bus = CountingBus()
    yield bus
    await bus.close()


@pytest.fixture
async def hub(bus: CountingBus) -> AsyncIterator[LiveHub]:
    hub = LiveHub(bus, heartbeat=3600, max_pending_bytes=8 * 1024)
    await hub.start()
    yield hub
    await hub.close()


def test_frames_and_cursors() -> None:
    assert event_body("broadcast.published", {"id": 3, "text": "Cúp nước\nngày mai"}) == (
        'event: broadcast.published\ndata: {"id":3,"text":"Cúp nước\\nngày mai"}\n\n'.encode())
    assert format_cursor({"account:12": 345, "user:7": 9}) == "account:12=345,user:7=9"
    channels = ["account:12", "user:7"]
    assert parse_cursor("account:12=345, user:7=9,staff:1=4,account:12=x", channels) == {"account:12": 345, "user:7": 9}
    assert parse_cursor("17", ["account:1"]) == {"account:1": 17}
    assert parse_cursor("17", channels) == {}
    assert parse_cursor(None, channels) == parse_cursor("", channels) == parse_cursor("x" * 9000, channels) == {}


async def test_live_frames_carry_the_cursor_of_every_channel(hub: LiveHub, bus: CountingBus) -> None:
    single = FakeClient(hub, ["account:1"])
    several = FakeClient(hub, ["user:7", "account:1"])
    await single.ready()
    await several.ready()
    await bus.publish("account:1", {"id": 5, "type": "broadcast.published", "title": "Lịch cắt điện"})
    await bus.publish("user:7", {"id": 2, "type": "message.created"})
    await bus.publish("account:1", {"type": "typing"})  # no id: live only
    await several.until(lambda c: len(c.events) == 3)
    await single.until(lambda c: len(c.events) == 2)
    assert single.events == [
        {"id": "account:1=5", "event": "broadcast.published",
         "data": {"id": 5, "type": "broadcast.published", "title": "Lịch cắt điện"}},
        {"event": "typing", "data": {"type": "typing"}},
    ]
    # Order holds per channel (each channel has its own bus subscription); the cursor covers both.
    ids = {frame["event"]: frame.get("id") for frame in several.events}
    assert ids == {"broadcast.published": "account:1=5", "message.created": "account:1=5,user:7=2", "typing": None}
    await single.leave()
    await several.leave()


async def test_heartbeat_comments(bus: CountingBus) -> None:
    hub = LiveHub(bus, heartbeat=0.02)
    await hub.start()
    try:
        client = FakeClient(hub, ["account:1"])
        await client.until(lambda c: sum(1 for frame in c.frames if "comment" in frame) >= 2)
        await client.leave()
    finally:
        await hub.close()


async def test_a_stuck_client_is_dropped_without_delaying_the_others(hub: LiveHub, bus: CountingBus) -> None:
    stuck = FakeClient(hub, ["account:1"])
    others = [FakeClient(hub, ["account:1"]) for _ in range(3)]
    for client in [stuck, *others]:
        await client.ready()
    stuck.stuck = True
    for n in range(1, 21):  # 20 × ~1 KiB: beyond the 8 KiB bound
        await bus.publish("account:1", {"id": n, "type": "broadcast.published", "body": "x" * 1000})
        for client in others:  # each event reaches the others before the next is published
            await client.until(lambda c, n=n: len(c.events) == n, timeout=1)
    await asyncio.wait_for(stuck.task, 1)  # dropped: its stream ends, and it will replay on return
    assert stuck.sends == 2  # the ready frame, then one send that never completed: nothing queued behind it
    assert hub.client_count == 3
    await bus.publish("account:1", {"id": 21, "type": "broadcast.published"})
    for client in others:
        await client.until(lambda c: len(c.events) == 21)
        assert [frame["data"]["id"] for frame in client.events] == list(range(1, 22))
        await client.leave()


async def test_a_client_leaving_cancels_nothing_for_the_others(hub: LiveHub, bus: CountingBus) -> None:
    first, second = FakeClient(hub, ["account:1"]), FakeClient(hub, ["account:1"])
    await first.ready()
    await second.ready()
    first.task.cancel()  # e.g. the server cancels one request's task
    with contextlib.suppress(asyncio.CancelledError):
        await first.task
    await bus.publish("account:1", {"id": 1, "type": "broadcast.published"})
    await second.until(lambda c: len(c.events) == 1)
    await second.leave()


async def test_one_bus_subscription_per_channel_while_anyone_listens(hub: LiveHub, bus: CountingBus) -> None:
    clients = [FakeClient(hub, ["account:1", "user:1"]), FakeClient(hub, ["account:1"]),
               FakeClient(hub, ["account:1", "user:2"])]
    for client in clients:
        await client.ready()
    assert sorted(bus.subscribed) == [("account:1",), ("user:1",), ("user:2",)]
    assert bus.active == 3
    await clients[0].leave()
    await clients[2].leave()
    await asyncio.sleep(0.01)
    assert hub.channel_names == {"account:1"}
    assert bus.active == 1
    await clients[1].leave()
    await asyncio.sleep(0.01)
    assert bus.active == 0 and hub.channel_names == set() and not bus._subscribers
    again = FakeClient(hub, ["account:1"])  # a new first client subscribes again
    await again.ready()
    assert bus.active == 1
    await again.leave()


async def test_replay_then_live_in_order_once(hub: LiveHub, bus: CountingBus) -> None:
    stored: list[LiveEvent] = [(n, "broadcast.published", {"id": n, "type": "broadcast.published"})
                               for n in range(1, 5)]
    reading = asyncio.Event()
    go_on = asyncio.Event()

    async def replay(channel: str, after: int | None) -> list[LiveEvent]:
        assert channel == "account:1"
        rows = [event for event in stored if after is None or event[0] > after]
        reading.set()
        await go_on.wait()  # events committed while the replay is read must not be lost nor doubled
        return rows[-1:] if after is None else rows

    hub.register_replay("account", replay)
    client = FakeClient(hub, ["account:1"], {"account:1": 1})
    await reading.wait()
    for n in (5, 6):  # committed (so in the table the replay already read: 5) and published meanwhile
        if n == 5:
            stored.append((5, "broadcast.published", {"id": 5, "type": "broadcast.published"}))
        await bus.publish("account:1", {"id": n, "type": "broadcast.published"})
    await asyncio.sleep(0.01)
    stored.append((6, "broadcast.published", {"id": 6, "type": "broadcast.published"}))
    go_on.set()
    await client.ready()
    await bus.publish("account:1", {"id": 7, "type": "broadcast.published"})
    await client.until(lambda c: len(c.events) >= 6)
    await asyncio.sleep(0.02)
    assert [frame["data"]["id"] for frame in client.events] == [2, 3, 4, 5, 6, 7]
    assert [frame["id"] for frame in client.events] == [f"account:1={n}" for n in range(2, 8)]
    await client.leave()

    # A fresh client starts at the newest event without being sent it; its cursor says so.
    go_on.set()
    fresh = FakeClient(hub, ["account:1"])
    await fresh.ready()
    assert fresh.events == []
    assert [frame.get("id") for frame in fresh.frames if frame.get("event") == "ready"] == ["account:1=6"]
    await fresh.leave()
