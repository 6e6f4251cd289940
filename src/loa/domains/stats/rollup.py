"""Keeping the rollups: the sweep rolls up the last days from the counts the domains keep as things happen, and
the rebuild refills any stretch of days from the raw tables. Both are set-based SQL (`INSERT … SELECT`, upserts):
no row of figures passes through Python.

Sources, per account and Vietnamese day:

| figures | kept as they happen (the sweep) | raw (the rebuild, too) |
|---|---|---|
| follows, unfollows | `follow_daily_counts` | `follows.created_at` (follows that still exist) |
| messages in/out, automatic answers | `message_daily_counts` | `messages` |
| conversations started, response times | `message_daily_counts` | – (the conversation's state at the time) |
| broadcasts and their reach | – | `broadcasts.published_at`, `broadcast_stats.targeted` |
| reports and their handling | `report_daily_stats`, `report_duration_buckets` | – (transfers, reopenings) |

Where both exist the rebuild keeps the larger count of the day: kept counts miss rows loaded in bulk (the seed),
raw rows miss what was since deleted (unfollows, erasure); either way the larger one is what happened.

The account rows of a day are summed into the nation, the account's province and its organisation with every
parent organisation. Days go into their months and years once, when they settle (`stats_state.settled_through`:
an hour after they ended): a month or year row holds its settled days only, and readers add the day rows after
`settled_through` (`periods.pieces`). So a sweep, every few minutes, writes the day rows of the days still open
(today, and yesterday for its first hour) and nothing else; the day's 2×17,000 account month and year rows are
written once, by the first sweep after the day settles. The rebuild recomputes the months and years it touched.
Both run in one transaction that holds the `stats_state` row, so they never run together.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.db.raw import dialect_insert
from loa.domains.accounts.models import Account
from loa.domains.agencies.models import Organisation
from loa.domains.agencies.service import MAX_DEPTH
from loa.domains.broadcasts.models import Broadcast, BroadcastStats
from loa.domains.conversations.models import Message, MessageDailyCount
from loa.domains.follows.models import Follow, FollowDailyCount
from loa.domains.reports import stats as report_stats
from loa.domains.reports.models import ReportDailyStats, ReportDurationBucket
from loa.domains.stats.models import (
    COUNTERS,
    FOLLOW_COUNTERS,
    MESSAGE_COUNTERS,
    REPORT_COUNTERS,
    SETTLED_THROUGH_KEY,
    StatsDurationRollup,
    StatsRollup,
    StatsState,
)
from loa.domains.stats.periods import day_start, month_start, vn_day

log = structlog.get_logger(__name__)

ROLLUPS = StatsRollup.__table__
DURATIONS = StatsDurationRollup.__table__
ROLLUP_KEY = ["scope", "code", "grain", "period"]
DURATION_KEY = [*ROLLUP_KEY, "metric", "bucket"]
DURATION_VALUES = ("metric", "bucket")
# A day is rolled up again by every sweep until this long after it ended (late commits around midnight).
SETTLE = timedelta(hours=1)
# A sweep catches up at most this many days (a longer outage: `./loa stats rebuild --from`).
MAX_CATCH_UP_DAYS = 62
EARLIEST = date(1970, 1, 1)
STATE_ID = 1

Report = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# --- dialect-aware expressions (constants inlined: PostgreSQL must see GROUP BY expressions as equal) -------


def _vn_date(dialect: str, column: Any) -> ColumnElement[Any]:
    """The Vietnamese calendar day of a UTC timestamp (Vietnam keeps UTC+7 all year)."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), column), Date)
    return func.date(column, literal_column("'+7 hours'"))  # SQLite keeps naive UTC text


def _truncated(dialect: str, grain: str, column: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.date_trunc(literal_column(f"'{grain}'"), column), Date)
    return func.date(column, literal_column(f"'start of {grain}'"))


