"""The idempotency keys' rows, written by one group-commit writer (`kit.groupcommit`).

Every app POST with an `Idempotency-Key` claims its key before it runs and settles it (its answer, or nothing:
forgotten) after. Two write transactions of their own per call would queue behind each other and behind the
message writer (SQLite has one writer); claims and answers of calls arriving together share one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, null, or_, select, tuple_, update
from sqlalchemy.orm import Session

from loa.db.raw import dialect_of, insert_of
from loa.domains.integrations.models import IdempotencyKey
from loa.kit.groupcommit import Batch, GroupCommitWriter

if TYPE_CHECKING:
    from loa.runtime import Runtime

IDEMPOTENCY_TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=2)  # longer than any request may run


@dataclass(frozen=True)
class Claim:
    app_id: int
    key: str
    request_hash: str
    now: datetime


@dataclass(frozen=True)
class Settle:
    """The first request's answer kept for its retries; `status` None: forgotten (a retry runs afresh)."""

    app_id: int
    key: str
    status: int | None
    body: Any = None


@dataclass(frozen=True)
class Held:
    """A key claimed before: by which request, and its answer once it has one (`status_code` None: running)."""

    request_hash: str
    status_code: int | None
    response: Any


Item = Claim | Settle


KEYS = IdempotencyKey.__table__
_ROW = tuple_(KEYS.c.app_id, KEYS.c.key)
# Built once: building a statement cost as much as running it.
_ANSWER = (update(KEYS).where(KEYS.c.app_id == bindparam("a"), KEYS.c.key == bindparam("k"))
           .values(status_code=bindparam("s"), response=bindparam("r")))
_FORGET = delete(KEYS).where(_ROW.in_(bindparam("rows", expanding=True)))
_HOLDERS = (select(KEYS.c.app_id, KEYS.c.key, KEYS.c.request_hash, KEYS.c.status_code, KEYS.c.response)
            .where(_ROW.in_(bindparam("rows", expanding=True))))


@cache
def _claim(dialect: str) -> Any:
    """Takes each free key, or one whose claim is over: older than 24 h, or a first request that never finished
    (its process died), which starts afresh. Returns the keys taken."""
    statement = insert_of(dialect)(KEYS)
    return statement.on_conflict_do_update(
        index_elements=["app_id", "key"],
        set_={"request_hash": statement.excluded.request_hash, "created_at": statement.excluded.created_at,
              "status_code": null(), "response": null()},
        where=or_(KEYS.c.created_at < bindparam("expired_before"),
                  and_(KEYS.c.status_code.is_(None), KEYS.c.created_at < bindparam("abandoned_before"))),
    ).returning(KEYS.c.app_id, KEYS.c.key)


def settle_all(session: Session, settles: list[Settle]) -> None:
    """Keeps the answers (and forgets the keys of answers `None`), in the session's transaction."""
    answered = [{"a": item.app_id, "k": item.key, "s": item.status, "r": item.body}
                for item in settles if item.status is not None]
    forgotten = [(item.app_id, item.key) for item in settles if item.status is None]
    if answered:
        session.execute(_ANSWER, answered)
    if forgotten:
        session.execute(_FORGET, {"rows": forgotten})


def claim_all(session: Session, claims: list[Claim]) -> list[Held | None]:
    """Each claim's outcome, in order: None when it took its key, else what holds the key. One statement
    when every key is free."""
    now = claims[0].now
    first_of: dict[tuple[int, str], Claim] = {}
    for item in claims:
        first_of.setdefault((item.app_id, item.key), item)
    taken = {tuple(row) for row in session.execute(_claim(dialect_of(session)), [
        {"app_id": item.app_id, "key": item.key, "request_hash": item.request_hash, "created_at": item.now,
         "expired_before": now - IDEMPOTENCY_TTL, "abandoned_before": now - ABANDONED_AFTER}
        for item in first_of.values()])}
    others = [key for key in first_of if key not in taken]
    held = {(row.app_id, row.key): Held(row.request_hash, row.status_code, row.response)
            for row in session.execute(_HOLDERS, {"rows": others})} if others else {}
    outcomes: list[Held | None] = []
    for item in claims:
        key = (item.app_id, item.key)
        if key in taken and first_of[key] is item:
            outcomes.append(None)
        else:  # held before, or by an earlier claim of this batch (still running); gone meanwhile: as running
            outcomes.append(held.get(key, Held(first_of[key].request_hash, None, None)))
    return outcomes


def store(session: Session, items: list[Item]) -> Batch[Held | None]:
    """Answers first (a retry in the same batch then replays its answer), then claims, a statement or two each."""
    settle_all(session, [item for item in items if isinstance(item, Settle)])
    claims = [item for item in items if isinstance(item, Claim)]
    outcomes = iter(claim_all(session, claims) if claims else [])
    return Batch([next(outcomes) if isinstance(item, Claim) else None for item in items])


def key_writer(runtime: Runtime) -> GroupCommitWriter[Item, Held | None]:
    return runtime.part("integrations.idempotency_keys",
                        lambda r: GroupCommitWriter(r, store, name="idempotency"))
