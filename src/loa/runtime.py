"""The parts one process runs with, built from settings by the factories below.

Only these factories look at the configuration to choose SQLite or PostgreSQL, memory or Redis;
every other module receives the parts.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import sessionmaker

from loa.db.engine import create_engine, create_sessionmaker, create_sync_sqlite_engine, is_sqlite, read_only
from loa.kit import webpush
from loa.kit.events import EventBus, MemoryEventBus, RedisEventBus
from loa.kit.jobs import JobQueue, MemoryJobQueue, QueueNames, RedisJobQueue, import_task_modules
from loa.kit.ratelimit import RateLimiter
from loa.kit.sse import LiveHub
from loa.kit.workers import Lease, LocalLease, RedisLease, Scheduler
from loa.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings, *, names: QueueNames | None = None) -> None:
        # Every job known by name before anything can enqueue one (seeding and CLI commands never `start`).
        import_task_modules()
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
        # SQLite has one writer at a time; writers of this process that would otherwise meet in SQLite's busy
        # handler (it sleeps up to 100 ms between tries) queue here instead, in order (`writing`).
        self._write_turn = asyncio.Lock() if self.is_sqlite else None
        self._redis = build_redis(settings)
        self.bus: EventBus = build_event_bus(settings, self._redis, self.names)
        self.live = LiveHub(self.bus, runtime=self)  # this process's SSE clients
        self.jobs: JobQueue = build_job_queue(settings, self)
        self.limiter: RateLimiter = build_rate_limiter(settings)
        self.scheduler = Scheduler(self, build_lease(settings, self._redis, self.names))
        self._parts: dict[str, Any] = {}
        self._sync_reader = SyncReader(self.database_url) if self.is_sqlite else None
        self._checkpointer: asyncio.Task[None] | None = None

    def part(self, name: str, factory: Callable[[Runtime], T]) -> T:
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
    async def writing(self) -> AsyncIterator[None]:
        """Around a short write transaction that awaits no other writer inside (a group-commit batch, the Open
        API's call log): on SQLite, this process's such transactions take turns here; elsewhere nothing."""
        if self._write_turn is None:
            yield
            return
        async with self._write_turn:
            yield

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    async def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(session, *args)`, a synchronous read on a synchronous session, for reads on every request (the
        login lookup): on SQLite in a reader thread with its own connection, one call for the whole read;
        elsewhere through `run_sync` on a read session."""
        if self._sync_reader is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._sync_reader.threads, self._sync_reader.run, fn, args)
        async with self.read_session() as session:
            return await session.run_sync(fn, *args)

    async def start(self) -> None:
        if self._sync_reader is not None:
            self._checkpointer = asyncio.create_task(self._checkpoint_every_second(), name="loa-sqlite-checkpoint")
        await self.bus.start()
        await self.live.start()
        await self.jobs.start()
        if self.settings.embedded_worker:
            # This process also runs jobs from the shared queue (if any) and the sweeps.
            await self.jobs.start_consumer()
            await self.scheduler.start()

    async def _checkpoint_every_second(self) -> None:
        """SQLite's write-ahead log copied back into the database file off the request path (the message
        writer's commits do not checkpoint, see `loa.db.engine`); PASSIVE never waits for readers or writers."""
        assert self._sync_reader is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1)
            try:
                await loop.run_in_executor(self._sync_reader.threads, self._sync_reader.checkpoint)
            except Exception:
                log.warning("checkpoint failed", exc_info=True)

    async def close(self) -> None:
        """Stop every part, in order. Shutdown never hangs: a part that does not stop within its bound (a
        Redis client can swallow a cancellation mid-command) is abandoned with a warning."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
            self._checkpointer = None
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
        if self._sync_reader is not None:
            await _bounded("reader", asyncio.to_thread(self._sync_reader.close))
        await _bounded("engine", self.engine.dispose())


def freeze_startup_objects() -> None:
    """What start-up loaded (reference data, the ORM, compiled queries) lives as long as the process: moved
    out of the garbage collector's sight, a full collection takes a few ms instead of ~100 ms mid-request.
    Called once a serving process has started (web, worker, scheduler)."""
    gc.collect()
    gc.freeze()


class SyncReader:
    """Threads with synchronous read connections on the SQLite file (see `Runtime.read_sync`)."""

    def __init__(self, database_url: str, size: int = 4) -> None:
        self.engine = create_sync_sqlite_engine(database_url, pool_size=size)
        self.sessions = sessionmaker(self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)
        self.threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="loa-reader")

    def run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.sessions() as session:
            return fn(session, *args)

    def checkpoint(self) -> None:
        # On the driver's connection, outside any transaction (SQLAlchemy would begin one).
        connection = self.engine.raw_connection()
        try:
            connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        finally:
            connection.close()

    def close(self) -> None:
        self.threads.shutdown(wait=True)
        self.engine.dispose()


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
