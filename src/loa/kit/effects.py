"""Side effects that run only after the database commit: jobs to enqueue and bus events to publish.

A service stages them on its session; `commit(session)` commits, then sends them. A rollback drops
them, so no worker or live client ever hears of a change that did not happen (as Zulip's
`send_event_on_commit` and Polar's enqueue-after-commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from loa.runtime import Runtime


@dataclass
class _Pending:
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _pending(session: AsyncSession | Session) -> _Pending:
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    if not sync_session.in_transaction():
        # Tie the effects to a transaction, so that its rollback drops them even before any SQL ran.
        sync_session.begin()
    info = session.info
    if "pending_effects" not in info:
        info["pending_effects"] = _Pending()
    return info["pending_effects"]


def enqueue_after_commit(session: AsyncSession, job_name: str, **kwargs: Any) -> None:
    _pending(session).jobs.append((job_name, kwargs))


def publish_after_commit(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    _pending(session).events.append((channel, payload))


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction: Any) -> None:
    # Soft rollback fires even when no SQL ran yet (no database transaction to roll back); only the
    # outermost transaction's rollback drops the staged effects, not a savepoint's.
    if previous_transaction.parent is None:
        session.info.pop("pending_effects", None)


def runtime_of(session: AsyncSession) -> Runtime:
    return session.info["runtime"]


async def commit(session: AsyncSession) -> None:
    """Commit, then publish the staged events and enqueue the staged jobs, in the order staged."""
    await session.commit()
    pending: _Pending | None = session.info.pop("pending_effects", None)
    if pending is None:
        return
    runtime = runtime_of(session)
    for channel, payload in pending.events:
        await runtime.bus.publish(channel, payload)
    for job_name, kwargs in pending.jobs:
        await runtime.jobs.enqueue(job_name, **kwargs)
