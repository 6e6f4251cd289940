"""The tables behind the dashboard's charts and the annual report, each downloadable as CSV or XLSX.

A table is columns (Vietnamese and English labels) and rows of plain values; the same rows are the JSON, the CSV
and the spreadsheet, so a chart, its table and its download never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import Account
from loa.domains.geo.models import AdminUnit
from loa.domains.stats import figures as f
from loa.domains.stats import rollup
from loa.domains.stats.figures import GROUPS, Scope, Sums
from loa.domains.stats.models import COUNTERS, StatsRollup
from loa.domains.stats.periods import Period, bucket_of, buckets, pieces
from loa.domains.stats.schemas import Column, Divisions, Table, TableInfo
from loa.kit.errors import Invalid

Sort = Literal["followers", "net_follows", "messages_in", "reports_received"]
Grain = Literal["day", "month", "year"]
MAX_ROWS = 20_000  # every account of the nation fits
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Options:
    divisions: Divisions | None = None
    kind: str | None = None
    sort: Sort = "followers"
    limit: int = 100
    grain: Grain = "month"


def _columns(*specs: tuple[str, str, str]) -> list[Column]:
    return [Column(key=key, label=label, label_en=label_en) for key, label, label_en in specs]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _refuse_scope(table: str, allowed: str) -> Invalid:
    message = f"Bảng {table} chỉ có cho {allowed}. (The {table} table is for {allowed} only.)"
    return Invalid(message, code="invalid_scope", details=[{"field": "scope", "message": message}])


# --- the tables -----------------------------------------------------------------------------------------------


async def areas(session: AsyncSession, scope: Scope, period: Period, options: Options) -> tuple[list[Column], list]:
    """The nation by province, or a province by commune: accounts, coverage, follows, messages and reports."""
    if scope.kind not in ("nation", "province"):
        raise _refuse_scope("areas", "toàn quốc hoặc một tỉnh / the nation or a province")
    found = await f.cut(session, period.start, period.end)
    ends = period.ends_before
    if scope.kind == "nation":
        key = Account.province_code
        units = dict((await session.execute(select(AdminUnit.code, AdminUnit.name).where(
            AdminUnit.scheme == "current", AdminUnit.level == "province").order_by(AdminUnit.code))).all())
        coverage = {row.code: row for row in await f.coverage_by_province(session, period, "current", options.kind)}
        sums = await f.sums_by_code(session, "province", list(units), found)
    else:
        key = Account.commune_code
        units = dict((await session.execute(select(AdminUnit.code, AdminUnit.name).where(
            AdminUnit.scheme == "current", AdminUnit.level == "commune", AdminUnit.province_code == scope.code)
            .order_by(AdminUnit.code))).all())
        coverage = {}
        members: dict[str, list[str]] = {}
        for account_id, commune in (await session.execute(select(Account.id, Account.commune_code).where(
                Account.province_code == scope.code, Account.commune_code.is_not(None)))).all():
            members.setdefault(commune, []).append(str(account_id))
        per_account = await f.sums_by_code(session, "account", [a for ids in members.values() for a in ids], found)
        sums = {code: f.total(per_account[a] for a in ids if a in per_account) for code, ids in members.items()}
    counted = {code: (count, followers) for code, count, followers in (await session.execute(
        select(key, func.count(), func.coalesce(func.sum(Account.follower_count), 0))
        .where(Account.created_at < ends, *f.kinds_filter(options.kind)).group_by(key))).all()}
    columns = _columns(("code", "Mã", "Code"), ("name", "Tên", "Name"), ("accounts", "Tài khoản", "Accounts"),
                       ("communes_total", "Số xã, phường", "Communes"),
                       ("communes_covered", "Xã, phường có tài khoản", "Communes covered"),
                       ("coverage_percent", "Tỷ lệ phủ (%)", "Coverage (%)"),
                       ("followers", "Lượt quan tâm hiện nay", "Followers now"),
                       ("net_follows", "Quan tâm mới (ròng)", "Net new follows"),
                       ("messages_in", "Tin nhắn của người dân", "Citizens' messages"),
                       ("reports_received", "Phản ánh nhận", "Reports received"),
                       ("reports_resolved", "Phản ánh đã giải quyết", "Reports resolved"),
                       ("on_time_percent", "Đúng hạn (%)", "On time (%)"))
    rows = []
    for code, name in units.items():
        count, followers = counted.get(code, (0, 0))
        cover = coverage.get(code)
        total = sums.get(code, f.total([]))
        rows.append({
            "code": code, "name": name, "accounts": int(count),
            "communes_total": cover.communes_total if cover else 1,
            "communes_covered": cover.communes_covered if cover else (1 if count else 0),
            "coverage_percent": cover.percent if cover else (100.0 if count else 0.0),
            "followers": int(followers), "net_follows": f.net_follows(total), "messages_in": total["messages_in"],
            "reports_received": total["reports_received"], "reports_resolved": total["reports_resolved"],
            "on_time_percent": _percent(total["reports_resolved_on_time"], total["reports_resolved"])})
    return columns, rows


async def coverage(session: AsyncSession, scope: Scope, period: Period, options: Options) -> tuple[list[Column], list]:
    """Communes with an account (of the kind) per province, in the current or the legacy divisions."""
    if scope.kind not in ("nation", "province"):
        raise _refuse_scope("coverage", "toàn quốc hoặc một tỉnh / the nation or a province")
    divisions = f.divisions_for(period, options.divisions)
    rows = await f.coverage_by_province(session, period, divisions, options.kind,
                                       scope.code if scope.kind == "province" else None)
    columns = _columns(("code", "Mã tỉnh", "Province code"), ("name", "Tỉnh, thành phố", "Province"),
                       ("divisions", "Đơn vị hành chính", "Divisions"),
                       ("communes_total", "Số xã, phường", "Communes"),
                       ("communes_covered", "Xã, phường có tài khoản", "Communes covered"),
                       ("coverage_percent", "Tỷ lệ phủ (%)", "Coverage (%)"))
    label = "hiện hành / current" if divisions == "current" else "trước 1/7/2025 / before 1 July 2025"
    return columns, [{"code": row.code, "name": row.name, "divisions": label, "communes_total": row.communes_total,
                      "communes_covered": row.communes_covered, "coverage_percent": row.percent} for row in rows]


async def accounts_by_year(session: AsyncSession, scope: Scope, period: Period,
                           options: Options) -> tuple[list[Column], list]:
    """Accounts opened each year and how many there were at its end (verified ones too)."""
    ends = period.ends_before
    year = f._year_of(session, Account.created_at)
    where = [*scope.account_filter(), *f.kinds_filter(options.kind), Account.created_at < ends]
    created = dict((await session.execute(select(year, func.count()).where(*where).group_by(year))).all())
    verified_year = f._year_of(session, func.coalesce(Account.verified_at, Account.created_at))
    verified = dict((await session.execute(select(verified_year, func.count()).where(
        *where, f._is_verified_by(ends)).group_by(verified_year))).all())
    columns = _columns(("year", "Năm", "Year"), ("created", "Mở mới", "Opened"),
                       ("total", "Tổng cuối năm", "Total at year end"),
                       ("verified", "Đã xác thực cuối năm", "Verified at year end"))
    rows = []
    total = verified_total = 0
    years = sorted({int(y) for y in created} | {int(y) for y in verified})
    for year_value in range(years[0], period.end.year + 1) if years else ():
        total += int(created.get(year_value, 0))
        verified_total += int(verified.get(year_value, 0))
        rows.append({"year": year_value, "created": int(created.get(year_value, 0)), "total": total,
                     "verified": verified_total})
    return columns, rows


async def accounts_by_kind(session: AsyncSession, scope: Scope, period: Period,
                           options: Options) -> tuple[list[Column], list]:
    figures = await f.account_figures(session, scope, period)
    columns = _columns(("group", "Nhóm", "Group"), ("kind", "Loại", "Kind"), ("label", "Tên loại", "Kind name"),
                       ("accounts", "Tài khoản", "Accounts"), ("verified", "Đã xác thực", "Verified"),
                       ("verified_percent", "Tỷ lệ xác thực (%)", "Verified (%)"))
    rows = [{"group": GROUPS[item.group][0], "kind": item.kind, "label": item.label, "accounts": item.accounts,
             "verified": item.verified, "verified_percent": _percent(item.verified, item.accounts)}
            for item in figures.by_kind]
    return columns, rows


async def _ranked_ids(session: AsyncSession, scope: Scope, period: Period, options: Options) -> list[int]:
    if options.sort == "followers":
        return list(await session.scalars(
            select(Account.id).where(*scope.account_filter(), *f.kinds_filter(options.kind))
            .order_by(Account.follower_count.desc(), Account.id).limit(options.limit)))
    value = (func.sum(StatsRollup.follows) - func.sum(StatsRollup.unfollows) if options.sort == "net_follows"
             else func.sum(getattr(StatsRollup, options.sort)))
    dialect = session.get_bind().dialect.name
    joined = StatsRollup.__table__.join(Account.__table__, rollup._joins_account(dialect, StatsRollup.code))
    found = await f.cut(session, period.start, period.end)
    rows = await session.execute(
        select(Account.id, value).select_from(joined)
        .where(StatsRollup.scope == "account", f._in_pieces(StatsRollup, found),
               *scope.account_filter(), *f.kinds_filter(options.kind))
        .group_by(Account.id).order_by(value.desc(), Account.id).limit(options.limit))
    return [row[0] for row in rows.all() if row[1]]


async def ranking(session: AsyncSession, scope: Scope, period: Period, options: Options) -> tuple[list[Column], list]:
    """The scope's accounts, by followers (or by net new follows, citizens' messages or reports in the period)."""
    ids = await _ranked_ids(session, scope, period, options)
    found = await f.cut(session, period.start, period.end)
    sums = await f.sums_by_code(session, "account", [str(i) for i in ids], found)
    accounts = {row.id: row for row in (await session.execute(
        select(*f.account_brief_columns()).where(Account.id.in_(ids)))).all()} if ids else {}
    columns = _columns(("rank", "Hạng", "Rank"), ("account_id", "Mã tài khoản", "Account id"),
                       ("name", "Tài khoản", "Account"), ("kind", "Loại", "Kind"),
                       ("province_code", "Mã tỉnh", "Province"), ("followers", "Lượt quan tâm", "Followers"),
                       ("net_follows", "Quan tâm mới (ròng)", "Net new follows"),
                       ("messages_in", "Tin nhắn đến", "Messages in"), ("messages_out", "Tin nhắn trả lời",
                                                                        "Messages out"),
                       ("reports_received", "Phản ánh nhận", "Reports received"),
                       ("on_time_percent", "Đúng hạn (%)", "On time (%)"))
    rows = []
    for rank, account_id in enumerate(ids, start=1):
        account = accounts[account_id]
        total = sums.get(str(account_id), f.total([]))
        rows.append({"rank": rank, "account_id": str(account_id), "name": account.name,
                     "kind": KIND_LABELS[account.kind][0], "province_code": account.province_code,
                     "followers": account.follower_count, "net_follows": f.net_follows(total),
                     "messages_in": total["messages_in"], "messages_out": total["messages_out"],
                     "reports_received": total["reports_received"],
                     "on_time_percent": _percent(total["reports_resolved_on_time"], total["reports_resolved"])})
    return columns, rows


async def handling(session: AsyncSession, scope: Scope, period: Period, options: Options) -> tuple[list[Column], list]:
    """How each agency of the scope handled citizens' reports in the period, the busiest first."""
    ranked = await _ranked_ids(session, scope, period, Options(kind=options.kind, sort="reports_received",
                                                               limit=options.limit))
    codes = [str(i) for i in ranked]
    found = await f.cut(session, period.start, period.end)
    sums = await f.sums_by_code(session, "account", codes, found)
    durations = await f.durations_by_code(session, "account", codes, found)
    names = dict((await session.execute(select(Account.id, Account.name).where(Account.id.in_(ranked)))).all()
                 ) if ranked else {}
    columns = _columns(("account_id", "Mã tài khoản", "Account id"), ("name", "Cơ quan", "Agency"),
                       ("received", "Nhận", "Received"), ("resolved", "Đã giải quyết", "Resolved"),
                       ("resolved_on_time", "Đúng hạn", "On time"), ("resolved_late", "Trễ hạn", "Late"),
                       ("on_time_percent", "Đúng hạn (%)", "On time (%)"), ("late_percent", "Trễ hạn (%)",
                                                                            "Late (%)"),
                       ("median_first_response_hours", "Phản hồi đầu (giờ, trung vị)",
                        "First response (hours, median)"),
                       ("median_resolution_hours", "Giải quyết (giờ, trung vị)", "Resolution (hours, median)"),
                       ("average_rating", "Mức hài lòng (1–5)", "Satisfaction (1–5)"))
    rows = []
    for account_id in ranked:
        code = str(account_id)
        figures = f.handling_from(sums.get(code, f.total([])), durations.get(code, {}))
        rows.append({"account_id": code, "name": names.get(account_id, code), "received": figures.received,
                     "resolved": figures.resolved, "resolved_on_time": figures.resolved_on_time,
                     "resolved_late": figures.resolved_late, "on_time_percent": figures.on_time_percent,
                     "late_percent": figures.late_percent,
                     "median_first_response_hours": _hours(figures.median_first_response_seconds),
                     "median_resolution_hours": _hours(figures.median_resolution_seconds),
                     "average_rating": figures.average_rating})
    return columns, rows


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


