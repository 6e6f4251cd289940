"""The deadline sweep: reminders when a report's deadline is near, escalations when it has passed.

Everything it needs is in the report rows (`next_check_at`, `remind_at`, `reminded_at`, `due_at`,
`escalated_at`), so a restart loses nothing, and a second sweep at the same moment (another process, a
slow previous tick) never doubles a notice. The work is set-based, `BATCH` reports per transaction:

1. *claim*: one conditional `UPDATE … RETURNING` marks a batch of due reports reminded or escalated and
   moves `next_check_at` on (to `due_at` after a reminder, to nothing after an escalation). The WHERE
   clause is repeated in the UPDATE itself, so a row another sweep has just handled no longer matches
   (PostgreSQL re-checks it after the other transaction's commit; SQLite serialises writers), and
   PostgreSQL's `SKIP LOCKED` lets several sessions share a run instead of queueing behind each other;
2. *notices*: `INSERT … SELECT` of the staff notices (to the assignee for a reminder, to the account's
   owners and admins for an escalation or an unassigned report);
3. *timeline*: `INSERT … SELECT` of the internal (not public) "reminded" / "escalated" steps;
4. commit, then each account's open consoles hear one live event per batch.

On PostgreSQL the three are one statement (data-modifying CTEs); SQLite, which has no DML in a WITH,
gets the claimed ids back and runs the inserts after. Overdue stays computed from `due_at` (the staff
queue and the handling figures read it); the sweep only tells people. A report waiting for the citizen
has no `next_check_at`: the sweep never sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from loa.db.base import JsonType, UTCDateTime
from loa.domains.accounts.models import AccountMember
from loa.domains.reports.models import RUNNING_STATUSES, Report, ReportEvent, StaffNotice
from loa.domains.reports.workflow import MANAGERS
from loa.kit.effects import commit, publish_after_commit

if TYPE_CHECKING:
    from loa.runtime import Runtime

BATCH = 5_000  # reports per statement: a few hundred ms of work at most, short locks, bounded memory
# PostgreSQL: sessions sharing one run's due rows (SKIP LOCKED). The work is the database's (index and
# foreign-key upkeep), so two backends go about twice as fast on two cores; SQLite has one writer.
PARALLEL = 2
REMINDER = "reminder"  # StaffNotice.kind: the deadline is near (to the assignee)
ESCALATION = "escalation"  # the deadline has passed (to the owners and admins)


@dataclass
class SweepResult:
    reminded: int = 0  # reports whose reminder was sent by this run
    escalated: int = 0  # reports escalated by this run
    notices: int = 0  # staff notices written
    rescheduled: int = 0  # reports with a stale `next_check_at` and nothing to do, put right

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _reminder_due(now: datetime) -> ColumnElement[bool]:
    # Only while the deadline is still ahead: once it has passed, the escalation says more.
    return and_(Report.reminded_at.is_(None), Report.remind_at.is_not(None), Report.remind_at <= now,
                Report.due_at > now)


def _escalation_due(now: datetime) -> ColumnElement[bool]:
    return and_(Report.escalated_at.is_(None), Report.due_at <= now)


def _due(now: datetime) -> ColumnElement[bool]:
    """Running reports with a reminder or an escalation due (never NULL, so its negation is exact)."""
    return and_(Report.next_check_at <= now, Report.status.in_(RUNNING_STATUSES),
                or_(_escalation_due(now), _reminder_due(now)))


def _batch_of(condition: ColumnElement[bool], size: int) -> Any:
    """The ids of up to `size` reports matching `condition`, skipping rows another sweep holds (PostgreSQL;
    SQLite has one writer at a time anyway). In no order: a run takes them all, and ordering would make
    every batch read and sort every due row still left."""
    return select(Report.id).where(condition).limit(size).with_for_update(skip_locked=True).scalar_subquery()


def _claim(now: datetime, size: int) -> Any:
    """Mark up to `size` due reports as handled by this run, returning what the notices need.

    A claimed row with its deadline passed is an escalation (it matched because `escalated_at` was empty: a
    reminder needs the deadline ahead), any other a reminder, so `passed` on the new row tells which."""
    passed = Report.due_at <= now
    return (
        update(Report)
        .where(Report.id.in_(_batch_of(_due(now), size)), _due(now))
        .values(escalated_at=case((passed, now), else_=Report.escalated_at),
                # Escalated without a reminder (the sweep was late): none is sent any more.
                reminded_at=case((Report.reminded_at.is_(None), now), else_=Report.reminded_at),
                next_check_at=case((passed, null()), else_=Report.due_at))
        .returning(Report.id, Report.account_id, Report.assigned_to, Report.code, Report.status,
                   passed.label("passed"))
    )


def _notice_text(claimed: Any) -> ColumnElement[str]:
    code = claimed.c.code
    return case(
        (claimed.c.passed, literal("Phản ánh ", String) + code + " đã quá hạn xử lý / Report " + code + " is overdue"),
        else_=literal("Phản ánh ", String) + code + " sắp đến hạn xử lý / Report " + code + " is due soon")


NOTICE_COLUMNS = ["account_id", "user_id", "kind", "report_id", "text", "created_at"]  # unread: no read_at
EVENT_COLUMNS = ["report_id", "account_id", "type", "from_status", "to_status", "actor", "actor_id", "note", "public",
                 "data", "created_at"]


def _notice_rows(claimed: Any, now: datetime) -> Any:
    """The claimed reports' notices: a reminder to the assignee while they are still on the account (else
    to the owners and admins); an escalation to the owners and admins."""
    member = aliased(AccountMember)
    assignee_on_account = exists().where(member.account_id == claimed.c.account_id,
                                         member.user_id == claimed.c.assigned_to)
    recipient = or_(
        and_(~claimed.c.passed, AccountMember.user_id == claimed.c.assigned_to),
        and_(AccountMember.role.in_(MANAGERS),
             or_(claimed.c.passed, claimed.c.assigned_to.is_(None), ~assignee_on_account)))
    return (
        select(claimed.c.account_id, AccountMember.user_id, case((claimed.c.passed, ESCALATION), else_=REMINDER),
               claimed.c.id, _notice_text(claimed), literal(now, UTCDateTime))
        .join_from(claimed, AccountMember, AccountMember.account_id == claimed.c.account_id)
        .where(recipient)
    )


def _event_rows(claimed: Any, now: datetime) -> Any:
    """Each claimed report's internal timeline step (staff see it; the citizen does not)."""
    return select(
        claimed.c.id, claimed.c.account_id, case((claimed.c.passed, "escalated"), else_="reminded"),
        claimed.c.status, claimed.c.status, literal("system", String), null(), literal("", String),
        literal(False, Boolean), literal({}, JsonType), literal(now, UTCDateTime))