def _greatest(dialect: str, left: Any, right: Any) -> ColumnElement[Any]:
    return func.greatest(left, right) if dialect == "postgresql" else func.max(left, right)


def _text(value: str) -> ColumnElement[str]:
    return literal_column(f"'{value}'", String)  # our own constants only


def _account_code(column: Any) -> ColumnElement[str]:
    return cast(column, String)


def _joins_account(dialect: str, code: Any) -> ColumnElement[bool]:
    """An account-scope row's code = the account's id. SQLite looks the account up by its integer key; PostgreSQL
    compares text (a cast of '' would fail on another scope's row before the scope filter ran)."""
    accounts = Account.__table__
    if dialect == "sqlite":
        return accounts.c.id == cast(code, Integer)
    return cast(accounts.c.id, String) == code


def _upsert(session: AsyncSession, table: Any, key: Sequence[str], columns: Sequence[str], query: Select[Any],
            merge: dict[str, str]) -> Any:
    """INSERT … SELECT that merges into existing rows: `set` (replace), `add` or `max` per column."""
    dialect = session.get_bind().dialect.name
    statement = dialect_insert(session)(table).from_select(list(columns), query)
    updates: dict[str, Any] = {}
    for name, how in merge.items():
        if how == "set":
            updates[name] = statement.excluded[name]
        elif how == "add":
            updates[name] = table.c[name] + statement.excluded[name]
        else:
            updates[name] = _greatest(dialect, table.c[name], statement.excluded[name])
    return statement.on_conflict_do_update(index_elements=list(key), set_=updates)


def _head(scope: str, code: Any, grain: str, period: Any) -> list[Any]:
    return [_text(scope).label("scope"), code.label("code"), _text(grain).label("grain"), period.label("period")]


# --- the account rows of days -------------------------------------------------------------------------------

# Raw counts travel beside the kept ones they duplicate; the account's row keeps the larger of the two.
RAW_OF = {"follows": "raw_follows", "messages_in": "raw_messages_in", "messages_out": "raw_messages_out",
          "auto_replies": "raw_auto_replies"}
PARTS = (*COUNTERS, *RAW_OF.values())
_ZERO = literal_column("0", BigInteger)


def _part(code: Any, period: Any, values: dict[str, Any]) -> Select[Any]:
    return select(code.label("code"), period.label("period"),
                  *(values.get(name, _ZERO).label(name) for name in PARTS))


def _sources(dialect: str, first: date, last: date, *, raw: bool) -> tuple[list[Select[Any]], Select[Any]]:
    """What fills the account rows of `first`..`last` (the kept counts, and with `raw` the raw tables too), as
    parts to add up per account and day; and the report durations' account rows."""
    begins, ends = day_start(first), day_start(last + timedelta(days=1))
    kept_follows, kept_messages = FollowDailyCount.__table__, MessageDailyCount.__table__
    reports, buckets = ReportDailyStats.__table__, ReportDurationBucket.__table__
    broadcasts, reach = Broadcast.__table__, BroadcastStats.__table__
    parts = [
        _part(_account_code(kept_follows.c.account_id), kept_follows.c.day,
              {name: kept_follows.c[name] for name in FOLLOW_COUNTERS}).where(kept_follows.c.day.between(first, last)),
        _part(_account_code(kept_messages.c.account_id), kept_messages.c.day,
              {name: kept_messages.c[name] for name in MESSAGE_COUNTERS})
        .where(kept_messages.c.day.between(first, last)),
        _part(_account_code(reports.c.account_id), reports.c.day,
              {name: reports.c[kept] for name, kept in zip(REPORT_COUNTERS, report_stats.COUNTERS, strict=True)})
        .where(reports.c.day.between(first, last)),
    ]
    day = _vn_date(dialect, broadcasts.c.published_at)
    parts.append(_part(_account_code(broadcasts.c.account_id), day,
                       {"broadcasts": func.count(), "reach": func.coalesce(func.sum(reach.c.targeted), 0)})
                 .select_from(broadcasts.outerjoin(reach, reach.c.broadcast_id == broadcasts.c.id))
                 .where(broadcasts.c.published_at >= begins, broadcasts.c.published_at < ends)
                 .group_by(broadcasts.c.account_id, day))
    if raw:
        follows, messages = Follow.__table__, Message.__table__
        day = _vn_date(dialect, follows.c.created_at)
        parts.append(_part(_account_code(follows.c.account_id), day, {"raw_follows": func.count()})
                     .where(follows.c.created_at >= begins, follows.c.created_at < ends)
                     .group_by(follows.c.account_id, day))

        def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return func.sum(case((condition, 1), else_=0))

        day = _vn_date(dialect, messages.c.created_at)
        parts.append(_part(_account_code(messages.c.account_id), day, {
            "raw_messages_in": counted(messages.c.direction == "in"),
            "raw_messages_out": counted(messages.c.direction == "out"),
            "raw_auto_replies": counted(messages.c.auto.is_not(None))})
            .where(messages.c.created_at >= begins, messages.c.created_at < ends)
            .group_by(messages.c.account_id, day))
    durations = (select(*_head("account", _account_code(buckets.c.account_id), "day", buckets.c.day),
                        buckets.c.metric, buckets.c.bucket, buckets.c.count)
                 .where(buckets.c.day.between(first, last)))
    return parts, durations