async def activity(session: AsyncSession, scope: Scope, period: Period, options: Options) -> tuple[list[Column], list]:
    """Follows, messages, reports and broadcasts of the scope by day, month or year."""
    found = buckets(period, options.grain)
    scope_name, codes = await f.rollup_codes(session, scope)
    sums: list[Sums] = [f.total([]) for _ in found]
    if codes:
        settled = await f.settled_through(session)
        wanted = [piece for bucket in found for piece in pieces(bucket.start, bucket.end, settled)]
        values = [func.sum(getattr(StatsRollup, name)) for name in COUNTERS]
        rows = await session.execute(
            select(StatsRollup.period, *values)
            .where(StatsRollup.scope == scope_name, StatsRollup.code.in_(codes), f._in_pieces(StatsRollup, wanted))
            .group_by(StatsRollup.grain, StatsRollup.period))
        for period_start, *counted in rows.all():
            target = sums[bucket_of(found, period_start)]
            for name, value in zip(COUNTERS, counted, strict=True):
                target[name] += int(value or 0)
    columns = _columns(("period", "Kỳ", "Period"), ("follows", "Quan tâm", "Follows"),
                       ("unfollows", "Bỏ quan tâm", "Unfollows"), ("net_follows", "Ròng", "Net"),
                       ("messages_in", "Tin nhắn đến", "Messages in"), ("messages_out", "Tin nhắn trả lời",
                                                                        "Messages out"),
                       ("reports_received", "Phản ánh nhận", "Reports received"),
                       ("reports_resolved", "Đã giải quyết", "Resolved"),
                       ("reports_resolved_on_time", "Đúng hạn", "On time"),
                       ("broadcasts", "Bản tin", "Broadcasts"), ("reach", "Lượt tiếp cận", "Reach"))
    rows = [{"period": bucket.label, "follows": total["follows"], "unfollows": total["unfollows"],
             "net_follows": f.net_follows(total), "messages_in": total["messages_in"],
             "messages_out": total["messages_out"],
             "reports_received": total["reports_received"], "reports_resolved": total["reports_resolved"],
             "reports_resolved_on_time": total["reports_resolved_on_time"], "broadcasts": total["broadcasts"],
             "reach": total["reach"]} for bucket, total in zip(found, sums, strict=True)]
    return columns, rows


