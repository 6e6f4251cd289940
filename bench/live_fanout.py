"""One 1 KiB event to N Server-Sent-Events clients of one Uvicorn process serving our live endpoint
(`/api/v1/live/accounts/{id}`, the whole app with its middleware): the time from publishing until every
client has the whole frame, against a raw asyncio server (same event loop, same sockets, same client)
writing the same frame to N sockets in a loop. Both servers run as their own process; the clients are
raw asyncio sockets in this one. The median of several rounds is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Request, Response

from bench.common import (
    Options,
    bench_settings,
    database_name,
    free_port,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "live_fanout"
DESCRIPTION = "ms until 5,000 SSE clients of one process have a 1 KiB event vs a raw asyncio server"

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "account:1"
CONNECTING = 200  # connects in flight at once, within the servers' listen backlog


def _sizes(options: Options) -> tuple[int, int]:
    """(clients, rounds)"""
    return (500, 5) if options.quick else (5_000, 9)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 65_536 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def payload(round_number: int) -> dict[str, Any]:
    """~1 KiB of JSON whose end names the round: a client has the frame once it has that end."""
    return {"id": round_number, "type": "broadcast.published", "body": "x" * 930, "round": f"round-{round_number:06d}"}


def marker(round_number: int) -> bytes:
    return f'"round":"round-{round_number:06d}"}}\n\n'.encode()


# --- the two servers (each runs as `python -m bench.live_fanout serve-loa|serve-raw PORT`) -------------------


def serve_loa(port: int) -> None:
    import uvicorn

    from loa.app import create_app

    app = create_app()  # settings from the LOA_* environment the benchmark sets

    @app.post("/_bench/publish", include_in_schema=False)
    async def publish(request: Request, n: int) -> Response:
        await request.app.state.runtime.bus.publish(CHANNEL, payload(n))
        return Response(status_code=204)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=8192, access_log=False)


def serve_raw(port: int) -> None:
    from loa.kit.sse import event_body

    clients: set[asyncio.Transport] = set()
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    class Connection(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.data = b""

        def data_received(self, data: bytes) -> None:
            self.data += data
            if b"\r\n\r\n" not in self.data:
                return
            request_line = self.data.split(b"\r\n", 1)[0]
            if request_line.startswith(b"POST /_bench/publish?n="):
                n = int(request_line.split(b"=", 1)[1].split(b" ", 1)[0])
                frame = chunk(b"id: %s=%d\n" % (CHANNEL.encode(), n) + event_body("broadcast.published", payload(n)))
                for transport in clients:  # the frame made once, written to every socket
                    transport.write(frame)
                self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                self.transport.close()
            else:
                clients.add(self.transport)
                self.transport.write(head + chunk(b"retry: 3000\nevent: ready\ndata: {}\n\n"))
            self.data = b""

        def connection_lost(self, exc: Exception | None) -> None:
            clients.discard(self.transport)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Connection, "127.0.0.1", port, backlog=8192)
        async with server:
            await server.serve_forever()

    _run_like_uvicorn(main())


def _run_like_uvicorn(main: Any) -> None:
    try:  # the event loop Uvicorn picks ("auto"): uvloop when installed
        import uvloop

        uvloop.run(main)
    except ImportError:
        asyncio.run(main)


# --- the clients -----------------------------------------------------------------------------------------


class _Round:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.marker = b""
        self.number = 0
        self.received = 0
        self.done: asyncio.Future[float] | None = None


class _Client(asyncio.Protocol):
    def __init__(self, request: bytes, state: _Round) -> None:
        self.request = request
        self.state = state
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.tail = b""
        self.seen = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-2048:]
        if not self.ready.done():
            if b"event: ready" in self.tail:
                self.ready.set_result(None)
            return
        state = self.state
        if self.seen != state.number and state.marker in self.tail:
            self.seen = state.number
            state.received += 1
            if state.received == state.clients and state.done is not None and not state.done.done():
                state.done.set_result(time.perf_counter())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the stream was ready"))


class _Audience:
    """N raw-socket SSE clients of one server, and the rounds measured on them."""

    def __init__(self, port: int, path: str, clients: int) -> None:
        self.port, self.path, self.clients = port, path, clients
        self.state = _Round(clients)
        self.transports: list[asyncio.BaseTransport] = []
        self.triggers: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        request = f"GET {self.path} HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\naccept: text/event-stream\r\n\r\n"
        gate = asyncio.Semaphore(CONNECTING)

        async def connect_one() -> None:
            async with gate:
                transport, protocol = await loop.create_connection(
                    lambda: _Client(request.encode(), self.state), "127.0.0.1", self.port)
                self.transports.append(transport)
                await asyncio.wait_for(protocol.ready, 60)

        await asyncio.gather(*(connect_one() for _ in range(self.clients)))

    async def round(self, number: int) -> float:
        """Milliseconds from asking the server to publish until the last client has the whole frame."""
        state = self.state
        state.number, state.marker, state.received = number, marker(number), 0
        state.done = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self.triggers.append(await _trigger(self.port, number))
        finished = await asyncio.wait_for(state.done, 60)
        return (finished - started) * 1000

    async def close(self) -> None:
        for transport in self.transports:
            transport.close()
        await asyncio.wait_for(asyncio.gather(*self.triggers, return_exceptions=True), 10)


async def _trigger(port: int, number: int) -> asyncio.Task[None]:
    """Ask the server to publish round `number`; the answer is read in the background."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /_bench/publish?n={number} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n"
                 "connection: close\r\n\r\n".encode())
    return asyncio.get_running_loop().create_task(_drain(reader, writer))


