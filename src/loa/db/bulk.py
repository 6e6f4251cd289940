"""Bulk loading: binary COPY on PostgreSQL, chunked executemany on SQLite.

Rows stream from an iterable (a generator for tens of millions of rows): at most two chunks are held
in memory at a time. The load runs inside the caller's SQLAlchemy transaction, so a failed load
leaves nothing behind and the caller decides when to commit.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import Any, TextIO

from sqlalchemy import Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

ProgressCallback = Callable[[int], None]
Row = Sequence[Any] | Mapping[str, Any]

_MEMO_LIMIT = 100_000  # distinct values remembered per column (timestamps repeat a lot in seeds)


class Progress:
    """A counter on stderr for long CLI work: rewritten in place on a terminal, a line every few
    seconds otherwise. Call it with the number of rows done so far; `finish()` prints the total."""

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 every: float | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if every is not None else (0.5 if self.tty else 10.0)
        self.started = time.perf_counter()
        self._last = self.started
        self.done = 0

    def __call__(self, done: int) -> None:
        self.done = done
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self._write(self._line(now), final=False)

    def finish(self) -> None:
        self._write(self._line(time.perf_counter()), final=True)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        share = f" / {self.total:,} ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"{self.label}: {self.done:,}{share} rows, {elapsed:.1f} s, {self.done / elapsed:,.0f} rows/s"

    def _write(self, line: str, *, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


async def bulk_insert(
    session_or_connection: AsyncSession | AsyncConnection,
    table: Table,
    rows_iterable: Iterable[Row],
    *,
    columns: Sequence[str] | None = None,
    chunk: int = 50_000,
    progress: ProgressCallback | None = None,
) -> int:
    """Insert every row of `rows_iterable` into `table`; returns the number of rows.

    Rows are tuples in the order of `columns` (default: all the table's columns) or mappings (their
    keys, taken from the first row, name the columns). Values are what the ORM would accept
    (dicts for JSON, aware datetimes): each column's own type converts them. Defaults of the ORM
    are not applied: give every NOT NULL column. `progress` is called with the running count.
    """
    connection = (
        await session_or_connection.connection()
        if isinstance(session_or_connection, AsyncSession)
        else session_or_connection
    )
    # Make SQLAlchemy open its transaction before the driver is used directly, so the load is
    # part of it (asyncpg starts transactions lazily; SQLite takes its write lock at BEGIN).
    await connection.execute(text("SELECT 1"))
    rows = iter(rows_iterable)
    first = next(rows, None)
    if first is None:
        return 0
    if isinstance(first, Mapping):
        names = list(columns or first.keys())
        rows = (tuple(row[name] for name in names) for row in chain([first], rows))  # type: ignore[index]
    else:
        names = list(columns or (column.name for column in table.columns))
        rows = chain([first], rows)
    dialect = connection.dialect
    converted = _converted(rows, _processors(table, names, dialect))  # type: ignore[arg-type]
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if dialect.name == "postgresql":
        return await _copy_postgresql(driver, table, names, converted, chunk, progress)
    if dialect.name == "sqlite":
        return await _executemany_sqlite(driver, table, names, converted, chunk, progress)
    raise NotImplementedError(f"bulk_insert: no bulk path for {dialect.name}")


def _processors(table: Table, names: Sequence[str], dialect: Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
    found = []
    for index, name in enumerate(names):
        processor = table.columns[name].type._cached_bind_processor(dialect)
        if processor is not None:
            found.append((index, _memoised(processor)))
    return found


def _memoised(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            result = processor(value)
            if len(cache) < _MEMO_LIMIT:
                cache[value] = result
            return result
        except TypeError:  # unhashable (a dict for a JSON column)
            return processor(value)

    return convert


def _converted(rows: Iterator[Sequence[Any]], processors: list[tuple[int, Callable[[Any], Any]]]
               ) -> Iterator[Sequence[Any]]:
    if not processors:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for index, convert in processors:
            values[index] = convert(values[index])
        yield values


def _chunks(rows: Iterator[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    while batch := list(islice(rows, size)):
        yield batch


async def _copy_postgresql(driver: Any, table: Table, names: list[str], rows: Iterator[Sequence[Any]],
                           chunk: int, progress: ProgressCallback | None) -> int:
    """One binary COPY streamed from the generator, so the server indexes while Python encodes."""
    if not driver.is_in_transaction():
        raise RuntimeError("bulk_insert: the PostgreSQL connection is not inside a transaction")
    count = 0

    def counted() -> Iterator[Sequence[Any]]:
        nonlocal count
        for row in rows:
            yield row
            count += 1
            if progress is not None and count % chunk == 0:
                progress(count)

    await driver.copy_records_to_table(table.name, records=counted(), columns=names, schema_name=table.schema)
    if progress is not None:
        progress(count)
    return count


async def _executemany_sqlite(driver: Any, table: Table, names: list[str], rows: Iterator[Sequence[Any]],
                              chunk: int, progress: ProgressCallback | None) -> int:
    """executemany per chunk; the next chunk is built while the driver's thread writes this one."""
    quoted = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608 (names from the schema)
    count = 0
    pending: asyncio.Future[Any] | None = None
    try:
        for batch in _chunks(rows, chunk):
            if pending is not None:
                await (await pending).close()
            pending = asyncio.ensure_future(driver.executemany(sql, batch))
            count += len(batch)
            if progress is not None:
                progress(count)
        if pending is not None:
            await (await pending).close()
            pending = None
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    return count


async def reset_sequence(session: AsyncSession, table: Table, column: str = "id") -> None:
    """After rows were loaded with explicit ids, move PostgreSQL's sequence past them (SQLite
    continues from the largest rowid by itself)."""
    if (await session.connection()).dialect.name != "postgresql":
        return
    name = table.name  # from the schema, not from input
    sql = (f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "  # noqa: S608
           f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)")
    await session.execute(text(sql))
