"""The deadline sweep: reminders when a report's deadline is near, escalations when it has passed.

Everything it needs is in the database (each report's `report_checks` row: `check_at`, `reminded_at`,
`escalated_at`; the report's `remind_at` and `due_at`), so a restart loses nothing, and a second sweep at
the same moment (another process, a slow previous tick) never doubles a notice. The work is set-based,
`BATCH` reports per transaction:

1. *claim*: one conditional `UPDATE report_checks … FROM reports … RETURNING` marks a batch of due
   reports reminded or escalated and moves `check_at` on (to `due_at` after a reminder, to nothing after
   an escalation). The WHERE clause is repeated in the UPDATE itself, so a row another sweep has just
   handled no longer matches (PostgreSQL re-checks it after the other transaction's commit; SQLite
   serialises writers), and PostgreSQL's `SKIP LOCKED` lets several sessions share a run instead of
   queueing behind each other. The report rows are only read: the sweep writes the narrow check rows;
2. *notices*: `INSERT … SELECT` of the staff notices (to the assignee for a reminder, to the account's
   owners and admins for an escalation or an unassigned report);
3. commit, then each account's open consoles hear one live event per batch.

On PostgreSQL the two are one statement (a data-modifying CTE); SQLite, which has no DML in a WITH, gets
the claimed ids back and runs the insert after. Overdue stays computed from `due_at` (the staff queue and
the handling figures read it); the sweep only tells people. A report waiting for the citizen has no
`check_at`: the sweep never sees it. Staff see when the current deadline's reminder and escalation went
out on the report itself (`reminded_at`, `escalated_at`) and in their notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
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

from loa.db.base import UTCDateTime
from loa.domains.accounts.models import AccountMember
from loa.domains.reports.models import RUNNING_STATUSES, Report, ReportCheck, StaffNotice
from loa.domains.reports.workflow import MANAGERS
from loa.kit.effects import commit, publish_after_commit

if TYPE_CHECKING:
    from loa.runtime import Runtime

BATCH = 20_000  # reports per statement: well under a second of work, short locks, bounded memory
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
    rescheduled: int = 0  # reports with a stale `check_at` and nothing to do, put right

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _batch(now: datetime, size: int) -> Any:
    """Up to `size` checks whose moment has come, locked for this run and skipping those another sweep (or a
    staff action on the report) holds (PostgreSQL; SQLite has one writer at a time anyway). Read from the
    narrow table's index alone: the reports are joined to these rows only, by primary key. In no order: a
    run takes them all, and ordering would make every batch read and sort every due row still left."""
    return (select(ReportCheck.report_id, ReportCheck.reminded_at, ReportCheck.escalated_at)
            .where(ReportCheck.check_at <= now).limit(size).with_for_update(skip_locked=True))


def _judged(batch: Any, now: datetime) -> Any:
    """Each check of the batch with its report and what is due: an escalation (the deadline has passed and
    nobody was told), a reminder (near the deadline, not yet reminded, the deadline still ahead: after it,
    the escalation says more), or neither (a stale check: its next moment, put right)."""
    running = Report.status.in_(RUNNING_STATUSES)
    escalate = and_(running, batch.c.escalated_at.is_(None), Report.due_at <= now)
    remind = and_(running, batch.c.reminded_at.is_(None), Report.remind_at.is_not(None), Report.remind_at <= now,
                  Report.due_at > now)
    next_check = case(
        (escalate, null()),
        (remind, Report.due_at),
        (or_(~running, batch.c.escalated_at.is_not(None)), null()),
        (and_(batch.c.reminded_at.is_(None), Report.remind_at > now, Report.remind_at < Report.due_at),
         Report.remind_at),
        (Report.due_at > now, Report.due_at),
        else_=null())
    return (select(batch.c.report_id, Report.account_id, Report.assigned_to, Report.code,
                   escalate.label("escalate"), remind.label("remind"), next_check.label("check_at"))
            .join_from(batch, Report, Report.id == batch.c.report_id))


def _apply(judged: Any, now: datetime) -> Any:
    """The batch's checks moved on: stamped reminded / escalated (escalated without a reminder, the sweep
    being late, means none is sent any more) and given their next moment. Only checks still due match (on
    SQLite another process may have swept between the read and this write)."""
    moment = literal(now, UTCDateTime)  # typed: a bare datetime in a CASE would skip the UTC conversion
    told = or_(judged.c.escalate, judged.c.remind)
    return (
        update(ReportCheck)
        .where(ReportCheck.report_id == judged.c.report_id, ReportCheck.check_at <= now)
        .values(check_at=judged.c.check_at,
                reminded_at=case((and_(told, ReportCheck.reminded_at.is_(None)), moment),
                                 else_=ReportCheck.reminded_at),
                escalated_at=case((judged.c.escalate, moment), else_=ReportCheck.escalated_at))
    )


def _notice_text(kind: Any, count: Any, code: Any) -> ColumnElement[str]:
    """One report: its code; several: how many (the console links to the queue)."""
    def one(vi: str, en: str) -> ColumnElement[str]:
        return literal("Phản ánh ", String) + code + f" {vi} / Report " + code + f" {en}"

    def many(vi: str, en: str) -> ColumnElement[str]:
        number = cast(count, String)
        return number + literal(f" phản ánh {vi} / ", String) + number + f" reports {en}"

    return case(
        (and_(kind == ESCALATION, count == 1), one("đã quá hạn xử lý", "is overdue")),
        (kind == ESCALATION, many("đã quá hạn xử lý", "are overdue")),
        (count == 1, one("sắp đến hạn xử lý", "is due soon")),
        else_=many("sắp đến hạn xử lý", "are due soon"))


NOTICE_COLUMNS = ["account_id", "user_id", "kind", "report_id", "report_count", "text", "created_at"]  # unread


def _notice_rows(claimed: Any, now: datetime) -> Any:
    """The notices of the claimed reports with something due, one per person and kind for the batch (when
    a day's deadlines end together, an admin hears "25 reports are overdue" once, not 25 times): reminders
    to the assignee while they are still on the account (else to the owners and admins); escalations to the
    owners and admins. A notice about one report names it (`report_id`); one about several counts them."""
    member = aliased(AccountMember)
    assignee_on_account = exists().where(member.account_id == claimed.c.account_id,
                                         member.user_id == claimed.c.assigned_to)
    recipient = or_(
        and_(claimed.c.remind, AccountMember.user_id == claimed.c.assigned_to),
        and_(AccountMember.role.in_(MANAGERS),
             or_(claimed.c.escalate, claimed.c.assigned_to.is_(None), ~assignee_on_account)))
    told = (
        select(claimed.c.account_id, AccountMember.user_id,
               case((claimed.c.escalate, ESCALATION), else_=REMINDER).label("kind"), claimed.c.report_id,
               claimed.c.code)
        .join_from(claimed, AccountMember, AccountMember.account_id == claimed.c.account_id)
        .where(or_(claimed.c.escalate, claimed.c.remind), recipient)
        .subquery("told")
    )
    count = func.count()
    return (
        select(told.c.account_id, told.c.user_id, told.c.kind, case((count == 1, func.min(told.c.report_id))),
               count, _notice_text(told.c.kind, count, func.min(told.c.code)), literal(now, UTCDateTime))
        .group_by(told.c.account_id, told.c.user_id, told.c.kind)
        .order_by(func.max(told.c.report_id))  # a batch's notices in the reports' order: the newest is newest
    )


@dataclass
class _Batch:
    checks: int  # checks taken (fewer than asked: the run is over)
    told: list[tuple[int, bool]]  # (account id, escalated?) per report whose people were told
    notices: int


async def _sweep_batch(session: AsyncSession, now: datetime, size: int) -> _Batch:
    """One batch, in the session's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the batch feeds the update, the update the notices (data-modifying CTEs).
        # JIT compiling costs tens of ms per statement here and saves nothing on a few thousand rows.
        await session.execute(text("SET LOCAL jit = off"))
        judged = _judged(_batch(now, size).cte("batch"), now).cte("judged")
        claimed = _apply(judged, now).returning(
            judged.c.report_id, judged.c.account_id, judged.c.assigned_to, judged.c.code, judged.c.escalate,
            judged.c.remind).cte("claimed")
        notices = insert(StaffNotice).from_select(NOTICE_COLUMNS, _notice_rows(claimed, now)) \
            .returning(StaffNotice.id).cte("notices")
        rows = (await session.execute(
            select(claimed.c.account_id, claimed.c.escalate, claimed.c.remind,
                   select(func.count()).select_from(notices).scalar_subquery()))).all()
        return _Batch(len(rows), [(account_id, bool(escalate)) for account_id, escalate, remind, _ in rows
                                  if escalate or remind], int(rows[0][3]) if rows else 0)
    # SQLite: no DML in a WITH, and RETURNING names the updated table only. The update comes first (it
    # takes the write lock, so nothing moves between reading and writing) and gives back the checks' new
    # stamps: one equal to `now` is what this batch told.
    moved = (await session.execute(
        _apply(_judged(_batch(now, size).subquery("batch"), now).subquery("judged"), now)
        .returning(ReportCheck.report_id, ReportCheck.reminded_at, ReportCheck.escalated_at)
        .execution_options(synchronize_session=False))).all()
    escalated = [row.report_id for row in moved if row.escalated_at == now]
    reminded = [row.report_id for row in moved if row.escalated_at != now and row.reminded_at == now]
    if not escalated and not reminded:
        return _Batch(len(moved), [], 0)
    claimed = (select(Report.id.label("report_id"), Report.account_id, Report.assigned_to, Report.code,
                      Report.id.in_(escalated).label("escalate"), Report.id.in_(reminded).label("remind"))
               .where(Report.id.in_(escalated + reminded)).subquery("claimed"))
    told = (await session.execute(select(claimed.c.account_id, claimed.c.escalate))).all()
    result = await session.execute(insert(StaffNotice).from_select(NOTICE_COLUMNS, _notice_rows(claimed, now)))
    return _Batch(len(moved), [(account_id, bool(escalate)) for account_id, escalate in told],
                  max(result.rowcount or 0, 0))


async def run(session: AsyncSession, now: datetime, *, batch: int = BATCH) -> SweepResult:
    """Send every reminder and escalation due at `now`; each batch is its own transaction (committed here),
    so an interrupted run keeps what it did and the next run does the rest."""
    done = SweepResult()
    while True:
        result = await _sweep_batch(session, now, batch)
        escalated = sum(1 for _, passed in result.told if passed)
        done.escalated += escalated
        done.reminded += len(result.told) - escalated
        done.rescheduled += result.checks - len(result.told)
        done.notices += result.notices
        _announce(session, result.told)
        await commit(session)
        if result.checks < batch:
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
    found = await session.scalar(select(ReportCheck.report_id).where(ReportCheck.check_at <= now).limit(1))
    return found is not None
