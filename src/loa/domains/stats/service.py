"""Statistics: the figures of the nation, a province, a commune, an organisation or an account over any period, the
national overview, the tables behind the dashboard's charts, and keeping the rollups (sweep and rebuild).

Every figure is read from the rollups (`models`) and the small reference tables: a request never counts the raw
follows, messages or reports. The API, the annual report and the dashboard pages share these functions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import ACCOUNT_KINDS, Account
from loa.domains.agencies import service as agencies
from loa.domains.geo import service as geo
from loa.domains.geo.models import AdminUnit
from loa.domains.stats import figures as f
from loa.domains.stats import rollup
from loa.domains.stats.figures import GROUPS, Scope
from loa.domains.stats.periods import Period, resolve, vn_today
from loa.domains.stats.schemas import Divisions, Figures, Overview, PeriodOut
from loa.kit.effects import commit
from loa.kit.errors import Invalid

if TYPE_CHECKING:
    from loa.runtime import Runtime

__all__ = ["Period", "Scope", "figures", "overview", "rebuild", "resolve", "resolve_scope", "roll"]

NATION = Scope("nation")


def period_out(period: Period) -> PeriodOut:
    return PeriodOut(start=period.start, end=period.end, label=period.label())


def check_kind(kind: str | None) -> str | None:
    """An account kind (`school`) or a group of kinds (`state`, `education`, `health`, `utilities`)."""
    if kind is None or kind in ACCOUNT_KINDS or kind in GROUPS:
        return kind
    message = (f"Không có loại tài khoản nào là {kind[:30]!r}. "
               f"(Unknown kind: one of {', '.join(GROUPS)} or an account kind.)")
    raise Invalid(message, code="unknown_kind", details=[{"field": "kind", "message": message}])


def _unknown(field: str, what: str, what_en: str, code: str) -> Invalid:
    message = f"Không có {what} nào mang mã {code[:20]}. (Unknown {what_en} code {code[:20]}.)"
    return Invalid(message, code=f"unknown_{field}", details=[{"field": field, "message": message}])


async def resolve_scope(session: AsyncSession, *, province: str | None = None, commune: str | None = None,
                        organisation: str | None = None, account: str | None = None) -> Scope:
    """The scope named by at most one of the codes; none: the nation. Unknown codes are refused (422), unknown
    organisations and accounts not found (404)."""
    given = [name for name, value in (("province", province), ("commune", commune), ("organisation", organisation),
                                      ("account", account)) if value is not None]
    if len(given) > 1:
        message = (f"Chỉ chọn một trong: {', '.join(given)}. "
                   "(Give one of province, commune, organisation or account.)")
        raise Invalid(message, code="invalid_scope", details=[{"field": given[1], "message": message}])
    if province is not None:
        unit = await geo.get_province(session, province)
        if unit is None:
            raise _unknown("province", "tỉnh/thành phố", "province", province)
        return Scope("province", unit.code, unit.name, unit.code)
    if commune is not None:
        unit = await geo.get_commune(session, commune)
        if unit is None:
            raise _unknown("commune", "xã/phường", "commune", commune)
        return Scope("commune", unit.code, unit.name, unit.province_code)
    if organisation is not None:
        organisation_id = _id(organisation, "organisation")
        found = await agencies.get_organisation(session, organisation_id)
        return Scope("organisation", str(found.id), found.name, found.province_code,
                     tuple(await agencies.subtree_ids(session, found.id)))
    if account is not None:
        found_account = await accounts.get_account(session, _id(account, "account"))
        return Scope("account", str(found_account.id), found_account.name, found_account.province_code)
    return NATION


def _id(value: str, field: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < len(value) <= 18):
        message = f"Mã {field} phải là một số. (The {field} id is a number.)"
        raise Invalid(message, code=f"invalid_{field}", details=[{"field": field, "message": message}])
    return int(value)


async def figures(session: AsyncSession, scope: Scope, period: Period, *, divisions: Divisions | None = None,
                  kind: str | None = None, now: datetime | None = None) -> Figures:
    """Everything about a scope over a period: accounts, follows, interactions, coverage, handling."""
    now = now or utcnow()
    kind = check_kind(kind)
    sums = await f.scope_sums(session, scope, period.start, period.end)
    return Figures(
        scope=scope.out(), period=period_out(period), as_of=await f.as_of(session),
        accounts=await f.account_figures(session, scope, period),
        follows=await f.follow_figures(session, scope, period, sums),
        interactions=f.interaction_figures(sums),
        coverage=await f.coverage_figures(session, scope, period, divisions, kind),
        handling=await f.handling_figures(session, scope, period, sums, now))


async def overview(session: AsyncSession) -> Overview:
    """The nation now: accounts and follows as the domains keep them, coverage of the current divisions, and this
    year's messages and reports from the rollups (one row each)."""
    accounts_total, follows_total = (await session.execute(select(
        func.count(), func.coalesce(func.sum(Account.follower_count), 0)))).one()
    verified = int(await session.scalar(select(func.count()).where(Account.verification_status == "verified")) or 0)
    provinces_total = int(await session.scalar(select(func.count()).select_from(AdminUnit).where(
        AdminUnit.scheme == "current", AdminUnit.level == "province")) or 0)
    provinces_covered = int(await session.scalar(select(func.count(distinct(Account.province_code))).where(
        Account.province_code.in_(select(AdminUnit.code).where(AdminUnit.scheme == "current",
                                                               AdminUnit.level == "province")))) or 0)
    communes_total = int(await session.scalar(select(func.count()).select_from(AdminUnit).where(
        AdminUnit.scheme == "current", AdminUnit.level == "commune")) or 0)
    communes_covered = int(await session.scalar(select(func.count(distinct(Account.commune_code))).where(
        Account.commune_code.in_(select(AdminUnit.code).where(AdminUnit.scheme == "current",
                                                              AdminUnit.level == "commune")))) or 0)
    today = vn_today()
    this_year = await f.cut(session, date(today.year, 1, 1), date(today.year, 12, 31))
    year = await f.sums_by_code(session, "nation", [""], this_year)
    sums = year.get("", f.total([]))
    resolved = sums["reports_resolved"]
    return Overview(
        accounts_total=int(accounts_total), verified_accounts=verified, follows_total=int(follows_total),
        provinces_total=provinces_total, provinces_covered=provinces_covered, communes_total=communes_total,
        communes_covered=communes_covered, year=today.year, messages_in_year=sums["messages_in"],
        reports_received_year=sums["reports_received"],
        on_time_percent_year=round(100 * sums["reports_resolved_on_time"] / resolved, 1) if resolved else None,
        as_of=await f.as_of(session))


# --- keeping the rollups -----------------------------------------------------------------------------------


async def roll(runtime: Runtime, now: datetime | None = None, *, raw: bool = False) -> rollup.RollResult:
    """Bring the rollups up to date (the sweep; also `./loa stats roll`); `raw`: re-read the raw tables too."""
    async with runtime.session() as session:
        result = await rollup.roll(session, now, raw=raw)
        await commit(session)
    return result


async def rebuild(runtime: Runtime, since: date | None = None, *, report: rollup.Report | None = None
                  ) -> rollup.RollResult:
    """Refill the rollups from the raw tables (every day, or from `since` on): `./loa stats rebuild`."""
    async with runtime.session() as session:
        result = await rollup.rebuild(session, since, report=report or (lambda _: None))
        await commit(session)
    if not runtime.is_sqlite:
        async with runtime.session() as session:  # fresh planner statistics for tables that just changed a lot
            from sqlalchemy import text

            await session.execute(text("ANALYZE stats_rollups, stats_duration_rollups"))
            await session.commit()
    return result

