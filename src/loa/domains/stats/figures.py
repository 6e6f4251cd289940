"""The figures of a scope over a period, read from the rollups and from the small tables (accounts: ~17,000
rows; administrative units: ~14,000), never from the raw tables of follows, messages or reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, distinct, extract, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import ACCOUNT_KINDS, Account
from loa.domains.geo.models import AdminUnit, AdminUnitConversion
from loa.domains.reports import stats as report_stats
from loa.domains.stats.models import (
    COUNTERS,
    SETTLED_THROUGH_KEY,
    StatsDurationRollup,
    StatsRollup,
    StatsState,
)
from loa.domains.stats.periods import Period, Piece, pieces, vn_today
from loa.domains.stats.schemas import (
    AccountFigures,
    CoverageFigures,
    Divisions,
    FollowFigures,
    GroupCount,
    HandlingFigures,
    InteractionFigures,
    KindCount,
    ScopeOut,
    TopAccount,
    YearCount,
)

# The split the statistics are quoted by: state agencies, then schools, health, and the other utilities.
GROUPS: dict[str, tuple[str, str]] = {
    "state": ("Cơ quan nhà nước", "State agencies"),
    "education": ("Giáo dục", "Education"),
    "health": ("Y tế", "Health"),
    "utilities": ("Dịch vụ công ích", "Public utilities"),  # power, water, transport, post, environment
}


def group_of(kind: str) -> str:
    if ACCOUNT_KINDS[kind] == "state":
        return "state"
    return {"school": "education", "hospital": "health"}.get(kind, "utilities")


KINDS_OF_GROUP: dict[str, tuple[str, ...]] = {
    name: tuple(kind for kind in ACCOUNT_KINDS if group_of(kind) == name) for name in GROUPS}
TOP_ACCOUNTS = 10


@dataclass(frozen=True)
class Scope:
    """Whose figures: the nation, a province, a commune, an organisation with its sub-organisations, an account."""

    kind: str
    code: str = ""
    name: str = "Toàn quốc"
    province_code: str | None = None
    organisation_ids: tuple[int, ...] = field(default=())  # the organisation and those below it

    def out(self) -> ScopeOut:
        return ScopeOut(kind=self.kind, code=self.code, name=self.name,  # type: ignore[arg-type]
                        province_code=self.province_code)

    def account_filter(self) -> list[ColumnElement[bool]]:
        """Which rows of `accounts` are the scope's."""
        if self.kind == "province":
            return [Account.province_code == self.code]
        if self.kind == "commune":
            return [Account.commune_code == self.code]
        if self.kind == "organisation":
            return [Account.organisation_id.in_(self.organisation_ids)]
        if self.kind == "account":
            return [Account.id == int(self.code)]
        return []


def kinds_filter(kind: str | None) -> list[ColumnElement[bool]]:
    """A kind (`school`) or a group of kinds (`health`); none: every account."""
    if kind is None:
        return []
    return [Account.kind.in_(KINDS_OF_GROUP.get(kind, (kind,)))]


# --- reading the rollups ----------------------------------------------------------------------------------


def _in_pieces(table: Any, found: Sequence[Piece]) -> ColumnElement[bool]:
    return or_(*(and_(table.grain == grain, table.period.between(first, last)) for grain, first, last in found))


async def rollup_codes(session: AsyncSession, scope: Scope) -> tuple[str, list[str]]:
    """The rollup rows that sum to the scope: its own, or (a commune) those of its accounts."""
    if scope.kind == "commune":
        ids = await session.scalars(select(Account.id).where(Account.commune_code == scope.code))
        return "account", [str(account_id) for account_id in ids]
    return scope.kind, [scope.code]


Sums = dict[str, int]


def _zero() -> Sums:
    return dict.fromkeys(COUNTERS, 0)


async def sums_by_code(session: AsyncSession, scope_name: str, codes: Sequence[str] | None, found: Sequence[Piece],
                       ) -> dict[str, Sums]:
    """The counters of each code over the pieces (codes None: every code of the scope)."""
    if codes is not None and not codes:
        return {}
    query = (select(StatsRollup.code, *(func.sum(getattr(StatsRollup, name)) for name in COUNTERS))
             .where(StatsRollup.scope == scope_name, _in_pieces(StatsRollup, found))
             .group_by(StatsRollup.code))
    if codes is not None:
        query = query.where(StatsRollup.code.in_(list(codes)))
    return {row[0]: {name: int(value or 0) for name, value in zip(COUNTERS, row[1:], strict=True)}
            for row in (await session.execute(query)).all()}


