"""`/stats`: the public accountability dashboard (no sign-in). The nation or one province over a year or any period:
headline figures, then each chart beside its table (the accessible fallback, the same numbers) and the links to
download that table as CSV or XLSX from `/api/v1/stats/tables/{name}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo import service as geo
from loa.domains.stats import service, tables
from loa.domains.stats.periods import FIRST_YEAR, Period, vn_today
from loa.domains.stats.schemas import Figures, Table
from loa.kit import i18n
from loa.kit.errors import AppError, Invalid
from loa.web.deps import Read, page_router
from loa.web.render import pick, render

router = page_router()

TOP = 10  # rows of the ranking and handling charts (their tables and downloads say the same)
Param = Annotated[str, Query(max_length=100)]  # checked here, to answer with a readable message on the page


@dataclass
class Chart:
    """One chart of the page: Chart.js's type, the labels and the series (each a label and its numbers)."""

    id: str
    kind: str  # bar, line
    labels: list[str]
    series: list[dict[str, Any]]
    horizontal: bool = False
    stacked: bool = False

    def config(self) -> dict[str, Any]:
        return {"type": self.kind, "labels": self.labels, "series": self.series, "horizontal": self.horizontal,
                "stacked": self.stacked}


@dataclass
class Shown:
    """A table as the page shows it: columns in the reader's language, rows, its chart and its downloads."""

    table: Table
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[dict[str, Any]]
    chart: Chart | None
    downloads: dict[str, str] = field(default_factory=dict)  # format → URL
    note: str | None = None


def reader_language(request: Request) -> str:
    """The language the page is rendered in (the viewer's, as `render` picks it)."""
    found = getattr(request.state, "viewer", None)
    return found.lang if found is not None else i18n.language_of(request)


def _labels(table: Table, lang: str, keys: list[str]) -> list[tuple[str, str]]:
    by_key = {column.key: column for column in table.columns}
    return [(key, by_key[key].label if lang == "vi" else by_key[key].label_en) for key in keys]


