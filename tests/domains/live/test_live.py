"""Live events over SSE from a real server: after-commit delivery, channels of a person, reconnect with
Last-Event-ID, and (on Redis) one event reaching the clients of two separate processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.factories import add_staff, make_account, make_user
from tests.servers import free_port

from loa.app import create_app
from loa.domains.follows import service as follows
from loa.domains.people import service as people
from loa.kit.auth import session_cookie_name
from loa.kit.effects import commit, publish_after_commit
from loa.kit.sse import LiveEvent
from loa.runtime import Runtime
from loa.settings import Settings


class Server:
    """A real uvicorn serving our app in a thread, with a way to run code on its event loop."""

    def __init__(self, app: FastAPI, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.url, self.loop = app, url, loop

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    async def call(self, coro: Any) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """As a domain service does: staged on a session, published by the server's runtime after commit."""

        async def publish() -> None:
            async with self.runtime.session() as session:
                publish_after_commit(session, channel, payload)
                await commit(session)

        await self.call(publish())


@contextmanager
def serving(settings: Settings) -> Iterator[Server]:
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url)
    try:
        yield Server(app, url, loop)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _wait_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


class Stream:
    """An SSE client reading frames one by one."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.replayed: list[dict[str, Any]] = []  # the frames before `ready`
        self.ready: dict[str, Any] = {}

    async def open(self) -> None:
        while (frame := await self._read()).get("event") != "ready":
            self.replayed.append(frame)
        self.ready = frame

    async def frame(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        if self.replayed:
            return self.replayed.pop(0)
        return await self._read(timeout)

    async def _read(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        frame: dict[str, Any] = {}
        async with asyncio.timeout(timeout):
            while True:
                line = await anext(self._lines)
                if line == "":
                    if "event" in frame:
                        return frame
                    frame = {}  # a heartbeat comment
                    continue
                field, _, value = line.partition(": ")
                if field == "data":
                    frame["data"] = json.loads(value)
                elif not line.startswith(":"):
                    frame[field] = value

    async def events(self, count: int) -> list[dict[str, Any]]:
        return [await self.frame() for _ in range(count)]


@asynccontextmanager
async def stream(url: str, *, cookies: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> AsyncIterator[Stream]:
    async with (httpx.AsyncClient(cookies=cookies, timeout=httpx.Timeout(10, read=None)) as client,
                client.stream("GET", url, headers={"accept": "text/event-stream", **(headers or {})}) as response):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        opened = Stream(response)
        await opened.open()
        yield opened


def broadcast(n: int) -> dict[str, Any]:
    return {"id": n, "type": "broadcast.published", "title": f"Thông báo số {n}"}


async def test_my_live_stream_gets_my_channels_and_replays_what_i_missed(runtime: Runtime) -> None:
    citizen = await make_user(runtime, name="Nguyễn Văn An")
    followed = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee")
    worked_for = await make_account(runtime, name="Công an Phường Ba Đình", kind="police")
    other = await make_account(runtime, name="Sở Y tế Hà Nội")
    await add_staff(runtime, worked_for, citizen, "agent")
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=followed.id)
        token, _ = await people.start_session(session, citizen)
        await commit(session)
    cookies = {session_cookie_name(runtime.settings): token}
    table: list[LiveEvent] = []  # what the domain's table holds for account:{followed}

    async def replay(channel: str, after: int | None) -> list[LiveEvent]:
        rows = [row for row in table if channel == f"account:{followed.id}" and (after is None or row[0] > after)]
        return rows[-1:] if after is None else rows

    with serving(runtime.settings) as server:
        server.runtime.live.register_replay("account", replay)
        url = f"{server.url}/api/v1/live"
        async with httpx.AsyncClient() as anonymous:
            assert (await anonymous.get(url)).status_code == 401
        async with stream(url, cookies=cookies) as live:
            assert live.ready["data"]["channels"] == [f"user:{citizen.id}", f"chat:{citizen.id}",
                                                      f"account:{followed.id}", f"staff:{worked_for.id}",
                                                      f"inbox:{worked_for.id}"]
            await server.publish(f"account:{other.id}", broadcast(99))  # not mine: never arrives
            table.append((1, "broadcast.published", broadcast(1)))
            await server.publish(f"account:{followed.id}", broadcast(1))
            await server.publish(f"user:{citizen.id}", {"id": 7, "type": "report.updated"})
            await server.publish(f"staff:{worked_for.id}", {"id": 3, "type": "message.created"})
            got = await live.events(3)
            assert [(frame["event"], frame["data"]["id"]) for frame in got] == [
                ("broadcast.published", 1), ("report.updated", 7), ("message.created", 3)]
            last_event_id = got[-1]["id"]
            assert last_event_id == f"account:{followed.id}=1,user:{citizen.id}=7,staff:{worked_for.id}=3"
        await _until(lambda: server.runtime.live.client_count == 0)
        for n in (2, 3):  # published while the citizen was away
            table.append((n, "broadcast.published", broadcast(n)))
            await server.publish(f"account:{followed.id}", broadcast(n))
        async with stream(url, cookies=cookies, headers={"Last-Event-ID": last_event_id}) as live:
            await server.publish(f"account:{followed.id}", broadcast(4))
            got = await live.events(3)
            assert [frame["data"]["id"] for frame in got] == [2, 3, 4]
            assert got[-1]["id"] == f"account:{followed.id}=4,user:{citizen.id}=7,staff:{worked_for.id}=3"
        await _until(lambda: server.runtime.live.client_count == 0)
        assert server.runtime.live.channel_names == set()


async def test_public_account_stream(runtime: Runtime) -> None:
    account = await make_account(runtime, name="Công ty Nước sạch Hà Nội", kind="water")
    with serving(runtime.settings) as server:
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(f"{server.url}/api/v1/live/accounts/123456789")).status_code == 404
        url = f"{server.url}/api/v1/live/accounts/{account.id}"
        async with stream(url) as first, stream(url + "?last_event_id=0") as second:
            await server.publish(f"account:{account.id}", broadcast(5))
            for live in (first, second):
                frame = await live.frame()
                assert (frame["id"], frame["event"], frame["data"]) == (f"account:{account.id}=5",
                                                                          "broadcast.published", broadcast(5))


async def test_the_stream_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/live", "/api/v1/live/accounts/{account_id}"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert "text/event-stream" in content


async def _until(predicate: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the server's state, polled
            await asyncio.sleep(0.02)


# --- two processes on Redis -----------------------------------------------------------------------------


@contextmanager
def web_process(settings: Settings) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "LOA_ENV": "test", "LOA_DATABASE_URL": settings.resolved_database_url,
           "LOA_REDIS_URL": settings.redis_url or "", "LOA_REDIS_PREFIX": settings.redis_prefix,
           "LOA_DATA_DIR": str(settings.data_dir), "LOA_SECRET_KEY": settings.secret_key or "",
           "LOA_SEED_DEMO": "false", "LOA_RUN_WORKER_IN_WEB": "false", "LOA_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "loa.app:create_app",
                                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_one_event_reaches_the_clients_of_two_processes(runtime: Runtime, redis_url: str | None) -> None:
    if not redis_url:
        pytest.skip("needs Redis (LOA_TEST_REDIS_URL, on the PostgreSQL run)")
    account = await make_account(runtime, name="Bộ Y tế", kind="ministry")
    with web_process(runtime.settings) as first_url, web_process(runtime.settings) as second_url:
        path = f"/api/v1/live/accounts/{account.id}"
        async with stream(first_url + path) as first, stream(second_url + path) as second:
            await runtime.bus.publish(f"account:{account.id}", broadcast(11))  # from this, a third process
            for live in (first, second):
                frame = await live.frame()
                assert frame["data"] == broadcast(11)
