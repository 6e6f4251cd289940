"""Live delivery over Server-Sent Events.

One `LiveHub` per process holds one bus subscription per channel that a local client wants
(reference-counted: subscribed for the first client, released with the last) and fans every event out
itself: the frame is encoded once and written by calling each connected client's ASGI `send` in a
loop, with no queue and no task per client. A send that cannot complete at once (the socket buffer is
full) is finished by a task of its own while later frames for that client are held, up to a bound;
a client that stays stuck beyond it is dropped and replays when it reconnects.

Frames: `id: <cursor>\\nevent: <type>\\ndata: <json>\\n\\n`, heartbeat comments in between.

Cursor (the SSE `id:`): the client's last event id per channel, `channel=id` pairs joined by commas,
e.g. `account:12=345,user:7=9`. The browser sends it back as `Last-Event-ID` when it reconnects
(or a polyfill as `?last_event_id=`); each channel is then replayed from its own position. On a
stream of one channel a bare integer is accepted too. Events without an integer `id` are delivered
live only and leave the cursor as it was.

Replay: a domain registers, per channel kind (the part before the first `:`), an async
`replay(channel, after) -> [(id, type, payload), ...]` giving the events with id > `after` in id
order from its tables; with `after=None` (the client has no position yet) it returns at most the
latest event, whose id marks where the client starts (so a later reconnect misses nothing).
Register it with `@replay_source("account")` on `async def replay(runtime, channel, after)` in a module
the app imports (the domain's api or service), or per hub with `runtime.live.register_replay(kind, fn)`.
Domains publish as ever: `publish_after_commit(session, "account:12", {"id": 345, "type": ..., ...})`;
the replay returns the same payloads as the live events.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import Awaitable, Callable, Collection, Coroutine, Generator, Sequence
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loa.kit.events import EventBus, encode

log = structlog.get_logger(__name__)

LiveEvent = tuple[int, str, dict[str, Any]]
ReplayFn = Callable[[str, int | None], Awaitable[Sequence[LiveEvent]]]
# A replay source registered at import time by a domain: it gets the runtime that owns the hub.
RuntimeReplayFn = Callable[[Any, str, int | None], Awaitable[Sequence[LiveEvent]]]

HEARTBEAT = b": \n\n"
_HEARTBEAT_MESSAGE = {"type": "http.response.body", "body": HEARTBEAT, "more_body": True}
MAX_CURSOR_CHARS = 8192
RETRY_MS = 3000

_SOURCES: dict[str, RuntimeReplayFn] = {}


def replay_source(kind: str) -> Callable[[RuntimeReplayFn], RuntimeReplayFn]:
    """Decorator for a domain's `async def replay(runtime, channel, after)`, used by every hub."""

    def register(fn: RuntimeReplayFn) -> RuntimeReplayFn:
        _SOURCES[kind] = fn
        return fn

    return register


# --- frames and cursors ---------------------------------------------------------------------------------


def event_body(event_type: str, payload: dict[str, Any]) -> bytes:
    """The part of a frame after its `id:` line."""
    clean = event_type.replace("\n", " ").replace("\r", " ")
    return b"event: " + clean.encode() + b"\ndata: " + encode(payload) + b"\n\n"


def format_cursor(cursor: dict[str, int]) -> str:
    return ",".join(f"{channel}={last}" for channel, last in cursor.items())


def parse_cursor(raw: str | None, channels: Collection[str]) -> dict[str, int]:
    """The positions a client sent back, for the channels of this stream only; anything else is ignored."""
    if not raw or len(raw) > MAX_CURSOR_CHARS:
        return {}
    raw = raw.strip()
    if raw.isdigit() and len(channels) == 1 and len(raw) <= 18:
        return {next(iter(channels)): int(raw)}
    wanted = set(channels)
    cursor: dict[str, int] = {}
    for part in raw.split(","):
        channel, sep, value = part.strip().rpartition("=")
        if sep and channel in wanted and value.isdigit() and len(value) <= 18:
            cursor[channel] = int(value)
    return cursor


def _id_line(cursor: dict[str, int]) -> bytes:
    return b"id: " + format_cursor(cursor).encode() + b"\n"