def _account_days(dialect: str, parts: list[Select[Any]]) -> Select[Any]:
    """The parts added up per account and day: one row each."""
    summed = union_all(*parts).subquery("parts")
    values = []
    for name in COUNTERS:
        value: ColumnElement[Any] = func.sum(summed.c[name])
        if name in RAW_OF:
            value = _greatest(dialect, value, func.sum(summed.c[RAW_OF[name]]))
        values.append(value)
    return (select(*_head("account", summed.c.code, "day", summed.c.period), *values)
            .group_by(summed.c.code, summed.c.period))


def _organisation_tree() -> Any:
    """(member, ancestor) for every organisation and each organisation above it, itself included; as deep as the
    agencies domain lets a tree go (a loop in bad data would otherwise never end)."""
    organisations = Organisation.__table__
    tree = select(organisations.c.id.label("member"), organisations.c.id.label("ancestor"),
                  literal_column("0", Integer).label("depth")).cte("organisation_tree", recursive=True)
    parent = organisations.alias("parent_link")
    return tree.union_all(select(tree.c.member, parent.c.parent_id, tree.c.depth + 1)
                          .join(parent, parent.c.id == tree.c.ancestor)
                          .where(parent.c.parent_id.is_not(None), tree.c.depth < MAX_DEPTH))


def _scope_sums(dialect: str, table: Any, first: date, last: date, values: Sequence[str],
                extra: Sequence[str] = ()) -> list[Select[Any]]:
    """The nation's, provinces' and organisations' day rows, summed from the account rows of `first`..`last`."""
    rows = table
    accounts = Account.__table__
    in_range = and_(rows.c.scope == "account", rows.c.grain == "day", rows.c.period.between(first, last))
    grouping = [rows.c[name] for name in extra]
    sums = [*grouping, *(func.sum(rows.c[name]) for name in values)]
    nation = (select(*_head("nation", _text(""), "day", rows.c.period), *sums)
              .where(in_range).group_by(rows.c.period, *grouping))
    province = (select(*_head("province", accounts.c.province_code, "day", rows.c.period), *sums)
                .select_from(rows.join(accounts, _joins_account(dialect, rows.c.code)))
                .where(in_range).group_by(accounts.c.province_code, rows.c.period, *grouping))
    tree = _organisation_tree()
    organisation = (select(*_head("organisation", cast(tree.c.ancestor, String), "day", rows.c.period), *sums)
                    .select_from(rows.join(accounts, _joins_account(dialect, rows.c.code))
                                 .join(tree, tree.c.member == accounts.c.organisation_id))
                    .where(in_range).group_by(tree.c.ancestor, rows.c.period, *grouping))
    return [nation, province, organisation]


