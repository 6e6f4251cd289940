"""`/api/v1`: the public list and map of reports (no login): reporters never shown, locations rounded where
the category asks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.reports import public, service
from loa.domains.reports.models import Report, ReportCategory
from loa.domains.reports.schemas import AccountBrief, PhotoOut
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session

router = APIRouter(tags=["reports"])

Read = Annotated[AsyncSession, Depends(read_session)]
CategoryParam = Annotated[str | None, Query(max_length=40, description="A category code")]
ProvinceParam = Annotated[str | None, Query(max_length=10, description="A province code (2 digits)")]
CommuneParam = Annotated[str | None, Query(max_length=10, description="A commune code (5 digits)")]
StateParam = Annotated[Literal["open", "closed"] | None,
                       Query(alias="status", description="open: being handled; closed: resolved or closed")]
SearchParam = Annotated[str | None, Query(max_length=100, description="Words, accents optional: “rac thai”")]


class PublicReportRow(BaseModel):
    """A public report in a list. No reporter, no address; the location rounded as the category says."""

    code: str
    category: str
    category_name: str
    category_name_en: str
    status: str
    status_label: str
    state: Literal["open", "closed"]
    title: str
    commune_code: str | None
    commune_name: str | None
    province_code: str | None
    province_name: str | None
    latitude: float | None
    longitude: float | None
    location_rounding_m: int = Field(description="The location is the centre of a cell this wide (0: exact)")
    received_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    overdue: bool


class PublicEvent(BaseModel):
    """A step of the public timeline: what happened and when, never who (beyond citizen / staff / system)."""

    type: str
    label: str
    from_status: str | None
    to_status: str | None
    actor: str
    note: str
    created_at: datetime
    data: dict[str, Any]


class PublicReportOut(PublicReportRow):
    description: str
    account: AccountBrief = Field(description="The agency handling it")
    answer: str | None = Field(description="The agency's published answer")
    closed_at: datetime | None
    rating: int | None = Field(description="The reporter's rating of the handling (1–5), without the comment")
    photos: list[PhotoOut]
    timeline: list[PublicEvent]


class MapPoint(BaseModel):
    code: str
    category: str
    status: str
    state: Literal["open", "closed"]
    title: str
    latitude: float
    longitude: float


class MapOut(BaseModel):
    items: list[MapPoint]
    truncated: bool = Field(description="More reports lie in the box than `limit`: zoom in")


def _row_fields(report: Report, category: ReportCategory, places: public.Places, now: datetime) -> dict[str, Any]:
    latitude, longitude = public.shown_location(report, category)
    return {
        "code": report.code, "category": category.code, "category_name": category.name,
        "category_name_en": category.name_en, "status": report.status,
        "status_label": public.STATUS_LABELS.get(report.status, report.status),
        "state": public.state_of(report.status), "title": report.title,
        "commune_code": report.commune_code, "commune_name": places.commune_name(report.commune_code),
        "province_code": report.province_code, "province_name": places.province_name(report.province_code),
        "latitude": latitude, "longitude": longitude, "location_rounding_m": category.public_rounding_m,
        "received_at": report.received_at, "due_at": report.due_at, "resolved_at": report.resolved_at,
        "overdue": service.overdue(report, now),
    }


@router.get("/public/reports", response_model=Page[PublicReportRow],
            summary="Public reports, newest first (no login; reporters never shown)")
async def public_reports(session: Read, category: CategoryParam = None, province_code: ProvinceParam = None,
                         commune_code: CommuneParam = None, state: StateParam = None, q: SearchParam = None,
                         cursor: CursorParam = None, limit: LimitParam = 30) -> Page[PublicReportRow]:
    filters = await public.make_filters(session, category=category, province_code=province_code,
                                        commune_code=commune_code, state=state, q=q)
    rows, next_cursor = await public.list_reports(session, filters, cursor=cursor, limit=limit)
    categories, places, now = await public.categories_by_id(session), await public.places_of(session, rows), utcnow()
    return Page(items=[PublicReportRow(**_row_fields(report, categories[report.category_id], places, now))
                       for report in rows], next_cursor=next_cursor)


# Declared before `/public/reports/{code}`, which would otherwise take "map" for a code.
@router.get("/public/reports/map", response_model=MapOut,
            summary="Public reports in a bounding box, for a map (rounded locations, at most `limit`)")
async def public_map(
    session: Read,
    south: Annotated[float, Query(ge=-90, le=90)], west: Annotated[float, Query(ge=-180, le=180)],
    north: Annotated[float, Query(ge=-90, le=90)], east: Annotated[float, Query(ge=-180, le=180)],
    category: CategoryParam = None, state: StateParam = None, q: SearchParam = None,
    limit: Annotated[int, Query(ge=1, le=public.MAP_LIMIT)] = public.MAP_LIMIT,
) -> MapOut:
    box = public.check_box(south, west, north, east)
    filters = await public.make_filters(session, category=category, state=state, q=q)
    categories = await public.categories_by_id(session)
    points, more = await public.map_points(session, filters, box, categories, limit=limit)
    return MapOut(items=[MapPoint(code=report.code, category=categories[report.category_id].code,
                                  status=report.status, state=public.state_of(report.status), title=report.title,
                                  latitude=latitude, longitude=longitude) for report, latitude, longitude in points],
                  truncated=more)


@router.get("/public/reports/{code}", response_model=PublicReportOut,
            summary="A public report by its tracking code, with the agency's answer and the public timeline")
async def public_report(session: Read, code: Annotated[str, Path(max_length=20)]) -> PublicReportOut:
    report = await public.get_public_report(session, code)
    category = await session.get(ReportCategory, report.category_id)
    account = await accounts.get_account(session, report.account_id)
    assert category is not None
    places = await public.places_of(session, [report])
    # The existing photo endpoint serves these to anyone while the report stays public, to nobody after.
    photos = [PhotoOut(id=photo.id, url=f"/api/v1/reports/{report.id}/photos/{photo.id}",
                       thumbnail_url=f"/api/v1/reports/{report.id}/photos/{photo.id}?size=thumbnail",
                       width=photo.width, height=photo.height)
              for photo in await service.photos_of(session, report.id)]
    return PublicReportOut(
        **_row_fields(report, category, places, utcnow()), description=report.description,
        account=AccountBrief(id=account.id, name=account.name, handle=account.handle), answer=report.answer,
        closed_at=report.closed_at, rating=report.rating, photos=photos,
        timeline=[PublicEvent(**step) for step in await public.public_timeline(session, report)])
