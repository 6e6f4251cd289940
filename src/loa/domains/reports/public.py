"""The public face of reports (no login): the list, one report's page and the map.

Only `public_visible` reports appear (the citizen chose public, staff did not hide it, it was neither
rejected nor merged) and the reporter never does: no id, name or contact, and none of the reporter's own
words beyond the report itself. Where the category asks for it, a location is snapped to the centre of a
fixed grid cell, so that no number of requests reveals more than the cell; every filter that depends on
the location (the map's bounding box, the text search) works on what is shown, never on the true point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo import service as geo
from loa.domains.geo.schemas import Unit
from loa.domains.reports import service
from loa.domains.reports.models import FINISHED_STATUSES, Report, ReportCategory, ReportEvent
from loa.domains.reports.validation import EARTH_METRES
from loa.kit.errors import Invalid, NotFound
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.text import fold

METRES_PER_DEGREE = EARTH_METRES * math.pi / 180  # ≈ 111,195 m along a meridian
MAX_ROUNDING_M = 5_000  # the most a category may blur a location (operators' setting)
MAP_LIMIT = 500  # points on one map answer: a client zooms in for more
SCAN_BATCH = 200  # rows read at a time when a filter runs in Python after SQL
MAX_WORDS = 8

STATUS_LABELS: dict[str, str] = {
    "submitted": "Đã gửi / Submitted",
    "accepted": "Đã tiếp nhận / Accepted",
    "assigned": "Đã giao xử lý / Assigned",
    "in_progress": "Đang xử lý / In progress",
    "waiting": "Chờ bổ sung thông tin / Waiting for information",
    "reopened": "Đang xử lý lại / Reopened",
    "resolved": "Đã có kết quả / Resolved",
    "closed": "Đã đóng / Closed",
    "rejected": "Không đủ điều kiện xử lý / Rejected",
    "merged": "Trùng với phản ánh khác / Duplicate",
}
# Event data a stranger may read: deadlines, where a report went, which report it duplicates.
_PUBLIC_EVENT_DATA = ("deadline", "due_at", "to_account_name", "duplicate_of_code")


def invalid(field: str, message: str, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, details=[{"field": field, "message": message}])


# --- rounding --------------------------------------------------------------------------------------------


def rounded(latitude: float, longitude: float, metres: int) -> tuple[float, float]:
    """The centre of the grid cell of `metres` × `metres` holding the point (0: the point itself).

    The grid is fixed (rows of `metres` of latitude from the equator; in each row, columns of `metres`
    measured at the row's middle), so the answer is the same on every request: averaging many answers never
    homes in on the true point. The centre is at most half a cell's diagonal (≈ 0.71 × metres) away."""
    if metres <= 0:
        return latitude, longitude
    lat_step = metres / METRES_PER_DEGREE
    row = math.floor(latitude / lat_step)
    centre_lat = (row + 0.5) * lat_step
    # The column width depends on the row only, never on the point: cells do not shift within a row.
    lon_step = lat_step / max(math.cos(math.radians(centre_lat)), 0.01)
    centre_lon = (math.floor(longitude / lon_step) + 0.5) * lon_step
    return round(centre_lat, 6), round(max(-180.0, min(180.0, centre_lon)), 6)


def shown_location(report: Report, category: ReportCategory | None) -> tuple[float | None, float | None]:
    if report.latitude is None or report.longitude is None:
        return None, None
    return rounded(report.latitude, report.longitude, category.public_rounding_m if category else MAX_ROUNDING_M)


def state_of(status: str) -> str:
    """Open311's two states: anything still being handled is open."""
    return "closed" if status in FINISHED_STATUSES else "open"


# --- filters ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    category_id: int | None = None
    province_code: str | None = None
    commune_code: str | None = None
    state: str | None = None  # open | closed
    words: tuple[str, ...] = ()


async def categories_by_id(session: AsyncSession) -> dict[int, ReportCategory]:
    """Every category, enabled or not (a disabled one keeps its reports): a few dozen rows."""
    return {category.id: category for category in (await session.scalars(select(ReportCategory))).all()}


async def make_filters(session: AsyncSession, *, category: str | None = None, province_code: str | None = None,
                       commune_code: str | None = None, state: str | None = None, q: str | None = None) -> Filters:
    """The filters of a public query, with unknown codes refused naming the parameter (a typo must not
    look like "no reports here")."""
    category_id = None
    if category:
        category_id = await session.scalar(select(ReportCategory.id).where(ReportCategory.code == category))
        if category_id is None:
            raise invalid("category", "Không có loại phản ánh này / Unknown report category", "unknown_category")
    if province_code:
        await geo.require_province(session, province_code, field="province_code")
    if commune_code:
        await geo.require_commune(session, commune_code, province_code=province_code or None, field="commune_code")
    words = tuple(fold(q or "").split())
    if len(words) > MAX_WORDS:
        raise invalid("q", f"Tìm tối đa {MAX_WORDS} từ / Search for {MAX_WORDS} words at most", "too_many_words")
    return Filters(category_id, province_code or None, commune_code or None, state, words)


def public_query(filters: Filters) -> Select[tuple[Report]]:
    """Public reports matching the filters, newest first: `ix_reports_public (public_visible, id)` serves
    the order, so an unfiltered page reads about `limit` index entries whatever the table's size (a filter
    reads on until it has a page, or the planner takes the commune index)."""
    query = select(Report).where(Report.public_visible.is_(True))
    if filters.category_id is not None:
        query = query.where(Report.category_id == filters.category_id)
    if filters.commune_code:
        query = query.where(Report.commune_code == filters.commune_code)
    elif filters.province_code:
        query = query.where(Report.province_code == filters.province_code)
    if filters.state == "open":
        query = query.where(Report.open.is_(True))
    elif filters.state == "closed":
        query = query.where(Report.open.is_(False))
    # A superset in SQL (the stored search text also holds the address), narrowed in `_shown_text_matches`.
    for word in filters.words:
        query = query.where(Report.search_folded.contains(word, autoescape=True))
    return query.order_by(Report.id.desc())


def _shown_text_matches(words: tuple[str, ...]) -> Callable[[Report], bool]:
    """Whether every word is in the text the public page shows. The address is left out: searching for a
    house number must not reveal where a report whose location is blurred really is."""

    def keep(report: Report) -> bool:
        text = fold(f"{report.code} {report.title} {report.description}")
        return all(word in text for word in words)

    return keep


async def _scan(session: AsyncSession, query: Select[tuple[Report]], keep: Callable[[Report], bool] | None,
                limit: int) -> tuple[list[Report], bool]:
    """Up to `limit` rows of `query` (newest first) that `keep` accepts, and whether there are more: read in
    batches by id, so a filter applied in Python still gives full pages and a correct cursor."""
    found: list[Report] = []
    batch = limit + 1 if keep is None else max(limit + 1, SCAN_BATCH)
    before: int | None = None
    while True:
        page = query if before is None else query.where(Report.id < before)
        rows = list((await session.scalars(page.limit(batch))).all())
        for report in rows:
            if keep is None or keep(report):
                found.append(report)
                if len(found) > limit:
                    return found[:limit], True
        if len(rows) < batch:
            return found, False
        before = rows[-1].id


# --- the list and one report -----------------------------------------------------------------------------


async def list_reports(session: AsyncSession, filters: Filters, *, cursor: str | None,
                       limit: int) -> tuple[list[Report], str | None]:
    query = public_query(filters)
    last_id = cursor_int(decode_cursor(cursor), "id", minimum=1)
    if last_id is not None:
        query = query.where(Report.id < last_id)
    rows, more = await _scan(session, query, _shown_text_matches(filters.words) if filters.words else None, limit)
    return rows, encode_cursor({"id": rows[-1].id}) if more and rows else None


async def get_public_report(session: AsyncSession, code: str) -> Report:
    """A public report by its tracking code; anything not public is "not found", as if it did not exist."""
    report = await session.scalar(select(Report).where(Report.code == code.strip().upper()))
    if report is None or not report.public_visible:
        raise NotFound(service.NOT_FOUND, code="report_not_found")
    return report


@dataclass(frozen=True)
class Places:
    communes: dict[str, Unit]
    provinces: dict[str, Unit]

    def commune_name(self, code: str | None) -> str | None:
        unit = self.communes.get(code or "")
        return unit.name if unit else None

    def province_name(self, code: str | None) -> str | None:
        unit = self.provinces.get(code or "")
        return unit.name if unit else None


async def places_of(session: AsyncSession, reports: list[Report]) -> Places:
    """The names of the reports' communes and provinces, in two queries for a whole page."""
    communes = await geo.get_units(session, "commune", [r.commune_code for r in reports if r.commune_code])
    provinces = await geo.get_units(session, "province", [r.province_code for r in reports if r.province_code])
    return Places(communes, provinces)


async def public_timeline(session: AsyncSession, report: Report) -> list[dict[str, Any]]:
    """The steps shown to the reporter, without anyone's id or name. Notes are kept for the agency's steps
    (its decisions and answers are public); the reporter's own notes and rating comment are not: they are
    written to the agency and may name or locate the reporter."""
    events = (await session.scalars(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.public.is_(True)).order_by(ReportEvent.id))).all()
    steps = []
    for event in events:
        view = service.event_view(event, staff=False)
        steps.append({
            "type": view["type"], "label": view["label"], "from_status": event.from_status,
            "to_status": event.to_status, "actor": event.actor,
            "note": event.note if event.actor != "citizen" else "",
            "created_at": event.created_at,
            "data": {key: value for key, value in (event.data or {}).items() if key in _PUBLIC_EVENT_DATA},
        })
    return steps


