"""`/api/v1/stats`: the public statistics (no sign-in: counts only, nobody named), as JSON, CSV or XLSX."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.stats import service, tables
from loa.domains.stats.periods import Period
from loa.domains.stats.schemas import Divisions, Figures, Overview, Table, TableList
from loa.kit.errors import NotFound
from loa.kit.sessions import read_session

router = APIRouter(prefix="/stats", tags=["stats"])

Read = Annotated[AsyncSession, Depends(read_session)]
Province = Annotated[str | None, Query(pattern=r"^\d{2}$", description="A province (current code), e.g. 01")]
Commune = Annotated[str | None, Query(pattern=r"^\d{5}$", description="A commune (current code), e.g. 00004")]
OrganisationId = Annotated[str | None, Query(pattern=r"^\d{1,18}$",
                                             description="An organisation, with its sub-organisations")]
AccountId = Annotated[str | None, Query(pattern=r"^\d{1,18}$", description="One account")]
Year = Annotated[int | None, Query(description="A whole calendar year (instead of from/to)")]
From = Annotated[date | None, Query(alias="from", description="First day, included (default: 1 January of `to`)")]
To = Annotated[date | None, Query(alias="to", description="Last day, included (default: today in Vietnam)")]
DivisionsQuery = Annotated[Divisions | None, Query(
    description="Coverage in the current divisions or the legacy ones (default: legacy for periods ending before "
                "1 July 2025)")]
Kind = Annotated[str | None, Query(max_length=40, description="Accounts of one kind (`school`) or group: state, "
                                                              "education, health, utilities")]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, or a download: csv or xlsx")]

DOWNLOADS: dict[int | str, dict[str, Any]] = {200: {"content": {
    "text/csv": {"schema": {"type": "string"}},
    tables.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}}}


async def _scope_and_period(session: AsyncSession, province: str | None, commune: str | None,
                            organisation: str | None, account: str | None, year: int | None, start: date | None,
                            end: date | None) -> tuple[service.Scope, Period]:
    period = service.resolve(year=year, start=start, end=end)
    scope = await service.resolve_scope(session, province=province, commune=commune, organisation=organisation,
                                        account=account)
    return scope, period


@router.get("/overview", response_model=Overview, summary="The nation now: accounts, follows, provinces and "
                                                          "communes covered, this year's messages and reports")
async def overview(session: Read) -> Overview:
    return await service.overview(session)


@router.get("/figures", response_model=Figures, response_model_by_alias=True,
            summary="Figures of the nation, a province, a commune, an organisation or an account over a period")
async def figures(session: Read, province: Province = None, commune: Commune = None,
                  organisation: OrganisationId = None, account: AccountId = None, year: Year = None,
                  start: From = None, end: To = None, divisions: DivisionsQuery = None, kind: Kind = None) -> Figures:
    scope, period = await _scope_and_period(session, province, commune, organisation, account, year, start, end)
    return await service.figures(session, scope, period, divisions=divisions, kind=kind)


@router.get("/tables", response_model=TableList, summary="The tables behind the dashboard's charts")
async def table_list() -> TableList:
    return TableList(items=tables.table_list())


@router.get("/tables/{name}", response_model=Table, response_model_by_alias=True, responses=DOWNLOADS,
            summary="One table as JSON, or downloaded as CSV or XLSX (format=csv|xlsx)")
async def table(
    session: Read,
    name: Annotated[str, Path(max_length=40, description=", ".join(tables.TABLES))],
    province: Province = None,
    commune: Commune = None,
    organisation: OrganisationId = None,
    account: AccountId = None,
    year: Year = None,
    start: From = None,
    end: To = None,
    divisions: DivisionsQuery = None,
    kind: Kind = None,
    sort: Annotated[tables.Sort, Query(description="ranking: what to rank by")] = "followers",
    limit: Annotated[int, Query(ge=1, le=tables.MAX_ROWS, description="ranking and handling: rows")] = 100,
    grain: Annotated[tables.Grain, Query(description="activity: day, month or year")] = "month",
    format: Format = "json",
) -> Any:
    if name not in tables.TABLES:
        raise NotFound(f"Không có bảng {name[:40]!r}. (No table {name[:40]!r}: one of {', '.join(tables.TABLES)}.)",
                       code="table_not_found")
    scope, period = await _scope_and_period(session, province, commune, organisation, account, year, start, end)
    options = tables.Options(divisions=divisions, kind=service.check_kind(kind), sort=sort, limit=limit, grain=grain)
    built = await tables.build(session, name, scope, period, options)
    if format == "json":
        return built
    if format == "csv":
        body, media_type = tables.to_csv(built), "text/csv; charset=utf-8"
    else:  # a large sheet takes a while to write: off the event loop
        body, media_type = await asyncio.to_thread(tables.to_xlsx, built), tables.XLSX_TYPE
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{tables.filename(built, format)}"'})
