"""Real servers for live (SSE) tests: uvicorn in a thread of this process or as separate processes, and an
SSE client that reads frames one by one."""

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
import uvicorn
from fastapi import FastAPI
from tests.servers import free_port

from loa.app import create_app
from loa.kit.effects import commit, publish_after_commit
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
    deadline = time.monotonic() + 90  # a loaded machine starts a server slowly; a broken one never
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


async def until(predicate: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the server's state, polled
            await asyncio.sleep(0.02)


@contextmanager
def web_process(settings: Settings, redis_url: str) -> Iterator[str]:
    """`./loa web` as a process of its own, on the test's database and the given Redis."""
    port = free_port()
    env = {**os.environ, "LOA_ENV": "test", "LOA_DATABASE_URL": settings.resolved_database_url,
           "LOA_REDIS_URL": redis_url, "LOA_REDIS_PREFIX": settings.redis_prefix,
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
