"""Citizen messages stored and published per second through `conversations.service.send_as_citizen`
(the group-commit writer), against the database's own rate of single-row INSERT transactions into the
messages table at the same durability settings; and the p99 of `POST .../conversation/messages` through
a real HTTP server at a fixed offered rate, against the same server's `/healthz` at the same rate.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    RAW_PG_CLIENTS,
    Options,
    bench_settings,
    database_name,
    driver_dsn,
    free_port,
    load_people,
    note,
    percentile,
    prepare,
    raw_insert_rate,
    result,
    scratch_database,
)

NAME = "message_ingest"
DESCRIPTION = ("messages/s through the conversation service (group commit) vs raw INSERT tx/s; "
               "p99 of POST send over HTTP at 200 msg/s")

ACCOUNTS = 100
CITIZENS = 2_000
CALLERS = 256  # concurrent senders, as a busy web process has requests in flight
OFFERED_PER_SECOND = 200
CONNECTIONS = 64  # keep-alive connections of the load generator
ROOT = Path(__file__).resolve().parents[1]
TEXT = "Xin chào, cho hỏi thủ tục cấp đổi giấy phép lái xe cần những giấy tờ gì? Lần {n}"


def _sizes(options: Options, sqlite: bool) -> tuple[int, int, float]:
    """(messages through the service, raw inserts, seconds of offered HTTP load)."""
    if options.quick:
        return 2_000, 2_000, 2.0
    return (60_000, 60_000, 20.0) if sqlite else (30_000, 20_000, 20.0)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                await load_people(settings, users=CITIZENS, accounts=ACCOUNTS)
                count, raw_count, seconds = _sizes(options, database == "sqlite")
                note(f"{NAME}: {database}: {count} messages through the service, {CALLERS} callers…")
                rate, latencies = await _service_rate(settings, count)
                note(f"{NAME}: {database}: {raw_count} raw insert transactions…")
                baseline = await _raw_rate(url, raw_count)
                yield result(
                    NAME, {"database": database, "path": "service", "callers": CALLERS, "messages": count},
                    value=rate, unit="messages/s", baseline=baseline,
                    baseline_what=(f"raw single-row INSERT transactions/s into messages ({_driver(database)}, "
                                   f"{_durability(database)}, {_raw_clients(database)} client(s))"),
                    better="higher",
                    p50_ms=round(percentile(latencies, 50) * 1000, 3),
                    p99_ms=round(percentile(latencies, 99) * 1000, 3),
                )
                note(f"{NAME}: {database}: POST at {OFFERED_PER_SECOND}/s for {seconds:.0f} s over HTTP…")
                post, health = await _http_latencies(settings, seconds)
                yield result(
                    NAME, {"database": database, "path": "http", "offered_per_second": OFFERED_PER_SECOND,
                           "requests": len(post.latencies), "server": "uvicorn, 1 process"},
                    value=percentile(post.latencies, 99) * 1000, unit="ms (p99 of POST send)",
                    baseline=percentile(health.latencies, 99) * 1000,
                    baseline_what=f"p99 ms of GET /healthz (one SELECT 1) at {OFFERED_PER_SECOND}/s, same server",
                    better="lower",
                    p50_ms=round(percentile(post.latencies, 50) * 1000, 3),
                    p99_ms=round(percentile(post.latencies, 99) * 1000, 3),
                    errors=post.errors, achieved_per_second=round(post.achieved, 1),
                    server_cpu_ms_per_call=post.cpu_ms_per_request(),
                    baseline_server_cpu_ms_per_call=health.cpu_ms_per_request(),
                )


def _driver(database: str) -> str:
    return "sqlite3" if database == "sqlite" else "asyncpg"


def _durability(database: str) -> str:
    return "WAL, synchronous=NORMAL" if database == "sqlite" else "synchronous_commit as configured"


def _raw_clients(database: str) -> int:
    return 1 if database == "sqlite" else RAW_PG_CLIENTS


# --- through the service ------------------------------------------------------------------------------------


async def _service_rate(settings: Any, count: int) -> tuple[float, list[float]]:
    from loa.domains.conversations import service
    from loa.domains.conversations.content import text_content
    from loa.domains.people.models import User
    from loa.runtime import Runtime, freeze_startup_objects

    runtime = Runtime(settings)
    await runtime.start()
    freeze_startup_objects()  # as every serving process does once started (loa.app, loa.kit.workers)
    try:
        citizens = [User(id=n, display_name=f"Bench {n}") for n in range(1, CITIZENS + 1)]
        work = iter(range(count))
        latencies: list[float] = []

        async def caller() -> None:
            for n in work:
                started = time.perf_counter()
                await service.send_as_citizen(runtime, citizen=citizens[n % CITIZENS], account_id=n % ACCOUNTS + 1,
                                              content=text_content(TEXT.format(n=n)))
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        elapsed = time.perf_counter() - started
    finally:
        await runtime.close()
    return count / elapsed, latencies


# --- the database's own rate --------------------------------------------------------------------------------

_COLUMNS = ("conversation_id", "account_id", "direction", "kind", "text", "text_folded", "created_at")


async def _conversation_ids(url: str) -> list[tuple[int, int]]:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(driver_dsn(url))
        try:
            return connection.execute("SELECT id, account_id FROM conversations ORDER BY id").fetchall()
        finally:
            connection.close()
    import asyncpg

    connection = await asyncpg.connect(driver_dsn(url))
    try:
        return [(row[0], row[1]) for row in await connection.fetch("SELECT id, account_id FROM conversations")]
    finally:
        await connection.close()


async def _raw_rate(url: str, count: int) -> float:
    conversations = await _conversation_ids(url)
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")

    def row(n: int, sqlite: bool) -> tuple[Any, ...]:
        conversation_id, account_id = conversations[n % len(conversations)]
        text = TEXT.format(n=n)
        return (conversation_id, account_id, "in", "text", text, text.lower(), stamp if sqlite else now)

    return await raw_insert_rate(url, "messages", _COLUMNS, row, count)


# --- over HTTP ------------------------------------------------------------------------------------------------


class _Load:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.achieved = 0.0
        self.server_cpu_seconds: float | None = None  # what the server process spent on the load (Linux)

    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_seconds is None or not self.latencies:
            return None
        return round(self.server_cpu_seconds * 1000 / len(self.latencies), 3)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _sessions(settings: Any, count: int) -> list[tuple[str, str]]:
    """(cookie token, CSRF token) of `count` signed-in citizens."""
    from loa.domains.people import service as people
    from loa.domains.people.models import User
    from loa.kit.effects import commit
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        signed_in = []
        async with runtime.session() as session:
            for user_id in range(1, count + 1):
                user = await session.get(User, user_id)
                assert user is not None
                token, login_session = await people.start_session(session, user)
                signed_in.append((token, login_session.csrf_token))
            await commit(session)
        return signed_in
    finally:
        await runtime.close()


def _environment(settings: Any) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOA_")}
    env.update({"LOA_ENV": "test", "LOA_DATABASE_URL": settings.resolved_database_url,
                "LOA_DATA_DIR": str(settings.data_dir), "LOA_SECRET_KEY": settings.resolved_secret_key,
                "LOA_SEED_DEMO": "false", "LOA_LOG_LEVEL": "WARNING", "LOA_LOG_FORMAT": "console"})
    return env


class _Connections:
    """Keep-alive HTTP/1.1 connections with just enough client to send a request and read its response:
    the load generator must cost far less than the server it measures (a general-purpose client's own
    pool bookkeeping grows with its connections and becomes the bottleneck at this rate)."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.size = size
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def close(self) -> None:
        while not self.idle.empty():
            _, writer = self.idle.get_nowait()
            writer.close()

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
        reader, writer = await self.idle.get()
        try:
            head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            writer.write(head.encode() + b"\r\n" + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            return int(status_line.split()[1])
        finally:
            self.idle.put_nowait((reader, writer))


def _start_server(settings: Any, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.message_ingest", "serve", str(port)],
                            env=_environment(settings), cwd=ROOT)


async def _http_latencies(settings: Any, seconds: float) -> tuple[_Load, _Load]:
    from loa.kit.auth import session_cookie_name

    requests = int(seconds * OFFERED_PER_SECOND)
    signed_in = await _sessions(settings, min(CITIZENS, requests))
    cookie = session_cookie_name(settings)

    async def post(connections: _Connections, n: int) -> bool:
        token, csrf = signed_in[n % len(signed_in)]
        body = json.dumps({"text": TEXT.format(n=n)}).encode()
        status = await connections.request(
            "POST", f"/api/v1/accounts/{n % ACCOUNTS + 1}/conversation/messages", body=body,
            headers={"Content-Type": "application/json", "Cookie": f"{cookie}={token}", "X-CSRF-Token": csrf})
        return status == 201

    return await offered_against_health(settings, requests, post)


async def offered_against_health(settings: Any, requests: int,
                                 post: Callable[[_Connections, int], Awaitable[bool]]) -> tuple[_Load, _Load]:
    """A server of its own; `/healthz`, then `post(connections, n)`, each offered `requests` times at
    OFFERED_PER_SECOND: (the post's load, the health check's)."""
    import httpx

    port = free_port()
    server = _start_server(settings, port)
    connections = _Connections(port, CONNECTIONS)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_healthy(client, server)
        await connections.open()

        async def health(_: int) -> bool:
            return await connections.request("GET", "/healthz", {}) == 200

        async def posted(n: int) -> bool:
            return await post(connections, n)

        # One second of each first: connections, the writer's and reader's threads, compiled statements.
        await _offer(health, OFFERED_PER_SECOND)
        health_load = await _measured(server.pid, _offer(health, requests))
        await _offer(posted, OFFERED_PER_SECOND, first=requests)
        post_load = await _measured(server.pid, _offer(posted, requests))
    finally:
        await connections.close()
        server.terminate()
        server.wait(timeout=30)
    return post_load, health_load


async def _measured(pid: int, offered: Awaitable[_Load]) -> _Load:
    before = _cpu_seconds(pid)
    load = await offered
    after = _cpu_seconds(pid)
    if before is not None and after is not None:
        load.server_cpu_seconds = after - before
    return load


async def _offer(call: Any, requests: int, *, first: int = 0) -> _Load:
    """Open loop: request n is due n / rate seconds after the start whatever the earlier ones are doing, and
    its latency counts from when it was due (time spent waiting for a free connection included). `first`:
    the number of the first request (each has its own text and citizen)."""
    load = _Load()
    started = time.perf_counter()

    async def one(index: int) -> None:
        n = first + index
        due = started + index / OFFERED_PER_SECOND
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            ok = await call(n)
        except Exception:
            ok = False
        load.latencies.append(time.perf_counter() - due)
        load.errors += 0 if ok else 1

    await asyncio.gather(*(one(n) for n in range(requests)))
    load.achieved = requests / (time.perf_counter() - started)
    return load


async def _wait_healthy(client: Any, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.returncode}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except Exception:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


def serve(port: int) -> None:
    import uvicorn

    from loa.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