# --- the map ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    def holds(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east


def check_box(south: float, west: float, north: float, east: float) -> Box:
    """A bounding box in degrees, south-west to north-east (the map never crosses the 180th meridian)."""
    for name, value, bound in (("south", south, 90), ("north", north, 90), ("west", west, 180),
                               ("east", east, 180)):
        if not math.isfinite(value) or abs(value) > bound:
            raise invalid(name, f"Tọa độ không hợp lệ / Invalid coordinate: {name}", "invalid_bbox")
    if south >= north:
        raise invalid("north", "Cạnh bắc phải ở phía bắc cạnh nam / north must be greater than south", "invalid_bbox")
    if west >= east:
        raise invalid("east", "Cạnh đông phải ở phía đông cạnh tây / east must be greater than west", "invalid_bbox")
    return Box(south, west, north, east)


def _widened(box: Box, metres: int) -> Box:
    """The box grown by `metres` on every side: a point that rounding moves into the box lies in it."""
    lat_margin = metres / METRES_PER_DEGREE
    widest = min(90.0, max(abs(box.south), abs(box.north)) + lat_margin)
    lon_margin = lat_margin / max(math.cos(math.radians(widest)), 0.01)
    return Box(box.south - lat_margin, box.west - lon_margin, box.north + lat_margin, box.east + lon_margin)


async def map_points(session: AsyncSession, filters: Filters, box: Box, categories: dict[int, ReportCategory], *,
                     limit: int = MAP_LIMIT) -> tuple[list[tuple[Report, float, float]], bool]:
    """Public reports whose shown (rounded) location lies in the box, newest first, at most `limit`, and
    whether more were left out. The box is tested on the rounded point: testing the true one would let
    ever smaller boxes find it."""
    margin = max((category.public_rounding_m for category in categories.values()), default=0)
    outer = _widened(box, margin)
    query = public_query(filters).where(
        Report.latitude.is_not(None), Report.longitude.is_not(None),
        Report.latitude.between(outer.south, outer.north), Report.longitude.between(outer.west, outer.east))
    shown: dict[int, tuple[float, float]] = {}

    def keep(report: Report) -> bool:
        if filters.words and not _shown_text_matches(filters.words)(report):
            return False
        latitude, longitude = shown_location(report, categories.get(report.category_id))
        if latitude is None or longitude is None or not box.holds(latitude, longitude):
            return False
        shown[report.id] = (latitude, longitude)
        return True

    rows, more = await _scan(session, query, keep, limit)
    return [(report, *shown[report.id]) for report in rows], more