async def _replace_days(session: AsyncSession, first: date, last: date, *, raw: bool, report: Report) -> None:
    """The day rows of `first`..`last`, every scope, made anew from the sources (months and years untouched)."""
    dialect = session.get_bind().dialect.name
    started = time.perf_counter()
    for table in (ROLLUPS, DURATIONS):
        await session.execute(delete(table).where(table.c.grain == "day", table.c.period.between(first, last)))
    parts, durations = _sources(dialect, first, last, raw=raw)
    await session.execute(ROLLUPS.insert().from_select([*ROLLUP_KEY, *COUNTERS], _account_days(dialect, parts)))
    await session.execute(DURATIONS.insert().from_select([*ROLLUP_KEY, *DURATION_VALUES, "count"], durations))
    report(f"accounts' days: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    await session.execute(ROLLUPS.insert().from_select(
        [*ROLLUP_KEY, *COUNTERS], union_all(*_scope_sums(dialect, ROLLUPS, first, last, COUNTERS))))
    await session.execute(DURATIONS.insert().from_select(
        [*ROLLUP_KEY, *DURATION_VALUES, "count"],
        union_all(*_scope_sums(dialect, DURATIONS, first, last, ("count",), DURATION_VALUES))))
    report(f"nation, provinces, organisations: {time.perf_counter() - started:.1f} s")


# --- months and years -------------------------------------------------------------------------------------


async def _add_to_grains(session: AsyncSession, first: date, last: date) -> None:
    """Add the day rows of `first`..`last` (days that have just settled) to their months and years."""
    dialect = session.get_bind().dialect.name
    for table, values, extra, key in ((ROLLUPS, COUNTERS, (), ROLLUP_KEY),
                                      (DURATIONS, ("count",), DURATION_VALUES, DURATION_KEY)):
        grains = []
        for grain in ("month", "year"):
            period = _truncated(dialect, grain, table.c.period)
            grouping = [table.c.scope, table.c.code, period, *(table.c[name] for name in extra)]
            grains.append(select(table.c.scope, table.c.code,
                                 _text(grain).label("grain"), period.label("period"),
                                 *(table.c[name] for name in extra),
                                 *(func.sum(table.c[name]).label(name) for name in values))
                          .where(table.c.grain == "day", table.c.period.between(first, last)).group_by(*grouping))
        both = select(union_all(*grains).subquery("grains")).where(true())  # WHERE: SQLite's upsert-after-SELECT
        await session.execute(_upsert(session, table, key, [*key[:4], *extra, *values], both,
                                      {name: "add" for name in values}))


async def _recompute_grains(session: AsyncSession, first: date, settled: date) -> None:
    """Months from `first`'s month on summed again from their settled days (through `settled`), then years from
    `first`'s year on from their months (days before `first` in those months are kept as they are)."""
    dialect = session.get_bind().dialect.name
    first_month, first_year = month_start(first), date(first.year, 1, 1)
    for table, values, extra in ((ROLLUPS, COUNTERS, ()), (DURATIONS, ("count",), DURATION_VALUES)):
        await session.execute(delete(table).where(table.c.grain == "month", table.c.period >= first_month))
        await session.execute(delete(table).where(table.c.grain == "year", table.c.period >= first_year))
        for grain, below, since in (("month", "day", first_month), ("year", "month", first_year)):
            period = _truncated(dialect, grain, table.c.period)
            query = (select(table.c.scope, table.c.code, _text(grain), period, *(table.c[name] for name in extra),
                            *(func.sum(table.c[name]) for name in values))
                     .where(table.c.grain == below, table.c.period.between(since, settled))
                     .group_by(table.c.scope, table.c.code, period, *(table.c[name] for name in extra)))
            await session.execute(table.insert().from_select([*ROLLUP_KEY, *extra, *values], query))


