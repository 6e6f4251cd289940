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

from sqlalchemy import Column, Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes

_PG = postgresql.dialect()


def dialect_insert(session: Session | AsyncSession) -> Any:
    """`insert` of the session's dialect, for `on_conflict_do_nothing` / `on_conflict_do_update` (SQLite and
    PostgreSQL spell upserts alike)."""
    return insert_of(session.get_bind().dialect.name)


def insert_of(dialect: str) -> Any:
    """`insert` of a dialect by name (as `dialect_insert`)."""
    return sqlite_insert if dialect == "sqlite" else pg_insert


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _marks(dialect: str, count: int, start: int = 1) -> list[str]:
    return ["?"] * count if dialect == "sqlite" else [f"${n}" for n in range(start, start + count)]


def _array_type(column: Column[Any]) -> tuple[str, bool]:
    """The PostgreSQL array type a column's values travel in, and whether they are JSON sent as text."""
    if isinstance(column.type, sqltypes.JSON):
        return "TEXT[]", True
    return f"{column.type.compile(dialect=_PG)}[]", False


# From this many rows, PostgreSQL gets one statement over arrays rather than one execution per row.
ARRAYS_FROM = 32


@dataclass(frozen=True)
class RawWrite:
    """One INSERT or UPDATE of many rows, as driver SQL for each dialect. SQLite runs it per row
    (`executemany`, all in C). PostgreSQL runs a few rows the same way (asyncpg pipelines them) and many as
    one statement over one array per column (`unnest`): executing once per row costs the server more than
    the rows themselves (measured: half the time for a batch of 250 messages, a third more for a batch of 4).
    """

    sqlite: str  # per row, also PostgreSQL's for a few rows
    postgresql: str  # per row
    postgresql_arrays: str  # all rows at once

    @classmethod
    def insert(cls, table: Table, columns: Sequence[str]) -> RawWrite:
        # Table and column names are the caller's constants, never input.
        names = ", ".join(columns)
        head = f"INSERT INTO {table.name} ({names}) VALUES "  # noqa: S608
        arrays, picked = _unnest(table, columns)
        return cls(head + f"({', '.join(_marks('sqlite', len(columns)))})",
                   head + f"({', '.join(_marks('postgresql', len(columns)))})",
                   f"INSERT INTO {table.name} ({names}) SELECT {picked} FROM {arrays}")  # noqa: S608

    @classmethod
    def update(cls, table: Table, columns: Sequence[str], key: str = "id") -> RawWrite:
        """`UPDATE table SET columns… WHERE key = …`: each row is the columns' values, then the key's."""

        def per_row(dialect: str) -> str:
            marks = _marks(dialect, len(columns) + 1)
            assignments = ", ".join(f"{column} = {mark}" for column, mark in zip(columns, marks, strict=False))
            return f"UPDATE {table.name} SET {assignments} WHERE {key} = {marks[-1]}"  # noqa: S608

        arrays, _ = _unnest(table, (*columns, key))
        assignments = ", ".join(f"{column} = {_picked(table, column)}" for column in columns)
        return cls(per_row("sqlite"), per_row("postgresql"),
                   f"UPDATE {table.name} SET {assignments} FROM {arrays} "  # noqa: S608
                   f"WHERE {table.name}.{key} = v.{key}")

    def executemany(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        """In the session's transaction (a synchronous session: on an async one, inside `run_sync`)."""
        if not rows:
            return
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(self.sqlite, list(rows))
        elif len(rows) < ARRAYS_FROM:
            connection.exec_driver_sql(self.postgresql, list(rows))
        else:
            columns = tuple(list(values) for values in zip(*rows, strict=True))
            connection.exec_driver_sql(self.postgresql_arrays, columns)


def _unnest(table: Table, columns: Sequence[str]) -> tuple[str, str]:
    """`unnest($1::type[], …) AS v(columns…)`, and the select list reading its columns as the table's."""
    casts = ", ".join(f"${n}::{_array_type(table.c[column])[0]}" for n, column in enumerate(columns, start=1))
    return (f"unnest({casts}) AS v({', '.join(columns)})",
            ", ".join(_picked(table, column) for column in columns))


def _picked(table: Table, column: str) -> str:
    return f"v.{column}::JSONB" if _array_type(table.c[column])[1] else f"v.{column}"


@dataclass(frozen=True)
class RawSelect:
    """`SELECT columns FROM table WHERE where_in IN (…) [ORDER BY order_by] [FOR UPDATE]`, rows as tuples of
    driver values (read them with `Values`)."""

    table: str
    columns: Sequence[str]
    where_in: str
    order_by: str | None = None
    lock: bool = False  # FOR UPDATE on PostgreSQL (SQLite's writer holds the whole database anyway)

    def fetch(self, session: Session, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not keys:
            return []
        connection = session.connection()
        dialect = connection.dialect.name
        sql = (f"SELECT {', '.join(self.columns)} FROM {self.table} "  # noqa: S608 - names are constants
               f"WHERE {self.where_in} IN ({', '.join(_marks(dialect, len(keys)))})")
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        if self.lock and dialect != "sqlite":
            sql += " FOR UPDATE"
        return [tuple(row) for row in connection.exec_driver_sql(sql, tuple(keys))]


class Values:
    """Python values in the form the session's driver stores them, as SQLAlchemy's types would bind them:
    on SQLite, UTC datetimes as naive ISO text and JSON as text; on PostgreSQL (asyncpg), aware datetimes
    and JSON text."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        # A batch stamps most rows with a few moments, and reads rows the previous batches stamped.
        self._times: dict[datetime, str] = {}
        self._read: dict[str, datetime] = {}

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
        moment = self._read.get(value)
        if moment is None:
            moment = self._read[value] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return moment

    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else json.dumps(value)


def allocate_ids(session: Session, table: str, count: int) -> list[int]:
    """`count` new ids of a table's own sequence, so that rows can be inserted with `executemany` (no
    RETURNING, which SQLite would run row by row). SQLite: the writing transaction holds the database lock,
    so the next ids are ours (the table must be AUTOINCREMENT, as every such table here is); PostgreSQL: taken
    from the id column's sequence."""
    if count == 0:
        return []
    # Table names are the caller's constants, never input.
    if session.get_bind().dialect.name == "sqlite":
        base = int(session.scalar(text(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "  # noqa: S608
            f"coalesce((SELECT max(id) FROM {table}), 0))")) or 0)
        return list(range(base + 1, base + count + 1))
    rows = session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "  # noqa: S608
                                "FROM generate_series(1, :count)"), {"count": count})
    return sorted(row[0] for row in rows)