async def _drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.read()
    finally:
        writer.close()


def _start(mode: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.live_fanout", mode, str(port)], cwd=ROOT,
                            env={**env, "PYTHONPATH": str(ROOT)})


async def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _alternate(env: dict[str, str], account_id: int, clients: int,
                     rounds: int) -> tuple[list[float], list[float]]:
    """Both servers up with their clients connected; rounds alternate, so the machine's noise falls on both."""
    raw_port, loa_port = free_port(), free_port()
    processes = [_start("serve-raw", raw_port, env), _start("serve-loa", loa_port, env)]
    audiences: list[_Audience] = []
    try:
        await _wait_listening(raw_port, processes[0])
        await _wait_listening(loa_port, processes[1])
        raw = _Audience(raw_port, "/raw", clients)
        ours = _Audience(loa_port, f"/api/v1/live/accounts/{account_id}", clients)
        audiences = [raw, ours]
        for audience in audiences:
            await audience.connect()
        await asyncio.sleep(1)
        raw_times, our_times = [], []
        for number in range(1, rounds + 1):
            raw_times.append(await raw.round(number))
            await asyncio.sleep(0.2)
            our_times.append(await ours.round(number))
            await asyncio.sleep(0.2)
        return our_times, raw_times
    finally:
        for audience in audiences:
            await audience.close()
        for process in processes:
            _stop(process)


async def _make_account(settings: Any) -> int:
    from loa.domains.accounts import service as accounts
    from loa.kit.effects import commit
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            account = await accounts.create_account(session, name="Bộ Y tế", kind="ministry", province_code="01")
            await commit(session)
            return account.id
    finally:
        await runtime.close()


def _frame_bytes() -> int:
    from loa.kit.sse import event_body

    return len(b"id: %s=1\n" % CHANNEL.encode() + event_body("broadcast.published", payload(1)))


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    clients, rounds = _sizes(options)
    limit = raise_fd_limit()
    if limit < 2 * clients + 200:  # this process holds the clients of both servers
        note(f"{NAME}: the open-file limit ({limit}) caps the clients")
        clients = max(100, (limit - 200) // 2)
    # The database only answers the account lookup at connect: the first target is enough.
    target = options.targets[0]
    async with scratch_database(target) as url:
        with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
            settings = bench_settings(url, Path(data_dir))
            await prepare(settings)
            account_id = await _make_account(settings)
            env = {**os.environ, "LOA_ENV": "test", "LOA_DATABASE_URL": url, "LOA_DATA_DIR": data_dir,
                   "LOA_SECRET_KEY": settings.secret_key or "", "LOA_SEED_DEMO": "false",
                   "LOA_RUN_WORKER_IN_WEB": "false", "LOA_LOG_LEVEL": "WARNING", "LOA_LOG_FORMAT": "console"}
            env.pop("LOA_REDIS_URL", None)
            assert f"account:{account_id}" == CHANNEL
            note(f"{NAME}: {clients} clients of /api/v1/live/accounts/{account_id} (uvicorn) and of a raw asyncio "
                 f"server, {rounds} alternating rounds…")
            ours, raw = await _alternate(env, account_id, clients, rounds)
    value, baseline = statistics.median(ours), statistics.median(raw)
    yield result(
        NAME,
        {"database": database_name(target), "clients": clients, "frame_bytes": _frame_bytes(), "rounds": rounds,
         "server": "uvicorn, 1 process"},
        value=value,
        unit="ms until every client has the event (median)",
        baseline=baseline,
        baseline_what="raw asyncio server (same event loop) writing the same SSE frame to the same sockets",
        better="lower",
        p50_ms=round(percentile(ours, 50), 3),
        p99_ms=round(percentile(ours, 99), 3),
        rounds_ms=[round(t, 2) for t in ours],
        baseline_rounds_ms=[round(t, 2) for t in raw],
    )


if __name__ == "__main__":
    raise_fd_limit()
    {"serve-loa": serve_loa, "serve-raw": serve_raw}[sys.argv[1]](int(sys.argv[2]))