# --- the state row, the sweep and the rebuild --------------------------------------------------------------------


async def lock_state(session: AsyncSession) -> StatsState:
    """The state row, locked for this transaction (SQLite: the write lock is already held)."""
    if session.get_bind().dialect.name == "postgresql":
        # A sweep groups tens of thousands of rows: sorted in memory, not spilled to disk. Its commit need not wait
        # for the disk either: rollups are derived data, and a sweep lost in a crash is done again by the next.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        await session.execute(text("SET LOCAL synchronous_commit = off"))
    session.info.pop(SETTLED_THROUGH_KEY, None)  # this transaction moves it
    await session.execute(dialect_insert(session)(StatsState).values(id=STATE_ID).on_conflict_do_nothing())
    state = (await session.execute(select(StatsState).where(StatsState.id == STATE_ID).with_for_update()
                                   .execution_options(populate_existing=True))).scalar_one()
    return state


def _settled(now: datetime) -> date:
    """The last day that ended at least SETTLE ago."""
    return vn_day(now - SETTLE) - timedelta(days=1)


@dataclass(frozen=True)
class RollResult:
    first: date | None  # the days rolled up (None: nothing to do)
    last: date | None
    rebuilt: bool = False


async def roll(session: AsyncSession, now: datetime | None = None, *, raw: bool = False) -> RollResult:
    """Roll up the days since the last settled one, through today (in the caller's transaction; commit after).
    Rollups never built are built from the raw tables first. With `raw` the days are also re-read from the raw
    tables, as a rollup without kept counts would have to: slower, and it counts rows loaded in bulk."""
    now = now or utcnow()
    state = await lock_state(session)
    if state.built_at is None:
        await _rebuild_locked(session, state, None, now, _quiet)
        return RollResult(None, vn_day(now), rebuilt=True)
    today = vn_day(now)
    first = (state.settled_through + timedelta(days=1)) if state.settled_through else today - timedelta(days=1)
    if (today - first).days > MAX_CATCH_UP_DAYS:
        log.warning("statistics behind by more than the catch-up limit; run `./loa stats rebuild --from`",
                    settled_through=str(state.settled_through))
        first = today - timedelta(days=MAX_CATCH_UP_DAYS)
    first = min(first, today)
    await _replace_days(session, first, today, raw=raw, report=_quiet)
    settled = min(_settled(now), today)
    if settled >= first:  # days that settle now go into their months and years, once
        await _add_to_grains(session, first, settled)
    state.settled_through = max(state.settled_through or EARLIEST, settled)
    state.rolled_at = now
    await session.flush()
    return RollResult(first, today)


async def rebuild(session: AsyncSession, since: date | None = None, *, now: datetime | None = None,
                  report: Report = _quiet) -> RollResult:
    """Refill the rollups from the raw tables, every day (or from `since` on), in the caller's transaction."""
    now = now or utcnow()
    state = await lock_state(session)
    return await _rebuild_locked(session, state, since, now, report)


async def _rebuild_locked(session: AsyncSession, state: StatsState, since: date | None, now: datetime,
                          report: Report) -> RollResult:
    today = vn_day(now)
    first = since or EARLIEST
    if since is None:
        for table in (ROLLUPS, DURATIONS):
            await session.execute(delete(table))
    await _replace_days(session, first, today, raw=True, report=report)
    started = time.perf_counter()
    settled = _settled(now)
    await _recompute_grains(session, first, settled)
    report(f"months and years: {time.perf_counter() - started:.1f} s")
    state.built_at = now
    state.settled_through = settled
    state.rolled_at = now
    await session.flush()
    return RollResult(since, today, rebuilt=True)


def progress_to_stderr(message: str) -> None:
    print(f"stats rebuild: {message}", file=sys.stderr, flush=True)


__all__ = ["RollResult", "lock_state", "progress_to_stderr", "rebuild", "roll"]
