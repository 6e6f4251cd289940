"""Dialect-level statements: upserts for both databases, and driver-level `executemany` for the few write
paths that must come near the database's own insert rate.

SQLAlchemy's per-row parameter processing costs several times what SQLite spends storing the row. A hot
path (the message writer) builds its rows as tuples of values the driver takes as they are, through
`Values`, and runs a statement compiled once per dialect. Everything else uses the ORM or Core.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


def dialect_insert(session: Session | AsyncSession) -> Any:
    """`insert` of the session's dialect, for `on_conflict_do_nothing` / `on_conflict_do_update` (SQLite and
    PostgreSQL spell upserts alike)."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _marks(dialect: str, count: int, start: int = 1) -> list[str]:
    return ["?"] * count if dialect == "sqlite" else [f"${n}" for n in range(start, start + count)]


@dataclass(frozen=True)
class RawWrite:
    """One INSERT or UPDATE, as driver SQL for each dialect."""

    sqlite: str
    postgresql: str

    @classmethod
    def insert(cls, table: str, columns: Sequence[str]) -> RawWrite:
        def sql(dialect: str) -> str:
            # Table and column names are the caller's constants, never input.
            marks = ", ".join(_marks(dialect, len(columns)))
            return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608

        return cls(sql("sqlite"), sql("postgresql"))

    @classmethod
    def update(cls, table: str, columns: Sequence[str], key: str = "id") -> RawWrite:
        """`UPDATE table SET columns… WHERE key = …`: each row is the columns' values, then the key's."""

        def sql(dialect: str) -> str:
            marks = _marks(dialect, len(columns) + 1)
            assignments = ", ".join(f"{column} = {mark}" for column, mark in zip(columns, marks, strict=False))
            return f"UPDATE {table} SET {assignments} WHERE {key} = {marks[-1]}"  # noqa: S608

        return cls(sql("sqlite"), sql("postgresql"))

    def executemany(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        """In the session's transaction (a synchronous session: on an async one, inside `run_sync`)."""
        if not rows:
            return
        connection = session.connection()
        sql = self.sqlite if connection.dialect.name == "sqlite" else self.postgresql
        connection.exec_driver_sql(sql, list(rows))


@dataclass(frozen=True)
class RawSelect:
    """`SELECT columns FROM table WHERE where_in IN (…) ORDER BY order_by [FOR UPDATE]`, rows as tuples of
    driver values (read them with `Values`)."""

    table: str
    columns: Sequence[str]
    where_in: str
    order_by: str
    lock: bool = False  # FOR UPDATE on PostgreSQL (SQLite's writer holds the whole database anyway)

    def fetch(self, session: Session, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not keys:
            return []
        connection = session.connection()
        dialect = connection.dialect.name
        sql = (f"SELECT {', '.join(self.columns)} FROM {self.table} "  # noqa: S608 - names are constants
               f"WHERE {self.where_in} IN ({', '.join(_marks(dialect, len(keys)))}) ORDER BY {self.order_by}")
        if self.lock and dialect != "sqlite":
            sql += " FOR UPDATE"
        return [tuple(row) for row in connection.exec_driver_sql(sql, tuple(keys))]


class Values:
    """Python values in the form the session's driver stores them, as SQLAlchemy's types would bind them:
    on SQLite, UTC datetimes as naive ISO text and JSON as text; on PostgreSQL (asyncpg), aware datetimes
    and JSON text."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self._times: dict[datetime, str] = {}  # a batch stamps most rows with a few moments

    def time(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
        return text

    def read_time(self, value: Any) -> datetime | None:
        """A stored UTC time as an aware datetime (SQLite gives back the text `time` wrote)."""
        if value is None or not self.sqlite:
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else json.dumps(value)
