"""The group-commit writer's guards and posted items, on the real database: a guard's check runs once for the
items of a batch, in the batch's transaction (what it writes commits with the items), and refuses the items it
answers with an error without storing them; a posted item is stored without its sender waiting, at the latest
when the writer closes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.domains.people.models import SentMessage
from loa.kit.errors import AppError, Conflict, Invalid
from loa.kit.groupcommit import Batch, GroupCommitWriter, Guard
from loa.runtime import Runtime

MESSAGES = SentMessage.__table__


def _store(session: Session, bodies: list[str]) -> Batch[str]:
    session.execute(insert(MESSAGES), [{"channel": "sms", "recipient": "item", "body": body, "created_at": utcnow()}
                                       for body in bodies])
    return Batch(list(bodies))


async def _bodies(runtime: Runtime, recipient: str) -> list[str]:
    async with runtime.read_session() as session:
        return sorted(await session.scalars(select(SentMessage.body).where(SentMessage.recipient == recipient)))


async def test_a_guard_checks_a_batch_at_once_and_refuses_items_in_its_transaction(runtime: Runtime) -> None:
    calls: list[list[str]] = []

    def no_taken_names(session: Session, names: list[str]) -> list[AppError | None]:
        calls.append(list(names))
        session.execute(insert(MESSAGES), [{"channel": "sms", "recipient": "guard", "body": name,
                                            "created_at": utcnow()} for name in names])
        return [Conflict("taken", code="taken") if name == "taken" else None for name in names]

    writer: GroupCommitWriter[str, str] = GroupCommitWriter(runtime, _store, name="probe")
    try:
        outcomes = await asyncio.gather(
            writer.submit("first", guard=Guard(no_taken_names, "one")),
            writer.submit("second", guard=Guard(no_taken_names, "taken")),
            writer.submit("third"),
            writer.submit("fourth", guard=Guard(no_taken_names, "four")),
            return_exceptions=True)
    finally:
        await writer.close()

    assert outcomes[0] == "first" and outcomes[2] == "third" and outcomes[3] == "fourth"
    assert isinstance(outcomes[1], Conflict) and outcomes[1].code == "taken"
    assert calls == [["one", "taken", "four"]]  # one check for the whole batch
    assert await _bodies(runtime, "item") == ["first", "fourth", "third"]  # the refused item is not stored
    assert await _bodies(runtime, "guard") == ["four", "one", "taken"]  # the check's writes committed


async def test_a_guard_that_fails_takes_its_batch_down_with_nothing_written(runtime: Runtime) -> None:
    def broken(session: Session, subjects: list[Any]) -> list[AppError | None]:
        session.execute(insert(MESSAGES), [{"channel": "sms", "recipient": "guard", "body": "x",
                                            "created_at": utcnow()}])
        raise RuntimeError("the check broke")

    writer: GroupCommitWriter[str, str] = GroupCommitWriter(runtime, _store, name="probe")
    try:
        with pytest.raises(RuntimeError):
            await writer.submit("first", guard=Guard(broken, None))
    finally:
        await writer.close()
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(SentMessage)) == 0


async def test_a_posted_item_is_stored_without_its_sender_waiting(runtime: Runtime) -> None:
    writer: GroupCommitWriter[str, str] = GroupCommitWriter(runtime, _store, name="probe")
    stored = writer.post("posted")
    assert not stored.done()  # the sender goes on; the batch runs later
    await writer.close()
    assert stored.result() == "posted"  # stores what is queued first
    assert await _bodies(runtime, "item") == ["posted"]


async def test_a_guard_settles_its_items_with_their_outcomes_in_their_batch(runtime: Runtime) -> None:
    settled: list[list[tuple[str, str]]] = []

    def no_taken_names(session: Session, names: list[str]) -> list[AppError | None]:
        return [Conflict("taken", code="taken") if name == "taken" else None for name in names]

    def keep_outcomes(session: Session, answered: list[tuple[str, Any]]) -> None:
        shown = [(name, outcome.code if isinstance(outcome, AppError) else outcome) for name, outcome in answered]
        settled.append(shown)
        session.execute(insert(MESSAGES), [{"channel": "sms", "recipient": "settle", "body": f"{name}={outcome}",
                                            "created_at": utcnow()} for name, outcome in shown])

    def store_all_but_bad(session: Session, bodies: list[str]) -> Batch[str]:
        good = [body for body in bodies if body != "bad"]
        _store(session, good)
        return Batch([Invalid("bad", code="bad") if body == "bad" else body.upper() for body in bodies])

    def guarded(name: str) -> Guard:
        return Guard(no_taken_names, name, settle=keep_outcomes)

    writer: GroupCommitWriter[str, str] = GroupCommitWriter(runtime, store_all_but_bad, name="probe")
    try:
        outcomes = await asyncio.gather(
            writer.submit("first", guard=guarded("one")), writer.submit("second", guard=guarded("taken")),
            writer.submit("third"), writer.submit("bad", guard=guarded("four")), return_exceptions=True)
    finally:
        await writer.close()

    assert outcomes[0] == "FIRST" and outcomes[2] == "THIRD"
    assert isinstance(outcomes[1], Conflict) and isinstance(outcomes[3], Invalid)
    # Once for the batch, for the items the check let through: each with its result, or the store's refusal.
    assert settled == [[("one", "FIRST"), ("four", "bad")]]
    assert await _bodies(runtime, "settle") == ["four=bad", "one=FIRST"]  # committed with the batch
    assert await _bodies(runtime, "item") == ["first", "third"]


async def test_a_batch_whose_connection_the_server_cut_is_stored_on_a_new_one(postgresql_runtime: Runtime) -> None:
    """PostgreSQL's writer keeps its connection; SQLite's is a file handle in the writer's thread, which no
    server can cut."""
    runtime = postgresql_runtime
    writer: GroupCommitWriter[str, str] = GroupCommitWriter(runtime, _store, name="probe")
    try:
        assert await writer.submit("before") == "before"
        async with runtime.session() as session:  # what a server restart does to every connection
            await session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert await writer.submit("after") == "after"
    finally:
        await writer.close()
    assert await _bodies(runtime, "item") == ["after", "before"]