async def _sweep_batch(session: AsyncSession, now: datetime, size: int) -> tuple[list[tuple[int, bool]], int]:
    """One batch, in the session's transaction: ((account id, escalated?) per claimed report, notices)."""
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the claim feeds both inserts (data-modifying CTEs), no ids back and forth.
        # JIT compiling costs tens of ms per statement here and saves nothing on a few thousand rows.
        await session.execute(text("SET LOCAL jit = off"))
        claimed = _claim(now, size).cte("claimed")
        notices = insert(StaffNotice).from_select(NOTICE_COLUMNS, _notice_rows(claimed, now)) \
            .returning(StaffNotice.id).cte("notices")
        events = insert(ReportEvent).from_select(EVENT_COLUMNS, _event_rows(claimed, now)).cte("events")
        rows = (await session.execute(
            select(claimed.c.account_id, claimed.c.passed, select(func.count()).select_from(notices)
                   .scalar_subquery()).add_cte(events))).all()
        return [(account_id, bool(passed)) for account_id, passed, _ in rows], int(rows[0][2]) if rows else 0
    # SQLite: no DML in a WITH; the claimed rows come back and the inserts read them by id.
    returned = (await session.execute(_claim(now, size).execution_options(synchronize_session=False))).all()
    if not returned:
        return [], 0
    again = (select(Report.id, Report.account_id, Report.assigned_to, Report.code, Report.status,
                    (Report.due_at <= now).label("passed"))
             .where(Report.id.in_([row.id for row in returned])).subquery("claimed"))
    result = await session.execute(insert(StaffNotice).from_select(NOTICE_COLUMNS, _notice_rows(again, now)))
    await session.execute(insert(ReportEvent).from_select(EVENT_COLUMNS, _event_rows(again, now)))
    return [(row.account_id, bool(row.passed)) for row in returned], max(result.rowcount or 0, 0)


