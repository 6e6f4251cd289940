"""Background jobs: a registry of named async handlers and the queue that runs them.

A job carries only ids and is idempotent; work that must not be lost is a database row that a
periodic sweep re-kicks, so the broker is never the only copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

JobHandler = Callable[..., Awaitable[None]]
JOBS: dict[str, JobHandler] = {}


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register `handler(runtime, **kwargs)` under `name`."""

    def register(handler: JobHandler) -> JobHandler:
        if name in JOBS and JOBS[name] is not handler:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = handler
        return handler

    return register


class JobQueue(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def enqueue(self, name: str, **kwargs: Any) -> None: ...


class MemoryJobQueue:
    """In-process: each job runs as an asyncio task of this process."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.drain()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        task = asyncio.create_task(self._run(name, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, kwargs: dict[str, Any]) -> None:
        try:
            await JOBS[name](self._runtime, **kwargs)
        except Exception:
            log.exception("job failed", job=name, kwargs=kwargs)