def _series(table: Table, lang: str, keys: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": label, "data": [row.get(key) for row in rows]} for key, label in _labels(table, lang, keys)]


def download_links(name: str, query: dict[str, str]) -> dict[str, str]:
    return {fmt: f"/api/v1/stats/tables/{name}?" + urlencode({**query, "format": fmt}) for fmt in ("csv", "xlsx")}


def period_query(period: Period) -> dict[str, str]:
    """The period as the API's parameters (always explicit days: the download is the page's table)."""
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def parse_period(year: str, start: str, end: str) -> Period:
    """The period from the filter form; text that is not a year or a day is refused like a bad period."""
    chosen_year = None
    if year.strip():
        if not (year.strip().isascii() and year.strip().isdigit()):
            raise Invalid(f"Năm {year[:10]!r} không hợp lệ. (The year {year[:10]!r} is not a year.)",
                          code="invalid_period")
        chosen_year = int(year.strip()[:6])
    days = []
    for field_name, value in (("from", start), ("to", end)):
        try:
            days.append(date.fromisoformat(value.strip()) if value.strip() else None)
        except ValueError:
            raise Invalid(f"Ngày {value[:12]!r} không hợp lệ (năm-tháng-ngày). "
                          f"(The day {value[:12]!r} is not a date: year-month-day.)",
                          code="invalid_period", details=[{"field": field_name, "message": "date"}]) from None
    return service.resolve(year=chosen_year, start=days[0], end=days[1])


def handling_shown(table: Table, lang: str, query: dict[str, str]) -> Shown:
    keys = ["name", "received", "resolved", "on_time_percent", "late_percent", "median_first_response_hours",
            "median_resolution_hours", "average_rating"]
    rows = table.rows
    chart = Chart("chart-handling", "bar", [str(row["name"]) for row in rows],
                  _series(table, lang, ["on_time_percent", "late_percent"], rows), horizontal=True,
                  stacked=True) if rows else None
    return Shown(table, _labels(table, lang, keys), rows, chart,
                 download_links("handling", {**query, "limit": str(TOP)}))


def activity_shown(table: Table, lang: str, query: dict[str, str]) -> Shown:
    keys = ["period", "follows", "net_follows", "messages_in", "messages_out", "reports_received",
            "reports_resolved", "broadcasts"]
    rows = table.rows
    chart = Chart("chart-activity", "line", [str(row["period"]) for row in rows],
                  _series(table, lang, ["follows", "messages_in", "messages_out", "reports_received"], rows))
    return Shown(table, _labels(table, lang, keys), rows, chart, download_links("activity", query))


def _areas_shown(table: Table, lang: str, query: dict[str, str], by_commune: bool) -> Shown:
    keys = ["name", "accounts", "communes_covered", "communes_total", "coverage_percent", "followers",
            "messages_in", "reports_received", "on_time_percent"]
    rows, note = table.rows, None
    if by_commune:  # hundreds of communes: the page shows those with an account, the download all of them
        keys = ["name", "accounts", "followers", "messages_in", "reports_received", "on_time_percent"]
        rows = [row for row in rows if row["accounts"]]
        note = "communes"
    chart = Chart("chart-areas", "bar", [str(row["name"]) for row in rows],
                  _series(table, lang, ["accounts"], rows), horizontal=True) if rows else None
    return Shown(table, _labels(table, lang, keys), rows, chart, download_links("areas", query), note)


def _ranking_shown(table: Table, lang: str, query: dict[str, str]) -> Shown:
    keys = ["rank", "name", "kind", "followers", "net_follows", "messages_in", "reports_received", "on_time_percent"]
    rows = table.rows
    chart = Chart("chart-ranking", "bar", [str(row["name"]) for row in rows],
                  _series(table, lang, ["followers"], rows), horizontal=True) if rows else None
    return Shown(table, _labels(table, lang, keys), rows, chart,
                 download_links("ranking", {**query, "limit": str(TOP)}))


def durations(figures: Figures) -> dict[str, timedelta | None]:
    handling = figures.handling
    return {name: None if seconds is None else timedelta(seconds=round(seconds))
            for name, seconds in (("first_response", handling.median_first_response_seconds),
                                  ("resolution", handling.median_resolution_seconds),
                                  ("answer", figures.interactions.average_first_response_seconds))}


async def _dashboard(session: AsyncSession, lang: str, province: str, period: Period) -> dict[str, Any]:
    scope = await service.resolve_scope(session, province=province or None)
    query = {**({"province": province} if province else {}), **period_query(period)}
    build = tables.build
    areas = await build(session, "areas", scope, period, tables.Options())
    ranking = await build(session, "ranking", scope, period, tables.Options(limit=TOP))
    handling = await build(session, "handling", scope, period, tables.Options(limit=TOP))
    activity = await build(session, "activity", scope, period, tables.Options(grain="month"))
    figures = await service.figures(session, scope, period)
    return {
        "scope": scope, "figures": figures, "durations": durations(figures),
        "sections": [("areas", _areas_shown(areas, lang, query, by_commune=bool(province))),
                     ("ranking", _ranking_shown(ranking, lang, query)),
                     ("handling", handling_shown(handling, lang, query)),
                     ("activity", activity_shown(activity, lang, query))],
    }


@router.get("/stats", response_class=HTMLResponse)
async def dashboard(request: Request, session: Read, province: Param = "", year: Param = "",
                    start: Annotated[str, Query(alias="from", max_length=100)] = "",
                    end: Annotated[str, Query(alias="to", max_length=100)] = "") -> HTMLResponse:
    lang = reader_language(request)
    chosen = {"province": province, "year": year, "from": start, "to": end}
    context: dict[str, Any] = {"chosen": chosen, "provinces": await geo.list_provinces(session),
                               "years": list(range(vn_today().year, FIRST_YEAR - 1, -1)), "error": None}
    try:
        period = parse_period(year, start, end)
        context.update(period=period, **await _dashboard(session, lang, province.strip(), period))
    except AppError as exc:  # a bad filter: said on the page, with the filters to fix it
        context["error"] = pick(request, exc.message)
        return render(request, "stats/dashboard.html", context, status_code=exc.status_code)
    return render(request, "stats/dashboard.html", context)
