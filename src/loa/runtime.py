"""The parts one process runs with, built from settings by the factories below.

Only these factories look at the configuration to choose SQLite or PostgreSQL, memory or Redis;
every other module receives the parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from loa.db.engine import create_engine, create_sessionmaker, is_sqlite, read_only
from loa.kit import webpush
from loa.kit.events import EventBus, MemoryEventBus, RedisEventBus
from loa.kit.jobs import JobQueue, MemoryJobQueue, QueueNames, RedisJobQueue, import_task_modules
from loa.kit.ratelimit import RateLimiter
from loa.kit.sse import LiveHub
from loa.kit.workers import Lease, LocalLease, RedisLease, Scheduler
from loa.settings import Settings

log = structlog.get_logger(__name__)

PartT = TypeVar("PartT")


class Runtime:
    def __init__(self, settings: Settings, *, names: QueueNames | None = None) -> None:
        self.settings = settings
        self.names = names or QueueNames(prefix=settings.redis_prefix)
        self.database_url = settings.resolved_database_url
        self.engine: AsyncEngine = create_engine(self.database_url)
        self.is_sqlite = is_sqlite(self.database_url)
        self._sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(
            self.engine, info={"runtime": self}
        )
        self._read_sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(
            read_only(self.engine), info={"runtime": self}
        )
        self._redis = build_redis(settings)
        self.bus: EventBus = build_event_bus(settings, self._redis, self.names)
        self.live = LiveHub(self.bus, runtime=self)  # this process's SSE clients
        self.jobs: JobQueue = build_job_queue(settings, self)
        self.limiter: RateLimiter = build_rate_limiter(settings)
        self.scheduler = Scheduler(self, build_lease(settings, self._redis, self.names))
        self._parts: dict[str, Any] = {}

    def part(self, name: str, factory: Callable[[Runtime], PartT]) -> PartT:
        """A domain's per-process object (e.g. the message writer), made on first use; one with an async
        `close()` is closed with the runtime, before the database."""
        if name not in self._parts:
            self._parts[name] = factory(self)
        return self._parts[name]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for a unit of work that writes; commit it with `loa.kit.effects.commit`."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    async def start(self) -> None:
        import_task_modules()
        await self.bus.start()
        await self.live.start()
        await self.jobs.start()
        if self.settings.embedded_worker:
            # This process also runs jobs from the shared queue (if any) and the sweeps.
            await self.jobs.start_consumer()
            await self.scheduler.start()

    async def close(self) -> None:
        """Stop every part, in order. Shutdown never hangs: a part that does not stop within its bound (a
        Redis client can swallow a cancellation mid-command) is abandoned with a warning."""
        await _bounded("scheduler", self.scheduler.close())
        for name, part in list(self._parts.items()):
            if hasattr(part, "close"):
                await _bounded(name, part.close())
        self._parts.clear()
        await _bounded("jobs", self.jobs.close(), seconds=45)
        await _bounded("live", self.live.close())
        await _bounded("bus", self.bus.close())
        await _bounded("limiter", self.limiter.close())
        await _bounded("webpush", webpush.close())
        if self._redis is not None:
            await _bounded("redis", self._redis.aclose())
        await _bounded("engine", self.engine.dispose())


async def _bounded(part: str, stopping: Awaitable[None], seconds: float = 15.0) -> None:
    task = asyncio.ensure_future(stopping)
    # asyncio.wait, not wait_for: it does not wait again for a task that ignores its cancellation.
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("part did not stop in time; abandoned", part=part, seconds=seconds)
    elif task.exception() is not None:
        log.error("part failed while stopping", part=part, exc_info=task.exception())


def build_redis(settings: Settings) -> Redis | None:
    return Redis.from_url(settings.redis_url) if settings.redis_url else None


def build_event_bus(settings: Settings, redis: Redis | None, names: QueueNames) -> EventBus:
    if redis is None:
        return MemoryEventBus()
    return RedisEventBus(redis, channel_prefix=names.channel_prefix)


def build_job_queue(settings: Settings, runtime: Runtime) -> JobQueue:
    if settings.redis_url is None:
        return MemoryJobQueue(runtime)
    return RedisJobQueue(runtime, settings.redis_url, runtime.names)


def build_lease(settings: Settings, redis: Redis | None, names: QueueNames) -> Lease:
    if redis is None:
        return LocalLease()
    return RedisLease(redis, names.scheduler_lease)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis_url:
        return RateLimiter.redis(settings.redis_url, secret=settings.resolved_secret_key)
    return RateLimiter.memory()