@types.coroutine
def _continue(coro: Coroutine[Any, Any, Any], waiting: Any) -> Generator[Any, Any, None]:
    """Drive the rest of a coroutine that was started by hand and suspended on `waiting`."""
    while True:
        try:
            received = yield waiting
        except BaseException as exc:  # cancellation goes into the send, as `await` would pass it
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = coro.send(received)
            except StopIteration:
                return


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# --- the hub --------------------------------------------------------------------------------------------


class LiveUnavailable(Exception):
    """The bus subscription for a channel could not be made."""


class _Client:
    __slots__ = ("buffer", "buffer_bytes", "channels", "closed", "cursor", "floor", "inflight", "live",
                 "pending", "pending_bytes", "send", "stuck_since")

    def __init__(self, send: Send, cursor: dict[str, int], loop: asyncio.AbstractEventLoop) -> None:
        self.send = send
        self.cursor = dict(cursor)
        self.floor: dict[str, int] = {}  # per channel, the last id the replay sent: live ones up to it are dupes
        self.channels: list[str] = []
        self.closed: asyncio.Future[str] = loop.create_future()
        self.live = False  # until the replay is out, live events wait in `buffer`
        self.buffer: list[tuple[str, int | None, bytes]] = []
        self.buffer_bytes = 0
        self.inflight: asyncio.Task[None] | None = None  # finishing a send that could not complete at once
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.stuck_since = 0.0