Builder = Callable[[AsyncSession, Scope, Period, Options], Awaitable[tuple[list[Column], list]]]


@dataclass(frozen=True)
class Spec:
    build: Builder
    title: str
    title_en: str
    description: str


TABLES: dict[str, Spec] = {
    "areas": Spec(areas, "Theo địa bàn", "By area",
                  "The nation by province, or a province by commune: accounts, coverage, follows, messages, reports"),
    "coverage": Spec(coverage, "Độ phủ xã, phường", "Commune coverage",
                     "Communes with an account (kind=…) per province; current or legacy divisions (divisions=…)"),
    "accounts-by-year": Spec(accounts_by_year, "Tài khoản theo năm", "Accounts by year",
                             "Accounts opened each year and the total at each year's end"),
    "accounts-by-kind": Spec(accounts_by_kind, "Tài khoản theo loại", "Accounts by kind",
                             "State agencies, schools, health, utilities: accounts and verified ones"),
    "ranking": Spec(ranking, "Xếp hạng tài khoản", "Ranking of accounts",
                    "Accounts by followers, net new follows, citizens' messages or reports received (sort=…)"),
    "handling": Spec(handling, "Xử lý phản ánh theo cơ quan", "Report handling by agency",
                     "Received, resolved, on time and late, median times, satisfaction, per agency"),
    "activity": Spec(activity, "Hoạt động theo thời gian", "Activity over time",
                     "Follows, messages, reports and broadcasts by day, month or year (grain=…)"),
}


