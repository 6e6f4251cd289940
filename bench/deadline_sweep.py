"""One full run of the report deadline sweep (`reports.sweeps.run`) over 1,000,000 open reports, 5% of them
due (half near their deadline, half past it), against a raw `UPDATE reports SET next_check_at = NULL WHERE
next_check_at <= now` over the same rows in the same database.

Data (bulk-loaded with `loa.db.bulk`, then ANALYZE): 2,000 commune accounts, each with an owner, an admin
and two agents; 100,000 citizens; reports in receipt order (ids grow with time), spread over the accounts,
with the four running statuses, 60% assigned, 5% waiting for the citizen (paused: nothing to check).

Which 5% are due (the case):
- `clustered`: as at 17:00 on a working day, when the working-day deadlines of one day's receipts end
  together: every other report of a band of ids (the rest have other categories' deadlines) — an older
  band past its deadline (2.5%), a newer band near it (2.5%);
- `scattered`: the worst case for the database, every 20th report (each due row on its own page).

Before each run, ours and the baseline's, the due rows are set up again, the sweep's notices and steps
deleted and the tables vacuumed and analyzed (as autovacuum would leave them): every run sees the same
table.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text

from bench.common import (
    Options,
    bench_settings,
    database_name,
    load_people,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "deadline_sweep"
DESCRIPTION = "ms for one deadline sweep over 1M open reports (5% due) vs a raw UPDATE of their next_check_at"

STAFF_PER_ACCOUNT = 4  # owner, admin, two agents
RUNS = 3
TARGET_MS = 2000  # the target for the 1M case on PostgreSQL
STATUSES = ("submitted", "accepted", "assigned", "in_progress")
DESCRIPTION_TEXT = "Cống thoát nước bị tắc, nước ngập sâu sau mỗi trận mưa, đề nghị nạo vét sớm. Phản ánh số {i}"
CASES = ("clustered", "scattered")


def _sizes(options: Options) -> tuple[int, int, int]:
    """(reports, accounts, citizens)."""
    return (20_000, 200, 5_000) if options.quick else (1_000_000, 2_000, 100_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    reports, accounts, citizens = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                now = datetime.now(UTC).replace(microsecond=0)
                note(f"{NAME}: {database}: loading {reports:,} reports over {accounts:,} accounts…")
                await load_people(settings, users=accounts * STAFF_PER_ACCOUNT + citizens, accounts=accounts)
                await _load(settings, reports, accounts, citizens, now)
                for case in CASES:
                    yield await _measure(settings, database, reports, accounts, now, case)


# --- data -------------------------------------------------------------------------------------------------


REPORT_COLUMNS = ["id", "code", "category_id", "account_id", "reporter_id", "status", "open", "title",
                  "description", "search_folded", "fields", "address", "commune_code", "province_code", "public",
                  "hidden", "public_visible", "assigned_to", "received_at", "due_at", "remind_at", "paused_at",
                  "first_response_at", "reopen_count", "transfer_count", "source", "created_at", "updated_at"]
CHECK_COLUMNS = ["report_id", "check_at"]


def _waiting(i: int) -> bool:
    return i % 20 == 7  # odd: never among the due rows of either case


def _reports(count: int, accounts: int, citizens: int, category_id: int,
             now: datetime) -> Iterator[tuple[tuple[Any, ...], tuple[int, datetime | None]]]:
    """Every report running with its deadline days ahead, or waiting, with its check row; `_arrange`
    makes some due."""
    from bench.common import BENCH_COMMUNE

    first_citizen = accounts * STAFF_PER_ACCOUNT + 1
    first_received = now - timedelta(days=30)
    for i in range(1, count + 1):
        account = (i * 7919) % accounts + 1  # spread, not in id order
        mixed = (i * 2654435761) % 2**32  # statuses and assignees independent of ids
        status = STATUSES[mixed % len(STATUSES)]
        assigned = (account - 1) * STAFF_PER_ACCOUNT + 3 + mixed % 2 if status in ("assigned", "in_progress") \
            or mixed % 5 == 0 else None
        received_at = first_received + timedelta(days=30) * (i / count)
        due_at = now + timedelta(days=2 + i % 10, seconds=i % 3600)
        remind_at = due_at - timedelta(days=1)
        next_check_at, paused_at = remind_at, None
        if _waiting(i):
            status, paused_at, next_check_at = "waiting", now - timedelta(days=1), None
        description = DESCRIPTION_TEXT.format(i=i)
        yield (i, f"PA-2026-{i:07d}", category_id, account, first_citizen + i % citizens, status, True,
               description[:60], description, description.lower(), {}, "", BENCH_COMMUNE, "01", True, False, True,
               assigned, received_at, due_at, remind_at, paused_at,
               received_at + timedelta(hours=2) if status != "submitted" else None, 0, 0, "app", received_at,
               received_at), (i, next_check_at)


async def _load(settings: Any, count: int, accounts: int, citizens: int, now: datetime) -> None:
    from loa.db.bulk import Progress, bulk_insert
    from loa.domains.accounts.models import AccountMember
    from loa.domains.reports.models import Report, ReportCheck
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            category_id = await session.scalar(text("SELECT id FROM report_categories WHERE code = 'flooding'"))
            assert category_id is not None
            roles = ("owner", "admin", "agent", "agent")
            await bulk_insert(session, AccountMember.__table__, (
                (account, (account - 1) * STAFF_PER_ACCOUNT + n + 1, role, now)
                for account in range(1, accounts + 1) for n, role in enumerate(roles)),
                columns=["account_id", "user_id", "role", "created_at"])
            progress = Progress(f"{NAME}: reports", count)
            await bulk_insert(session, Report.__table__,
                              (report for report, _ in _reports(count, accounts, citizens, category_id, now)),
                              columns=REPORT_COLUMNS, progress=progress)
            progress.finish()
            await bulk_insert(session, ReportCheck.__table__,
                              (check for _, check in _reports(count, accounts, citizens, category_id, now)),
                              columns=CHECK_COLUMNS)
            await session.commit()
    finally:
        await runtime.close()


@dataclass(frozen=True)
class Due:
    """Which reports a case makes due: SQL conditions on `id`, and how many rows each selects."""

    escalations: str
    reminders: str
    escalation_count: int
    reminder_count: int

    @property
    def total(self) -> int:
        return self.escalation_count + self.reminder_count


def _due(case: str, count: int) -> Due:
    ids = range(1, count + 1)
    if case == "scattered":
        escalations, reminders = "id % 40 = 0", "id % 40 = 20"
        return Due(escalations, reminders, sum(1 for i in ids if i % 40 == 0), sum(1 for i in ids if i % 40 == 20))
    band = count // 20  # 5% of the ids, every other one due: 2.5%
    old, new = count // 10, count * 6 // 10
    escalations = f"id > {old} AND id <= {old + band} AND id % 2 = 0"
    reminders = f"id > {new} AND id <= {new + band} AND id % 2 = 0"
    return Due(escalations, reminders, sum(1 for i in range(old + 1, old + band + 1) if i % 2 == 0),
               sum(1 for i in range(new + 1, new + band + 1) if i % 2 == 0))


async def _arrange(runtime: Any, due: Due, now: datetime) -> None:
    """Make exactly `due`'s rows due at `now` (everything else running due days ahead), with no notices or
    steps from an earlier run, the tables vacuumed and analyzed."""
    from loa.db.base import UTCDateTime

    times = {"later_due": now + timedelta(days=5), "later_remind": now + timedelta(days=4),
             "passed": now - timedelta(hours=1), "reminded": now - timedelta(days=1),
             "near_due": now + timedelta(hours=2), "near_remind": now - timedelta(minutes=5)}

    def timed(sql: str) -> Any:
        return text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in times if f":{name}" in sql))

    def on_checks(condition: str) -> str:  # `due`'s conditions name the report's id
        return re.sub(r"\bid\b", "report_id", condition)

    def values(*names: str) -> dict[str, datetime]:
        return {name: times[name] for name in names}

    async with runtime.session() as session:
        # Whatever an earlier case or run made due (or swept) goes back to later.
        await session.execute(timed("UPDATE reports SET due_at = :later_due, remind_at = :later_remind "
                                    "WHERE status <> 'waiting' AND due_at < :later_due"),
                              values("later_due", "later_remind"))
        await session.execute(timed("UPDATE report_checks SET reminded_at = NULL, escalated_at = NULL, "
                                    "check_at = :later_remind WHERE (check_at IS NULL OR check_at < :later_remind) "
                                    "AND report_id IN (SELECT id FROM reports WHERE status <> 'waiting')"),
                              values("later_remind"))
        # Past the deadline, reminded yesterday: an escalation each.
        await session.execute(timed(f"UPDATE reports SET due_at = :passed, remind_at = :reminded "
                                    f"WHERE {due.escalations}"), values("passed", "reminded"))
        await session.execute(timed(f"UPDATE report_checks SET reminded_at = :reminded, check_at = :passed "
                                    f"WHERE {on_checks(due.escalations)}"), values("passed", "reminded"))
        # Near the deadline, the reminder due five minutes ago: a reminder each.
        await session.execute(timed(f"UPDATE reports SET due_at = :near_due, remind_at = :near_remind "
                                    f"WHERE {due.reminders}"), values("near_due", "near_remind"))
        await session.execute(timed(f"UPDATE report_checks SET check_at = :near_remind "
                                    f"WHERE {on_checks(due.reminders)}"), values("near_remind"))
        await session.execute(text("DELETE FROM staff_notices"))
        await session.commit()
    if runtime.is_sqlite:
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
        return
    async with runtime.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE reports, report_checks, staff_notices"))


# --- measuring --------------------------------------------------------------------------------------------


async def _measure(settings: Any, database: str, count: int, accounts: int, now: datetime,
                   case: str) -> dict[str, Any]:
    from loa.db.base import UTCDateTime
    from loa.domains.reports import sweeps
    from loa.runtime import Runtime

    due = _due(case, count)
    raw = text("UPDATE report_checks SET check_at = NULL WHERE check_at <= :now").bindparams(
        bindparam("now", type_=UTCDateTime()))
    runtime = Runtime(settings)
    ours: list[float] = []
    baseline: list[float] = []
    notices = 0
    try:
        for round_ in range(RUNS):
            await _arrange(runtime, due, now)
            async with runtime.session() as session:
                started = time.perf_counter()
                changed = (await session.execute(raw, {"now": now})).rowcount
                await session.commit()
                baseline.append(time.perf_counter() - started)
            if changed != due.total:
                raise AssertionError(f"baseline changed {changed} rows, not {due.total}")
            await _arrange(runtime, due, now)
            started = time.perf_counter()
            done = await sweeps.run_all(runtime, now)  # as the scheduled sweep runs it
            ours.append(time.perf_counter() - started)
            if (done.reminded, done.escalated) != (due.reminder_count, due.escalation_count):
                raise AssertionError(f"swept {done}, expected {due}")
            notices = done.notices
            note(f"{NAME}: {database}, {case}, run {round_ + 1}: sweep {ours[-1] * 1000:,.0f} ms "
                 f"({done.reminded:,} reminded, {done.escalated:,} escalated, {done.notices:,} notices), "
                 f"raw UPDATE {baseline[-1] * 1000:,.0f} ms")
            again = await sweeps.run_all(runtime, now)  # a second run at the same moment finds nothing
            if again.reminded or again.escalated or again.notices:
                raise AssertionError(f"a second sweep did more work: {again}")
    finally:
        await runtime.close()
    return result(
        NAME, {"database": database, "due_rows": case, "reports": count, "due": due.total,
               "reminders": due.reminder_count, "escalations": due.escalation_count, "accounts": accounts,
               "batch": sweeps.BATCH, "sessions": 1 if database == "sqlite" else sweeps.PARALLEL},
        value=statistics.median(ours) * 1000, unit="ms per full sweep (claim, notices, commits)",
        baseline=statistics.median(baseline) * 1000,
        baseline_what=("ms of a raw UPDATE report_checks SET check_at = NULL WHERE check_at <= now over the "
                       "same rows (same database, set up again and vacuumed before each run)"),
        better="lower",
        p50_ms=round(percentile(ours, 50) * 1000, 1), p99_ms=round(percentile(ours, 99) * 1000, 1),
        runs=RUNS, notices=notices,
        target_ms=TARGET_MS if database == "postgresql" and count >= 1_000_000 else None,
    )