class _Channel:
    __slots__ = ("clients", "error", "name", "ready", "task")

    def __init__(self, name: str) -> None:
        self.name = name
        self.clients: set[_Client] = set()
        self.ready = asyncio.Event()  # an Event: each waiter has its own future, so one leaving cancels none
        self.error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(self, bus: EventBus, *, runtime: Any = None, heartbeat: float = 20.0,
                 max_pending_bytes: int = 256 * 1024, send_timeout: float = 60.0,
                 subscription_size: int = 10_000) -> None:
        self.bus = bus
        self.runtime = runtime
        self.heartbeat = heartbeat
        self.max_pending_bytes = max_pending_bytes
        self.send_timeout = send_timeout
        self.subscription_size = subscription_size
        self._replay: dict[str, ReplayFn] = {}
        self._channels: dict[str, _Channel] = {}
        self._clients: set[_Client] = set()
        self._heartbeat_task: asyncio.Task[None] | None = None

    # -- setup ---------------------------------------------------------------------------------------

    def register_replay(self, kind: str, fn: ReplayFn) -> None:
        """`fn(channel, after)` replays channels `kind:…` of this hub (overrides a `replay_source`)."""
        self._replay[kind] = fn

    def _source(self, channel: str) -> ReplayFn | None:
        kind = channel.partition(":")[0]
        if kind in self._replay:
            return self._replay[kind]
        fn = _SOURCES.get(kind)
        runtime = self.runtime
        # The domains' sources read the database through a runtime: a hub without one replays nothing.
        if fn is None or runtime is None:
            return None
        return lambda name, after: fn(runtime, name, after)

    async def start(self) -> None:
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(self._beat(), name="loa-live-heartbeat")

    async def close(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
            self._heartbeat_task = None
        tasks = [channel.task for channel in self._channels.values() if channel.task is not None]
        for client in list(self._clients):
            self._drop(client, "shutdown")
        self._channels.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def channel_names(self) -> set[str]:
        return set(self._channels)

    # -- one client ----------------------------------------------------------------------------------

    async def serve(self, send: Send, receive: Receive, channels: Sequence[str],
                    cursor: dict[str, int] | None = None) -> None:
        """Stream `channels` to one client (after `http.response.start`) until it leaves or is dropped."""
        loop = asyncio.get_running_loop()
        client = _Client(send, cursor or {}, loop)
        watcher = loop.create_task(_until_disconnect(receive))
        self._clients.add(client)
        try:
            await self._attach(client, list(dict.fromkeys(channels)))
            if not client.closed.done():
                await self._catch_up(client)
            if not client.closed.done():
                await asyncio.wait((watcher, client.closed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            self._drop(client, None)

    async def _attach(self, client: _Client, channels: list[str]) -> None:
        # Subscribed before the replay is read: an event committed meanwhile is buffered, not lost.
        client.channels = channels
        waiting: list[_Channel] = []
        for name in channels:
            channel = self._channels.get(name)
            if channel is None:
                channel = self._channels[name] = _Channel(name)
                channel.task = asyncio.create_task(self._read(channel), name=f"loa-live-{name}")
            channel.clients.add(client)
            if not channel.ready.is_set():
                waiting.append(channel)
        for channel in waiting:
            await channel.ready.wait()
            if channel.error is not None:
                raise LiveUnavailable(channel.name) from channel.error

    async def _catch_up(self, client: _Client) -> None:
        frames: list[bytes] = []
        for name in client.channels:
            source = self._source(name)
            if source is None:
                continue
            after = client.cursor.get(name)
            events = await source(name, after)
            if client.closed.done():
                return
            if after is None:  # no position yet: start from the latest event, sending nothing
                if events:
                    client.cursor[name] = max(event_id for event_id, _, _ in events)
                    client.floor[name] = client.cursor[name]
                continue
            for event_id, event_type, payload in events:
                if event_id <= client.cursor.get(name, -1):
                    continue
                client.cursor[name] = event_id
                frames.append(_id_line(client.cursor) + event_body(event_type, payload))
            client.floor[name] = client.cursor[name]
        ready = event_body("ready", {"channels": client.channels})
        frames.append((_id_line(client.cursor) if client.cursor else b"") + b"retry: %d\n" % RETRY_MS + ready)
        await self._send_now(client, b"".join(frames))
        # Live events that came during the replay, minus those it already sent; then the hub takes over.
        while client.buffer and not client.closed.done():
            batch, client.buffer, client.buffer_bytes = client.buffer, [], 0
            body = b"".join(frame for name, event_id, rest in batch
                            if (frame := self._frame(client, name, event_id, rest)) is not None)
            if body:
                await self._send_now(client, body)
        client.live = True

    async def _send_now(self, client: _Client, body: bytes) -> None:
        # The client's own request task waits here (the replay may be large); a socket stuck past the
        # timeout ends the stream like a stuck live send does.
        message = {"type": "http.response.body", "body": body, "more_body": True}
        try:
            await asyncio.wait_for(client.send(message), self.send_timeout)
        except TimeoutError:
            self._drop(client, "stuck")

    # -- fan-out -------------------------------------------------------------------------------------

    async def _read(self, channel: _Channel) -> None:
        try:
            while True:
                async with self.bus.subscribe(channel.name, maxsize=self.subscription_size) as subscription:
                    channel.ready.set()
                    async for _, payload in subscription:
                        self._fan_out(channel, payload)
                # This process fell behind the bus: its clients of the channel replay when they return.
                log.warning("live channel overflowed; dropping its clients", channel=channel.name)
                for client in list(channel.clients):
                    self._drop(client, "overflow")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("live channel failed", channel=channel.name, exc_info=True)
            channel.error = exc
            channel.ready.set()
            for client in list(channel.clients):
                self._drop(client, "bus")

    def _fan_out(self, channel: _Channel, payload: dict[str, Any]) -> None:
        raw_id = payload.get("id")
        event_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
        event_type = payload.get("type")
        rest = event_body(event_type if isinstance(event_type, str) else "message", payload)
        # Encoded once: the whole frame for every client positioned on this channel alone (all of a
        # public account stream's), the part after the `id:` line for the others.
        shared = rest if event_id is None else b"id: %s=%d\n" % (channel.name.encode(), event_id) + rest
        name = channel.name
        message = {"type": "http.response.body", "body": shared, "more_body": True}  # one for all: never changed
        for client in tuple(channel.clients):
            if not client.live:
                client.buffer.append((name, event_id, rest))
                client.buffer_bytes += len(rest)
                if client.buffer_bytes > self.max_pending_bytes:
                    self._drop(client, "slow")
                continue
            if event_id is not None:  # the per-client part of `_frame`, inlined: this loop is the hot path
                floor = client.floor.get(name)
                if floor is not None and event_id <= floor:
                    continue  # the replay sent it already
                cursor = client.cursor
                if event_id > cursor.get(name, -1):
                    cursor[name] = event_id
                if len(cursor) != 1:
                    self._write(client, _id_line(cursor) + rest)
                    continue
            self._send(client, message)

    @staticmethod
    def _frame(client: _Client, name: str, event_id: int | None, rest: bytes) -> bytes | None:
        """The frame of an event for one client (None: the replay sent it already); moves its cursor."""
        if event_id is None:
            return rest
        floor = client.floor.get(name)
        if floor is not None and event_id <= floor:
            return None
        cursor = client.cursor
        if event_id > cursor.get(name, -1):
            cursor[name] = event_id
        return _id_line(cursor) + rest

    def _write(self, client: _Client, body: bytes) -> None:
        self._send(client, {"type": "http.response.body", "body": body, "more_body": True})

    def _send(self, client: _Client, message: Message) -> None:
        """Send now if the client's socket takes it; otherwise hold it, within the bound."""
        if client.inflight is not None:
            client.pending.append(message["body"])
            client.pending_bytes += len(message["body"])
            if client.pending_bytes > self.max_pending_bytes:
                self._drop(client, "slow")
            return
        coro = client.send(message)
        try:
            waiting = coro.send(None)  # the usual case: the server writes to the socket and returns
        except StopIteration:
            return
        except Exception:
            log.info("live client send failed", exc_info=True)
            self._drop(client, "send")
            return
        loop = asyncio.get_running_loop()
        client.stuck_since = loop.time()
        client.inflight = loop.create_task(self._finish(client, coro, waiting))

    async def _finish(self, client: _Client, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        try:
            await _continue(coro, waiting)
            while client.pending and not client.closed.done():
                body = b"".join(client.pending)
                client.pending.clear()
                client.pending_bytes = 0
                client.stuck_since = asyncio.get_running_loop().time()
                await client.send({"type": "http.response.body", "body": body, "more_body": True})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.info("live client send failed", exc_info=True)
            self._drop(client, "send")
        finally:
            if client.inflight is asyncio.current_task():
                client.inflight = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            now = asyncio.get_running_loop().time()
            for client in tuple(self._clients):
                if client.inflight is not None and now - client.stuck_since > self.send_timeout:
                    self._drop(client, "stuck")
                elif client.live:
                    self._send(client, _HEARTBEAT_MESSAGE)

    def _drop(self, client: _Client, reason: str | None) -> None:
        """Take a client out (it left, or is dropped for `reason`); release channels nobody wants."""
        if client.closed.done():
            return
        client.closed.set_result(reason or "left")
        self._clients.discard(client)
        for name in client.channels:
            channel = self._channels.get(name)
            if channel is None:
                continue
            channel.clients.discard(client)
            if not channel.clients:
                del self._channels[name]
                if channel.task is not None:
                    channel.task.cancel()  # leaves the bus subscription: the last local client is gone
        if client.inflight is not None:
            client.inflight.cancel()
        client.buffer.clear()
        client.pending.clear()
        if reason is not None:
            log.info("live client dropped", reason=reason)


# --- ASGI ------------------------------------------------------------------------------------------------

RAW_SEND = "loa.live.send"


class LiveSendMiddleware:
    """Pure ASGI, outermost: lends live streams the server's own `send`, so the fan-out loop skips the
    send wrappers of the layers below (they still see the response start, so status and timing are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def install_live(app: Starlette) -> None:
    app.add_middleware(LiveSendMiddleware)



class EventStream(Response):
    """A `text/event-stream` response served by the hub (no body iterator, no queue)."""

    media_type = "text/event-stream"

    def __init__(self, hub: LiveHub, channels: Sequence[str], cursor: dict[str, int] | None = None) -> None:
        self.hub = hub
        self.channels = list(channels)
        self.cursor = cursor or {}
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),  # nginx: pass frames through at once
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        await self.hub.serve(scope.get(RAW_SEND, send), receive, self.channels, self.cursor)