def net_follows(sums: Sums) -> int:
    return sums["follows"] - sums["unfollows"]


def total(per_code: Iterable[Sums]) -> Sums:
    summed = _zero()
    for sums in per_code:
        for name, value in sums.items():
            summed[name] += value
    return summed


async def scope_sums(session: AsyncSession, scope: Scope, start: date, end: date) -> Sums:
    scope_name, codes = await rollup_codes(session, scope)
    if end < start:
        return _zero()
    return total((await sums_by_code(session, scope_name, codes, await cut(session, start, end))).values())


async def durations_by_code(session: AsyncSession, scope_name: str, codes: Sequence[str],
                            found: Sequence[Piece]) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """code → metric → [(bucket, count)] over the pieces."""
    if not codes:
        return {}
    rows = await session.execute(
        select(StatsDurationRollup.code, StatsDurationRollup.metric, StatsDurationRollup.bucket,
               func.sum(StatsDurationRollup.count))
        .where(StatsDurationRollup.scope == scope_name, StatsDurationRollup.code.in_(list(codes)),
               _in_pieces(StatsDurationRollup, found))
        .group_by(StatsDurationRollup.code, StatsDurationRollup.metric, StatsDurationRollup.bucket))
    found_by_code: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for code, metric, bucket, count in rows.all():
        found_by_code.setdefault(code, {}).setdefault(metric, []).append((int(bucket), int(count)))
    return found_by_code


def median_seconds(buckets: list[tuple[int, int]]) -> float | None:
    """The median of durations kept as bucket counts: its bucket's middle (`reports.stats`' buckets)."""
    everything = sum(count for _, count in buckets)
    if everything == 0:
        return None
    seen = 0
    for bucket, count in sorted(buckets):
        seen += count
        if seen * 2 >= everything:
            return round(report_stats.bucket_middle(bucket))
    return None  # pragma: no cover - the loop always reaches half


async def settled_through(session: AsyncSession) -> date | None:
    """The last day the month and year rows hold (the rollups' state), read once per session so that the figures
    of one page agree with each other."""
    if SETTLED_THROUGH_KEY not in session.info:
        session.info[SETTLED_THROUGH_KEY] = await session.scalar(
            select(StatsState.settled_through).where(StatsState.id == 1))
    return session.info[SETTLED_THROUGH_KEY]


async def cut(session: AsyncSession, start: date, end: date) -> list[Piece]:
    """`start`..`end` as ranges of rollup rows (`periods.pieces`), as the rollups stand."""
    return pieces(start, end, await settled_through(session))


async def as_of(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(StatsState.rolled_at).where(StatsState.id == 1))


# --- the figures ------------------------------------------------------------------------------------------


