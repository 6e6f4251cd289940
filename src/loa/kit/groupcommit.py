"""Group commit: many senders, one writer, one transaction per batch.

A transaction per item would hold the database to a small fraction of its own insert rate (the ORM, the
round trips, SQLite's single writer). Senders hand their item to this process's writer and wait; the
writer takes everything that queued while the previous batch was committing and stores it in one
transaction with a plain synchronous function (`store(session, items) -> Batch`), answers each sender
once the batch has committed, and publishes the batch's events in order while the next batch is written.

On SQLite the function runs in a thread of its own with its own connection (a batch is one call into the
thread; through aiosqlite each statement would be a round trip between threads); on PostgreSQL through
`run_sync` on a connection the writer keeps (`_KeptConnection`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction
from sqlalchemy.orm import Session, sessionmaker

from loa.db.engine import create_sync_sqlite_engine
from loa.kit.errors import AppError

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 1000


@dataclass
class Batch(Generic[Result]):
    """What a batch stored: one result or refusal per item, in order, and the events to publish after the
    commit, in order."""

    results: Sequence[Result | AppError]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


BatchHook = Callable[[Session, list[tuple[str, dict[str, Any]]]], None]


@dataclass(frozen=True)
class Guard:
    """A check run in the batch's transaction before its item is stored: `check(session, subjects)` once for the
    subjects of every guard of the batch with that check (one statement for all, not one per item), answering
    None (the item goes through) or an error (the item is not stored; its sender gets the error) for each.
    Whatever the check wrote commits with the batch.

    `settle(session, [(subject, outcome)])`, if given, runs once the batch's items are stored, in the same
    transaction, for the subjects the check let through, with each item's outcome: its result, or the error the
    store refused it with (an idempotency key's answer, written with the item it answers for)."""

    check: Callable[[Session, list[Any]], list[AppError | None]]
    subject: Any
    settle: Callable[[Session, list[tuple[Any, Any]]], None] | None = None


Entry = tuple[Item, "asyncio.Future[Result]", Guard | None]
_HOOKS: dict[str, list[BatchHook]] = {}


def register_batch_hook(writer: str, hook: BatchHook) -> None:
    """`hook(session, events)` runs inside every batch of the writer named `writer` ("message", "report"),
    in the batch's transaction, with the events the batch will publish: another domain's rows written there
    (a webhook outbox) commit or roll back with the batch."""
    hooks = _HOOKS.setdefault(writer, [])
    if hook not in hooks:
        hooks.append(hook)


class WriterClosed(AppError):
    status_code = 503
    code = "unavailable"


class GroupCommitWriter(Generic[Item, Result]):
    """One per runtime and kind of item (`runtime.part`)."""

    def __init__(self, runtime: Runtime, store: Callable[[Session, list[Item]], Batch[Result]], *, name: str,
                 max_batch: int = MAX_BATCH) -> None:
        self.runtime = runtime
        self.store = store
        self.name = name
        self.max_batch = max_batch
        self._queue: list[Entry[Item, Result]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._sqlite = _SqliteThread(runtime.database_url, name) if runtime.is_sqlite else None
        self._postgresql = None if runtime.is_sqlite else _KeptConnection(runtime.engine)
        self._to_publish: asyncio.Queue[list[tuple[str, dict[str, Any]]]] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None

    async def submit(self, item: Item, *, guard: Guard | None = None) -> Result:
        """Store one item; returns once its batch has committed (raises the error that refused it). A `guard`
        runs first in the same transaction (another domain's check that must commit with the item, or not at
        all: an idempotency key's claim) and may refuse it."""
        return await self._enqueue(item, guard)

    def post(self, item: Item) -> asyncio.Future[Result]:
        """Store one item with the next batch, without waiting for it (what no caller needs to see committed
        before it answers); a failure is logged. Closing the writer stores what is queued first. The future is
        there to watch (a callback once stored), not to await."""
        future = self._enqueue(item, None)
        future.add_done_callback(self._posted)
        return future

    def _posted(self, future: asyncio.Future[Result]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.warning("posted item not stored", writer=self.name, exc_info=future.exception())

    def _enqueue(self, item: Item, guard: Guard | None) -> asyncio.Future[Result]:
        if self._closed:
            raise WriterClosed("Máy chủ đang dừng, vui lòng gửi lại / The server is stopping, please send again")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"loa-{self.name}-writer")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future, guard))
        self._wake.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                await self._store(batch)
            if self._closed:
                return

    async def _store(self, batch: list[Entry[Item, Result]]) -> None:
        try:
            result = await self._commit(batch)
        except IntegrityError:
            # Something in the batch broke a constraint (a row deleted meanwhile): store each alone, so that
            # one item cannot take the others down with it.
            for entry in batch:
                await self._store_alone(entry)
            return
        except Exception as exc:
            log.exception("batch failed", writer=self.name, size=len(batch))
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        await self._answer(batch, result)

    async def _store_alone(self, entry: Entry[Item, Result]) -> None:
        future = entry[1]
        try:
            result = await self._commit([entry])
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        await self._answer([entry], result)

    def _store_hooked(self, session: Session, batch: list[Entry[Item, Result]]) -> Batch[Result]:
        refused: dict[int, AppError] = {}
        guarded: dict[Callable[..., Any], list[tuple[int, Any]]] = {}
        for index, (_, _, guard) in enumerate(batch):
            if guard is not None:
                guarded.setdefault(guard.check, []).append((index, guard.subject))
        for check, subjects in guarded.items():
            outcomes = check(session, [subject for _, subject in subjects])
            refused.update((index, refusal) for (index, _), refusal in zip(subjects, outcomes, strict=True)
                           if refusal is not None)
        items = [item for index, (item, _, _) in enumerate(batch) if index not in refused]
        stored = self.store(session, items) if items else Batch([])
        results = iter(stored.results)
        outcomes = [refused[index] if index in refused else next(results) for index in range(len(batch))]
        settled: dict[Callable[..., Any], list[tuple[Any, Any]]] = {}
        for index, (_, _, guard) in enumerate(batch):
            if guard is not None and guard.settle is not None and index not in refused:
                settled.setdefault(guard.settle, []).append((guard.subject, outcomes[index]))
        for settle, answered in settled.items():
            settle(session, answered)
        for hook in _HOOKS.get(self.name, ()):
            hook(session, stored.events)
        return Batch(outcomes, stored.events)

    async def _commit(self, batch: list[Entry[Item, Result]]) -> Batch[Result]:
        if self._sqlite is not None:
            sqlite = self._sqlite
            async with self.runtime.writing():
                return await asyncio.get_running_loop().run_in_executor(sqlite.thread, sqlite.commit,
                                                                        self._store_hooked, batch)
        assert self._postgresql is not None
        return await self._postgresql.commit(self._store_hooked, batch)

    async def _answer(self, batch: list[Entry[Item, Result]], result: Batch[Result]) -> None:
        for (_, future, _), outcome in zip(batch, result.results, strict=True):
            if future.done():
                continue  # the sender went away; the item is stored all the same
            if isinstance(outcome, AppError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        # Published by a task of its own, in batch order, while the next batch is being written.
        if result.events:
            if self._publisher is None:
                self._publisher = asyncio.create_task(self._publish(), name=f"loa-{self.name}-events")
            self._to_publish.put_nowait(result.events)

    async def _publish(self) -> None:
        bus = self.runtime.bus
        while True:
            events = await self._to_publish.get()
            for channel, payload in events:
                try:
                    await bus.publish(channel, payload)
                except Exception:  # stored is what counts: live pages catch up by replay
                    log.warning("event not published", writer=self.name, channel=channel, exc_info=True)
            self._to_publish.task_done()

    async def close(self) -> None:
        """Store what is queued, then stop."""
        self._closed = True
        if self._task is not None:
            self._wake.set()
            await self._task
            self._task = None
        if self._publisher is not None:
            await self._to_publish.join()
            self._publisher.cancel()
            await asyncio.gather(self._publisher, return_exceptions=True)
            self._publisher = None
        if self._sqlite is not None:
            await asyncio.to_thread(self._sqlite.close)
        if self._postgresql is not None:
            await self._postgresql.close()


class _KeptConnection:
    """A PostgreSQL writer's own connection, kept between batches as SQLite's writer thread keeps one: a batch
    takes nothing from the pool, whose checkout costs a pre-ping (three round trips) every time. A connection
    found broken (the server restarted, an idle connection cut) is replaced, and the batch that found it runs
    once more on the new one when it failed before its commit: nothing of it was stored."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    async def commit(self, store: Callable[[Session, list[Any]], Batch[Any]], items: list[Any]) -> Batch[Any]:
        retries = 1
        while True:
            if self._connection is None:
                self._connection = await self.engine.connect()
            connection = self._connection
            transaction = await connection.begin()
            try:
                result = await connection.run_sync(_in_session, store, items)
            except DBAPIError as exc:
                await self._end(transaction)
                if exc.connection_invalidated:
                    await self.close()
                    if retries:
                        retries -= 1
                        log.warning("writer connection lost; the batch runs again on a new one")
                        continue
                raise
            except BaseException:
                await self._end(transaction)
                raise
            try:
                await transaction.commit()
            except BaseException:  # not run again (the batch may be stored), and the connection not trusted
                await self.close()
                raise
            return result

    async def _end(self, transaction: AsyncTransaction) -> None:
        try:
            await transaction.rollback()
        except DBAPIError:
            await self.close()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):  # already broken: the pool discards it
                await connection.close()


def _in_session(connection: Connection, store: Callable[[Session, list[Any]], Batch[Any]],
                items: list[Any]) -> Batch[Any]:
    with Session(bind=connection) as session:  # joins the connection's transaction; never commits it
        return store(session, items)


class _SqliteThread:
    """SQLite's single writer for one kind of item: a thread with its own connection."""

    def __init__(self, database_url: str, name: str) -> None:
        self.engine = create_sync_sqlite_engine(database_url, autocheckpoint=False)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"loa-{name}-writer")

    def commit(self, store: Callable[[Session, list[Any]], Batch[Any]], items: list[Any]) -> Batch[Any]:
        with self.sessions() as session:
            result = store(session, items)
            session.commit()
            return result

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.engine.dispose()
