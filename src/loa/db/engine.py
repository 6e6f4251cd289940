"""Engines for SQLite (embedded, WAL) and PostgreSQL, and the session factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

POOL = 20


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A fixed pool: an SQLite connection costs a thread and a schema read to open, so under load
        # connections are kept and waited for rather than opened and closed per request.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=POOL, max_overflow=0)
        _configure_sqlite(engine)
        return engine
    # Kept connections for a busy process's concurrent requests: an overflow connection is closed when it is
    # given back, and opening one (TCP, authentication) per request under load cost more than the request.
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=10, pool_pre_ping=True)


def create_sync_sqlite_engine(url: str, *, pool_size: int = 1, autocheckpoint: bool = True) -> Engine:
    """A synchronous engine (pysqlite) on the same SQLite file, configured alike: for work that runs whole
    units in threads of its own (the message writer, hot reads), one call per unit instead of aiosqlite's
    round trip between threads per statement. `autocheckpoint=False` for the busiest writer, whose commits
    must not stall on a checkpoint (a running runtime checkpoints in the background)."""
    sync_url = make_url(url).set(drivername="sqlite")
    engine = sa_create_engine(sync_url, connect_args={"timeout": 30, "check_same_thread": False},
                              pool_size=pool_size, max_overflow=0)
    _configure_sqlite_engine(engine, autocheckpoint=autocheckpoint)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    _configure_sqlite_engine(engine.sync_engine)


def _configure_sqlite_engine(sync_engine: Engine, *, autocheckpoint: bool = True) -> None:
    """WAL, foreign keys, and SQLAlchemy's documented pysqlite transaction workaround.

    pysqlite's own implicit BEGIN is disabled so that a writing transaction starts with
    BEGIN IMMEDIATE: it takes the lock at the start (waiting up to busy_timeout) instead of
    failing with "database is locked" when it upgrades a read transaction midway.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not autocheckpoint:
            # No checkpoint inside this connection's commits (its fsync would stall the committer): the
            # runtime's checkpointer copies the log back in the background (`Runtime.start`).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for sessions that only read: on SQLite they begin DEFERRED so readers never queue
    behind the writer (WAL lets them read alongside it)."""
    return engine.execution_options(sqlite_begin="DEFERRED")


def create_sessionmaker(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, info=info or {})