def _year_of(session: AsyncSession, column: Any) -> ColumnElement[int]:
    """The Vietnamese calendar year of a UTC timestamp."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("year", func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), column)), Integer)
    return cast(func.strftime(literal_column("'%Y'"), column, literal_column("'+7 hours'")), Integer)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _is_verified_by(moment: datetime) -> ColumnElement[bool]:
    return and_(Account.verification_status == "verified",
                or_(Account.verified_at.is_(None), Account.verified_at < moment))


async def account_figures(session: AsyncSession, scope: Scope, period: Period) -> AccountFigures:
    ends = period.ends_before
    where = [*scope.account_filter(), Account.created_at < ends]
    rows = (await session.execute(
        select(Account.kind, func.count(),
               func.sum(case((Account.created_at >= period.starts_at, 1), else_=0)),
               func.sum(case((_is_verified_by(ends), 1), else_=0)))
        .where(*where).group_by(Account.kind))).all()
    by_kind = []
    groups = {name: [0, 0] for name in GROUPS}
    created = 0
    for kind, count, opened, verified in sorted(rows, key=lambda row: list(ACCOUNT_KINDS).index(row[0])):
        label, label_en = KIND_LABELS[kind]
        by_kind.append(KindCount(kind=kind, label=label, label_en=label_en, group=group_of(kind), accounts=count,
                                 verified=int(verified or 0)))
        groups[group_of(kind)][0] += count
        groups[group_of(kind)][1] += int(verified or 0)
        created += int(opened or 0)
    accounts = sum(item.accounts for item in by_kind)
    verified = sum(item.verified for item in by_kind)
    year = _year_of(session, Account.created_at)
    per_year = []
    running = 0
    for year_value, count in (await session.execute(
            select(year, func.count()).where(*where).group_by(year).order_by(year))).all():
        running += count
        per_year.append(YearCount(year=int(year_value), created=count, total=running))
    return AccountFigures(
        total=accounts, created=created, verified=verified, verified_percent=_percent(verified, accounts),
        by_group=[GroupCount(group=name, label=GROUPS[name][0], label_en=GROUPS[name][1], accounts=counts[0],
                             verified=counts[1]) for name, counts in groups.items()],
        by_kind=by_kind, per_year=per_year)


async def followers_now(session: AsyncSession, scope: Scope) -> int:
    """The follower counts the follows service keeps on each account, summed."""
    return int(await session.scalar(select(func.coalesce(func.sum(Account.follower_count), 0))
                                    .where(*scope.account_filter())) or 0)


async def follow_figures(session: AsyncSession, scope: Scope, period: Period, sums: Sums) -> FollowFigures:
    """Follows at the period's end: the kept follower counts of now, less the net follows since."""
    today = vn_today()
    after = await scope_sums(session, scope, period.end + timedelta(days=1), today) if period.end < today else _zero()
    at_end = await followers_now(session, scope) - net_follows(after)
    top = list((await session.execute(
        select(Account.id, Account.name, Account.kind, Account.province_code, Account.follower_count)
        .where(*scope.account_filter()).order_by(Account.follower_count.desc(), Account.id)
        .limit(TOP_ACCOUNTS))).all())
    net = await sums_by_code(session, "account", [str(row.id) for row in top],
                             await cut(session, period.start, period.end))
    return FollowFigures(
        total=at_end, follows=sums["follows"], unfollows=sums["unfollows"],
        net_new=net_follows(sums),
        top=[TopAccount(account_id=str(row.id), name=row.name, kind=row.kind, province_code=row.province_code,
                        followers=row.follower_count,
                        net_new=net_follows(net.get(str(row.id), _zero())))
             for row in top])


def interaction_figures(sums: Sums) -> InteractionFigures:
    return InteractionFigures(
        messages_in=sums["messages_in"], messages_out=sums["messages_out"], auto_replies=sums["auto_replies"],
        conversations_started=sums["conversations_started"],
        average_response_seconds=(round(sums["response_seconds"] / sums["responses"], 1)
                                  if sums["responses"] else None),
        average_first_response_seconds=(round(sums["first_response_seconds"] / sums["first_responses"], 1)
                                        if sums["first_responses"] else None),
        reports_received=sums["reports_received"], broadcasts=sums["broadcasts"], reach=sums["reach"])


def handling_from(sums: Sums, durations: dict[str, list[tuple[int, int]]]) -> HandlingFigures:
    resolved = sums["reports_resolved"]
    ratings = sums["reports_ratings"]
    return HandlingFigures(
        received=sums["reports_received"], rejected=sums["reports_rejected"], merged=sums["reports_merged"],
        transferred_out=sums["reports_transferred_out"], resolved=resolved,
        resolved_on_time=sums["reports_resolved_on_time"], resolved_late=sums["reports_resolved_late"],
        reopened=sums["reports_reopened"],
        on_time_percent=_percent(sums["reports_resolved_on_time"], resolved),
        late_percent=_percent(sums["reports_resolved_late"], resolved),
        median_first_response_seconds=median_seconds(durations.get("first_response", [])),
        median_resolution_seconds=median_seconds(durations.get("resolution", [])),
        ratings=ratings,
        average_rating=round(sums["reports_rating_total"] / ratings, 2) if ratings else None)


async def handling_figures(session: AsyncSession, scope: Scope, period: Period, sums: Sums,
                           now: datetime) -> HandlingFigures:
    if scope.kind == "account":
        # One account: the reports domain's own figures, with its reports open and overdue now.
        kept = await report_stats.handling(session, int(scope.code), period.start, period.end, now)
        return HandlingFigures(**kept.model_dump())
    scope_name, codes = await rollup_codes(session, scope)
    durations = await durations_by_code(session, scope_name, codes, await cut(session, period.start, period.end))
    merged: dict[str, list[tuple[int, int]]] = {}
    for per_metric in durations.values():
        for metric, buckets in per_metric.items():
            merged.setdefault(metric, []).extend(buckets)
    return handling_from(sums, merged)


# --- coverage ---------------------------------------------------------------------------------------------


