"""The parts one process runs with, built from settings by the factories below.

Only these factories look at the configuration to choose SQLite or PostgreSQL, memory or Redis;
every other module receives the parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from loa.db.engine import create_engine, create_sessionmaker, is_sqlite, read_only
from loa.kit.events import EventBus, MemoryEventBus
from loa.kit.jobs import JobQueue, MemoryJobQueue
from loa.settings import Settings


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database_url = settings.resolved_database_url
        self.engine: AsyncEngine = create_engine(self.database_url)
        self.is_sqlite = is_sqlite(self.database_url)
        self._sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(
            self.engine, info={"runtime": self}
        )
        self._read_sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(
            read_only(self.engine), info={"runtime": self}
        )
        self.bus: EventBus = build_event_bus(settings)
        self.jobs: JobQueue = build_job_queue(settings, self)

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
        await self.bus.start()
        await self.jobs.start()

    async def close(self) -> None:
        await self.jobs.close()
        await self.bus.close()
        await self.engine.dispose()


def build_event_bus(settings: Settings) -> EventBus:
    return MemoryEventBus()


def build_job_queue(settings: Settings, runtime: Runtime) -> JobQueue:
    return MemoryJobQueue(runtime)
