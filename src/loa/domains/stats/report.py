"""The annual statistics report, in Vietnamese: `./loa report --year Y [--province P]` writes it as printable HTML
and as PDF (WeasyPrint, charts as SVG drawn here), from the same figures and tables as the API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.stats import charts, service, tables
from loa.domains.stats.figures import Scope
from loa.domains.stats.periods import Period
from loa.domains.stats.schemas import Figures, Table
from loa.kit.worktime import VN

TEMPLATES = Path(__file__).parent / "templates"
TOP_ROWS = 20


@dataclass(frozen=True)
class ReportData:
    figures: Figures
    by_year: Table
    by_kind: Table
    areas: Table
    coverage: Table
    activity: Table
    handling: Table
    ranking: Table
    generated_at: datetime


async def gather(session: AsyncSession, scope: Scope, period: Period) -> ReportData:
    figures = await service.figures(session, scope, period)
    options = tables.Options(limit=TOP_ROWS)

    async def table(name: str, chosen: tables.Options = options) -> Table:
        return await tables.build(session, name, scope, period, chosen)

    return ReportData(
        figures=figures, by_year=await table("accounts-by-year"), by_kind=await table("accounts-by-kind"),
        areas=await table("areas"), coverage=await table("coverage"), activity=await table("activity"),
        handling=await table("handling"), ranking=await table("ranking"), generated_at=utcnow())


def _duration(seconds: float | None) -> str:
    """In minutes under an hour, else in hours (Vietnamese number style)."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{charts.number(seconds / 60)} phút"
    return f"{charts.number(seconds / 3600, 1)} giờ"


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["number"] = charts.number
    environment.filters["percent"] = lambda value: "–" if value is None else f"{charts.number(value, 1)}%"
    environment.filters["hours"] = _duration
    environment.filters["day"] = lambda value: value.strftime("%d/%m/%Y")
    environment.filters["moment"] = lambda value: "–" if value is None else value.astimezone(VN).strftime(
        "%H:%M %d/%m/%Y")
    return environment


def _charts(data: ReportData) -> dict[str, Markup]:
    by_year = data.by_year.rows
    activity = data.activity.rows
    coverage = data.coverage.rows
    drawn = {
        "by_year": charts.columns([str(row["year"]) for row in by_year], [row["total"] for row in by_year],
                                  title="Số tài khoản cuối mỗi năm"),
        "activity": charts.columns([str(row["period"])[5:] + "/" + str(row["period"])[2:4] for row in activity],
                                   [row["messages_in"] for row in activity],
                                   second=[row["messages_out"] for row in activity],
                                   legend=("Tin nhắn của người dân", "Tin nhắn trả lời"),
                                   title="Tin nhắn theo tháng"),
        "follows": charts.columns([str(row["period"])[5:] + "/" + str(row["period"])[2:4] for row in activity],
                                  [max(row["net_follows"], 0) for row in activity],
                                  title="Lượt quan tâm mới (ròng) theo tháng"),
        "groups": charts.bars([group.label for group in data.figures.accounts.by_group],
                              [group.accounts for group in data.figures.accounts.by_group],
                              title="Tài khoản theo nhóm"),
    }
    if len(coverage) > 1:
        drawn["coverage"] = charts.bars([str(row["name"]) for row in coverage],
                                        [row["coverage_percent"] or 0 for row in coverage], unit="%", maximum=100,
                                        title="Tỷ lệ xã, phường có tài khoản")
    return {name: Markup(svg) for name, svg in drawn.items()}  # noqa: S704 - drawn here, every label escaped


def render_html(data: ReportData) -> str:
    template = _environment().get_template("report.html")
    return template.render(data=data, f=data.figures, charts=_charts(data), top_rows=TOP_ROWS)


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)


async def write(session: AsyncSession, scope: Scope, period: Period, out: Path, *, pdf: bool = True
                ) -> list[Path]:
    """Write `bao-cao-thong-ke-<year>[-<province>].html` (and `.pdf`) into `out`; returns the paths."""
    data = await gather(session, scope, period)
    html = render_html(data)
    stem = f"bao-cao-thong-ke-{period.start.year}" + (f"-{scope.code}" if scope.kind == "province" else "")
    return await asyncio.to_thread(_write_files, html, out, stem, pdf)


def _write_files(html: str, out: Path, stem: str, pdf: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / f"{stem}.html"]
    written[0].write_text(html, encoding="utf-8")
    if pdf:
        written.append(out / f"{stem}.pdf")
        write_pdf(html, written[1])
    return written