def divisions_for(period: Period, divisions: Divisions | None) -> Divisions:
    return divisions or ("legacy" if period.legacy else "current")


def _covered_communes(period: Period, kind: str | None) -> Any:
    """The current communes with at least one account (of the kind) by the period's end."""
    return (select(Account.commune_code)
            .where(Account.commune_code.is_not(None), Account.created_at < period.ends_before, *kinds_filter(kind)))


@dataclass
class CoverageRow:
    code: str
    name: str
    communes_total: int
    communes_covered: int

    @property
    def percent(self) -> float | None:
        return _percent(self.communes_covered, self.communes_total)


async def coverage_by_province(session: AsyncSession, period: Period, divisions: Divisions, kind: str | None,
                               province_code: str | None = None) -> list[CoverageRow]:
    """Per province of the divisions: its communes and those covered. Legacy: a legacy commune is covered when
    the current commune it became (any part of it, if it was split) has an account."""
    covered_codes = _covered_communes(period, kind)
    if divisions == "current":
        unit = AdminUnit
        totals_query = (select(unit.province_code, func.count()).where(unit.scheme == "current",
                                                                       unit.level == "commune")
                        .group_by(unit.province_code))
        covered_query = (select(unit.province_code, func.count())
                         .where(unit.scheme == "current", unit.level == "commune", unit.code.in_(covered_codes))
                         .group_by(unit.province_code))
        if province_code is not None:
            totals_query = totals_query.where(unit.province_code == province_code)
            covered_query = covered_query.where(unit.province_code == province_code)
    else:
        conversion = AdminUnitConversion
        legacy = select(AdminUnit.code, AdminUnit.province_code).where(
            AdminUnit.scheme == "legacy", AdminUnit.level == "commune").subquery()
        if province_code is None:
            totals_query = select(legacy.c.province_code, func.count()).group_by(legacy.c.province_code)
            covered_query = (select(legacy.c.province_code, func.count(distinct(conversion.legacy_code)))
                             .join(legacy, legacy.c.code == conversion.legacy_code)
                             .where(conversion.legacy_level == "commune", conversion.current_code.in_(covered_codes))
                             .group_by(legacy.c.province_code))
        else:  # the legacy communes that are now in the (current) province
            totals_query = (select(conversion.current_province_code, func.count(distinct(conversion.legacy_code)))
                            .where(conversion.legacy_level == "commune",
                                   conversion.current_province_code == province_code)
                            .group_by(conversion.current_province_code))
            covered_query = totals_query.where(conversion.current_code.in_(covered_codes))
    totals = dict((await session.execute(totals_query)).all())
    covered = dict((await session.execute(covered_query)).all())
    scheme = "current" if divisions == "current" or province_code is not None else "legacy"
    names = dict((await session.execute(select(AdminUnit.code, AdminUnit.name).where(
        AdminUnit.scheme == scheme, AdminUnit.level == "province"))).all())
    return [CoverageRow(code or "", names.get(code or "", code or ""), int(count), int(covered.get(code, 0)))
            for code, count in sorted(totals.items(), key=lambda item: item[0] or "")]


async def coverage_figures(session: AsyncSession, scope: Scope, period: Period, divisions: Divisions | None,
                           kind: str | None) -> CoverageFigures | None:
    chosen = divisions_for(period, divisions)
    if scope.kind == "commune":
        has_one = await session.scalar(select(func.count()).select_from(
            _covered_communes(period, kind).where(Account.commune_code == scope.code).limit(1).subquery()))
        covered = 1 if has_one else 0
        return CoverageFigures(divisions="current", kind=kind, communes_total=1, communes_covered=covered,
                               percent=float(100 * covered), provinces_total=1, provinces_covered=covered)
    if scope.kind not in ("nation", "province"):
        return None
    rows = await coverage_by_province(session, period, chosen, kind,
                                      scope.code if scope.kind == "province" else None)
    communes = sum(row.communes_total for row in rows)
    covered_communes = sum(row.communes_covered for row in rows)
    return CoverageFigures(
        divisions=chosen, kind=kind, communes_total=communes, communes_covered=covered_communes,
        percent=_percent(covered_communes, communes), provinces_total=len(rows),
        provinces_covered=sum(1 for row in rows if row.communes_covered))


def account_brief_columns() -> list[Any]:
    return [Account.id, Account.name, Account.kind, Account.province_code, Account.commune_code,
            Account.follower_count]