def table_list() -> list[TableInfo]:
    return [TableInfo(name=name, title=spec.title, title_en=spec.title_en, description=spec.description)
            for name, spec in TABLES.items()]


async def build(session: AsyncSession, name: str, scope: Scope, period: Period, options: Options) -> Table:
    from loa.domains.stats.service import period_out

    spec = TABLES[name]
    columns, rows = await spec.build(session, scope, period, options)
    return Table(name=name, title=spec.title, title_en=spec.title_en, scope=scope.out(), period=period_out(period),
                 columns=columns, rows=rows[:MAX_ROWS])


# --- downloads ------------------------------------------------------------------------------------------------


def _header(column: Column) -> str:
    return f"{column.label} ({column.label_en})"


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Vietnamese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_header(column) for column in table.columns])
    for row in table.rows:
        writer.writerow(["" if row.get(column.key) is None else row[column.key] for column in table.columns])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(table: Table) -> bytes:
    """One sheet: the title and period, then the header row (bold, frozen) and the rows as numbers and text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    sheet.append([f"{table.title} — {table.scope.name}"])
    sheet.append([f"{table.period.label} ({table.period.start.isoformat()} – {table.period.end.isoformat()})"])
    sheet.append([_header(column) for column in table.columns])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A4"
    for row in table.rows:
        sheet.append([row.get(column.key) for column in table.columns])
    for index, column in enumerate(table.columns, start=1):
        width = max([len(_header(column))] + [len(str(row.get(column.key) or "")) for row in table.rows[:500]])
        sheet.column_dimensions[sheet.cell(row=3, column=index).column_letter].width = min(max(width, 8), 50)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(table: Table, extension: str) -> str:
    scope = table.scope.kind if table.scope.kind == "nation" else f"{table.scope.kind}-{table.scope.code}"
    period = f"{table.period.start.isoformat()}-{table.period.end.isoformat()}"
    return f"loa-thong-ke-{table.name}-{scope}-{period}.{extension}"