async def _reschedule_stale(session: AsyncSession, now: datetime, size: int) -> int:
    """Reports whose `next_check_at` has passed with nothing to do (finished, escalated, already reminded):
    their next check put where it belongs, so the sweep does not read them again every minute."""
    stale = and_(Report.next_check_at <= now, ~_due(now))
    statement = (
        update(Report)
        .where(Report.id.in_(_batch_of(stale, size)), stale)
        .values(next_check_at=case(
            (or_(Report.status.not_in(RUNNING_STATUSES), Report.escalated_at.is_not(None)), null()),
            (and_(Report.reminded_at.is_(None), Report.remind_at > now, Report.remind_at < Report.due_at),
             Report.remind_at),
            (Report.due_at > now, Report.due_at),
            else_=null()))
        .execution_options(synchronize_session=False)
    )
    return max((await session.execute(statement)).rowcount or 0, 0)


async def run(session: AsyncSession, now: datetime, *, batch: int = BATCH) -> SweepResult:
    """Send every reminder and escalation due at `now`; each batch is its own transaction (committed here),
    so an interrupted run keeps what it did and the next run does the rest."""
    done = SweepResult()
    while True:
        claimed, notices = await _sweep_batch(session, now, batch)
        escalated = sum(1 for _, passed in claimed if passed)
        done.escalated += escalated
        done.reminded += len(claimed) - escalated
        done.notices += notices
        _announce(session, claimed)
        await commit(session)
        if len(claimed) < batch:
            break
    while True:
        fixed = await _reschedule_stale(session, now, batch)
        await commit(session)
        done.rescheduled += fixed
        if fixed < batch:
            break
    return done


async def run_all(runtime: Runtime, now: datetime, *, parallel: int = PARALLEL, batch: int = BATCH) -> SweepResult:
    """The scheduled sweep: `run` in `parallel` sessions at once on PostgreSQL (each claims rows the others
    have not locked), in one on SQLite. A failure stops the others; what they committed stays."""
    async def one() -> SweepResult:
        async with runtime.session() as session:
            return await run(session, now, batch=batch)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one()) for _ in range(1 if runtime.is_sqlite else max(1, parallel))]
    total = SweepResult()
    for task in tasks:
        total += task.result()
    return total


def _announce(session: AsyncSession, claimed: Sequence[tuple[int, bool]]) -> None:
    """One live event per account and batch (not per report): its consoles refresh their notices and queue."""
    per_account: dict[int, list[int]] = {}
    for account_id, passed in claimed:
        counts = per_account.setdefault(account_id, [0, 0])
        counts[passed] += 1
    for account_id, (reminded, escalated) in per_account.items():
        publish_after_commit(session, f"staff:{account_id}", {"type": "report.deadlines", "reminded": reminded,
                                                              "escalated": escalated})


async def anything_due(session: AsyncSession, now: datetime) -> bool:
    """Whether a run would have work: a cheap read first, so an idle sweep takes no write lock (SQLite)."""
    found = await session.scalar(select(Report.id).where(Report.next_check_at <= now).limit(1))
    return found is not None
