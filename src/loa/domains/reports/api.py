"""`/api/v1`: citizens file reports and follow them; an account's staff handle them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.domains.reports import deadlines, service, stats
from loa.domains.reports.models import Report, ReportCategory, ReportCheck, ReportDocument, ReportPhoto
from loa.domains.reports.schemas import (
    AccountBrief,
    CategoryField,
    CategoryOut,
    CitizenActionIn,
    DocumentOut,
    EventOut,
    HiddenIn,
    NearbyOut,
    PhotoOut,
    RatingIn,
    ReportIn,
    ReportOut,
    ReportRow,
    StaffActionIn,
    StaffReportOut,
)
from loa.domains.reports.workflow import allowed_actions
from loa.domains.reports.writer import StoredReport
from loa.kit.auth import Principal, optional_principal, require_user
from loa.kit.errors import Invalid, NotFound
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.images import MAX_UPLOAD_BYTES, TooLarge
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session
from loa.kit.storage import media_storage
from loa.runtime import Runtime

router = APIRouter(tags=["reports"])

Id = Annotated[int, Path(ge=1, le=2**62)]
Read = Annotated[AsyncSession, Depends(read_session)]
CurrentUser = Annotated[User, Depends(require_user)]


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def category_out(category: ReportCategory) -> CategoryOut:
    deadline = deadlines.Deadline(category.deadline_amount, category.deadline_unit)
    return CategoryOut(code=category.code, name=category.name, name_en=category.name_en,
                       description=category.description, group=category.category_group,
                       fields=[CategoryField.model_validate(field) for field in category.fields],
                       deadline=deadline.label, public_rounding_m=category.public_rounding_m)


async def report_view(session: AsyncSession, report: Report | StoredReport, *, staff: bool, role: str | None = None,
                      now: datetime | None = None) -> ReportOut | StaffReportOut:
    now = now or utcnow()
    category = await session.get(ReportCategory, report.category_id)
    account = await accounts.get_account(session, report.account_id)
    assert category is not None
    original = await session.get(Report, report.duplicate_of) if report.duplicate_of else None
    photos = [PhotoOut(id=photo.id, url=f"/api/v1/reports/{report.id}/photos/{photo.id}",
                       thumbnail_url=f"/api/v1/reports/{report.id}/photos/{photo.id}?size=thumbnail",
                       width=photo.width, height=photo.height)
              for photo in await service.photos_of(session, report.id)]
    common: dict[str, Any] = {
        "id": report.id, "code": report.code, "category": category.code, "category_name": category.name,
        "account": AccountBrief(id=account.id, name=account.name, handle=account.handle),
        "status": report.status, "title": report.title, "description": report.description,
        "fields": report.fields, "latitude": report.latitude, "longitude": report.longitude,
        "address": report.address, "commune_code": report.commune_code, "province_code": report.province_code,
        "occurred_at": report.occurred_at, "public": report.public, "received_at": report.received_at,
        "due_at": report.due_at, "overdue": service.overdue(report, now), "answer": report.answer,
        "resolved_at": report.resolved_at, "closed_at": report.closed_at, "rating": report.rating,
        "rating_comment": report.rating_comment, "duplicate_of": original.code if original else None,
        "photos": photos,
        "documents": [DocumentOut(id=document.id, name=document.name, content_type=document.content_type,
                                  size=document.size, url=f"/api/v1/reports/{report.id}/documents/{document.id}")
                      for document in await service.documents_of(session, report.id)],
        "timeline": [EventOut.model_validate(event) for event in await service.timeline(session, report, staff=staff)],
        "actions": allowed_actions(report.status, role=role, citizen=not staff),
    }
    if not staff:
        return ReportOut(**common)
    reporter = await session.get(User, report.reporter_id) if report.reporter_id else None
    check = await session.get(ReportCheck, report.id)
    return StaffReportOut(**common, forward_by=await deadlines.forward_by(session, report.received_at),
                          hidden=report.hidden, assigned_to=report.assigned_to,
                          reporter_name=reporter.display_name if reporter else None, late=service.late(report),
                          remind_at=report.remind_at, paused_at=report.paused_at,
                          reminded_at=check.reminded_at if check else None,
                          escalated_at=check.escalated_at if check else None)


def _row(report: Report, category_codes: dict[int, str], now: datetime) -> ReportRow:
    return ReportRow(id=report.id, code=report.code, category=category_codes.get(report.category_id, ""),
                     status=report.status, title=report.title, commune_code=report.commune_code,
                     received_at=report.received_at, due_at=report.due_at, overdue=service.overdue(report, now),
                     assigned_to=report.assigned_to)


async def _category_codes(session: AsyncSession) -> dict[int, str]:
    return {row.id: row.code for row in (await session.execute(select(ReportCategory.id, ReportCategory.code))).all()}


# --- categories and duplicates ---------------------------------------------------------------------------


@router.get("/report-categories", response_model=list[CategoryOut], summary="What can be reported")
async def categories(session: Read) -> list[CategoryOut]:
    return [category_out(category) for category in await service.list_categories(session)]


@router.get("/report-categories/{code}", response_model=CategoryOut, summary="A category and its fields")
async def category(session: Read, code: Annotated[str, Path(max_length=40)]) -> CategoryOut:
    return category_out(await service.get_category(session, code))


@router.get("/reports/nearby", response_model=list[NearbyOut],
            summary="Open reports of a category within 250 m (suggested before filing a duplicate)")
async def nearby(session: Read, category: Annotated[str, Query(max_length=40)],
                 lat: Annotated[float, Query(ge=-90, le=90)], lon: Annotated[float, Query(ge=-180, le=180)],
                 ) -> list[NearbyOut]:
    found = await service.nearby_open(session, await service.get_category(session, category), lat, lon)
    return [NearbyOut(code=report.code, title=report.title, status=report.status, distance_m=round(distance),
                      received_at=report.received_at) for report, distance in found if report.public_visible]


# --- the citizen's side ----------------------------------------------------------------------------------


@router.post("/reports", response_model=ReportOut, status_code=201, summary="File a report (no photos)")
async def file_report(request: Request, body: ReportIn, user: CurrentUser) -> ReportOut:
    report = await service.submit(
        _runtime(request), reporter=user, category_code=body.category, description=body.description,
        title=body.title, fields=body.fields, latitude=body.latitude, longitude=body.longitude, address=body.address,
        commune_code=body.commune_code, occurred_at=body.occurred_at, public=body.public)
    async with _runtime(request).read_session() as session:
        return await report_view(session, report, staff=False)  # type: ignore[return-value]


@router.post("/reports/form", response_model=ReportOut, status_code=201,
             summary="File a report with photos (multipart; photos lose their EXIF/GPS metadata)")
async def file_report_form(
    request: Request, user: CurrentUser,
    category: Annotated[str, Form(max_length=40)],
    description: Annotated[str, Form(max_length=8000)],
    title: Annotated[str, Form(max_length=200)] = "",
    fields: Annotated[str, Form(max_length=20_000, description="The category's fields as a JSON object")] = "{}",
    latitude: Annotated[float | None, Form(ge=-90, le=90)] = None,
    longitude: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address: Annotated[str | None, Form(max_length=300)] = None,
    commune_code: Annotated[str | None, Form(pattern=r"^\d{5}$")] = None,
    occurred_at: Annotated[datetime | None, Form()] = None,
    public: Annotated[bool, Form()] = True,
    photos: Annotated[list[UploadFile] | None, File(description="Up to 5 photos, 10 MB each")] = None,
    documents: Annotated[list[UploadFile] | None, File(description="Up to 3 documents (PDF, Word, Excel, "
                                                                    "OpenDocument…), 20 MB each")] = None,
) -> ReportOut:
    try:
        parsed = json.loads(fields or "{}")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Invalid("Các trường bổ sung phải là một đối tượng JSON / fields must be a JSON object",
                      code="invalid_fields", details=[{"field": "fields", "message": "a JSON object"}])
    uploads = []
    for upload in (photos or [])[:service.MAX_PHOTOS + 1]:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise TooLarge("Ảnh quá lớn (tối đa 10 MB) / The photo is too large (10 MB at most)")
        uploads.append(service.Photo(data, upload.filename or ""))
    attached = []
    for upload in (documents or [])[:service.MAX_DOCUMENTS + 1]:
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise TooLarge("Tệp quá lớn (tối đa 20 MB) / The file is too large (20 MB at most)")
        attached.append(service.Document(data, upload.filename or ""))
    runtime = _runtime(request)
    report = await service.submit(
        runtime, reporter=user, category_code=category, description=description, title=title, fields=parsed,
        latitude=latitude, longitude=longitude, address=address, commune_code=commune_code,
        occurred_at=occurred_at, public=public, photos=uploads, documents=attached,
        storage=media_storage(runtime.settings))
    async with runtime.read_session() as session:
        return await report_view(session, report, staff=False)  # type: ignore[return-value]


@router.get("/me/reports", response_model=Page[ReportRow], summary="My reports, newest first")
async def my_reports(session: Read, user: CurrentUser, cursor: CursorParam = None,
                     limit: LimitParam = 30) -> Page[ReportRow]:
    rows, next_cursor = await service.my_reports(session, user, cursor=cursor, limit=limit)
    codes, now = await _category_codes(session), utcnow()
    return Page(items=[_row(report, codes, now).model_copy(update={"assigned_to": None}) for report in rows],
                next_cursor=next_cursor)


@router.get("/me/reports/{report_id}", response_model=ReportOut, summary="One of my reports, with its timeline")
async def my_report(session: Read, user: CurrentUser, report_id: Id) -> ReportOut:
    report = await service.citizen_report(session, user, report_id)
    return await report_view(session, report, staff=False)  # type: ignore[return-value]


@router.post("/me/reports/{report_id}/actions", response_model=ReportOut,
             summary="Add information, disagree with the answer, or accept it")
async def my_report_action(request: Request, user: CurrentUser, report_id: Id, body: CitizenActionIn) -> ReportOut:
    report = await service.citizen_act(_runtime(request), citizen=user, report_id=report_id,
                                       action_name=body.action, note=body.note)
    async with _runtime(request).read_session() as session:
        return await report_view(session, report, staff=False)  # type: ignore[return-value]


@router.post("/me/reports/{report_id}/rating", response_model=ReportOut, summary="Rate the handling (1–5, once)")
async def rate_report(request: Request, user: CurrentUser, report_id: Id, body: RatingIn) -> ReportOut:
    report = await service.rate(_runtime(request), citizen=user, report_id=report_id, rating=body.rating,
                                comment=body.comment)
    async with _runtime(request).read_session() as session:
        return await report_view(session, report, staff=False)  # type: ignore[return-value]


# --- photos ----------------------------------------------------------------------------------------------


@router.get("/reports/{report_id}/photos/{photo_id}", summary="A report's photo (or its thumbnail)",
            response_class=FileResponse)
async def photo(request: Request, session: Read, report_id: Id, photo_id: Id,
                principal: Annotated[Principal, Depends(optional_principal)],
                size: Annotated[str, Query(pattern="^(full|thumbnail)$")] = "full") -> FileResponse:
    """The reporter and the handling account's staff see every photo; anyone sees a public report's."""
    report = await session.get(Report, report_id)
    row = await session.get(ReportPhoto, photo_id)
    if report is None or row is None or row.report_id != report.id or not await _may_see(session, report, principal):
        raise NotFound("Không tìm thấy ảnh / Photo not found", code="photo_not_found")
    storage = media_storage(_runtime(request).settings)
    path = storage.path_of(row.thumbnail_key if size == "thumbnail" else row.key)
    if not path.is_file():
        raise NotFound("Không tìm thấy ảnh / Photo not found", code="photo_not_found")
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/reports/{report_id}/documents/{document_id}", summary="A report's attached document",
            response_class=FileResponse)
async def document(request: Request, session: Read, report_id: Id, document_id: Id,
                   principal: Annotated[Principal, Depends(optional_principal)]) -> FileResponse:
    """Only the reporter and the handling account's staff, public report or not: documents carry personal data."""
    report = await session.get(Report, report_id)
    row = await session.get(ReportDocument, document_id)
    if report is None or row is None or row.report_id != report.id \
            or not await _may_see(session, report, principal, public_ok=False):
        raise NotFound("Không tìm thấy tệp / Document not found", code="document_not_found")
    path = media_storage(_runtime(request).settings).path_of(row.key)
    if not path.is_file():
        raise NotFound("Không tìm thấy tệp / Document not found", code="document_not_found")
    return FileResponse(path, media_type=row.content_type, filename=row.name,
                        headers={"Cache-Control": "private, max-age=3600"})


async def _may_see(session: AsyncSession, report: Report, principal: Principal, *, public_ok: bool = True) -> bool:
    if public_ok and report.public_visible:
        return True
    if principal.user is None:
        return False
    user_id = principal.user.id
    return report.reporter_id == user_id or await accounts.member_role(session, report.account_id, user_id) is not None


# --- the account's staff ---------------------------------------------------------------------------------


@router.get("/accounts/{account_id}/reports", response_model=Page[ReportRow],
            summary="The account's reports, nearest deadline first")
async def account_reports(
    session: Read, user: CurrentUser, account_id: Id, cursor: CursorParam = None, limit: LimitParam = 30,
    status: Annotated[str | None, Query(pattern=r"^(open|submitted|accepted|rejected|merged|assigned|in_progress|"
                                                r"waiting|resolved|closed|reopened)$")] = None,
    overdue: bool = False, mine: bool = False, q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[ReportRow]:
    now = utcnow()
    rows, next_cursor = await service.queue(session, user, account_id, status=status, overdue_only=overdue,
                                            assigned_to_me=mine, q=q, cursor=cursor, limit=limit, now=now)
    codes = await _category_codes(session)
    return Page(items=[_row(report, codes, now) for report in rows], next_cursor=next_cursor)


@router.get("/reports/{report_id}", response_model=StaffReportOut, summary="A report, for its account's staff")
async def staff_report(session: Read, user: CurrentUser, report_id: Id) -> StaffReportOut:
    report, role = await service.staff_report(session, user, report_id)
    return await report_view(session, report, staff=True, role=role)  # type: ignore[return-value]


@router.post("/reports/{report_id}/actions", response_model=StaffReportOut,
             summary="Move a report on: accept, reject, merge, assign, start, ask, resume, resolve, close, transfer")
async def staff_action(request: Request, user: CurrentUser, report_id: Id, body: StaffActionIn) -> StaffReportOut:
    runtime = _runtime(request)
    report = await service.act(runtime, actor=user, report_id=report_id, action_name=body.action, note=body.note,
                               assignee_id=body.assignee_id, duplicate_of=body.duplicate_of,
                               to_account_id=body.to_account_id, public=body.public)
    async with runtime.read_session() as session:
        if body.action == "transfer":  # the report now belongs to another account
            return await report_view(session, report, staff=True)  # type: ignore[return-value]
        report, role = await service.staff_report(session, user, report_id)
        return await report_view(session, report, staff=True, role=role)  # type: ignore[return-value]


@router.put("/reports/{report_id}/hidden", response_model=StaffReportOut,
            summary="Take a report off the public page (or put it back)")
async def hide(request: Request, user: CurrentUser, report_id: Id, body: HiddenIn) -> StaffReportOut:
    runtime = _runtime(request)
    await service.set_hidden(runtime, actor=user, report_id=report_id, hidden=body.hidden, reason=body.reason)
    async with runtime.read_session() as session:
        report, role = await service.staff_report(session, user, report_id)
        return await report_view(session, report, staff=True, role=role)  # type: ignore[return-value]


@router.get("/accounts/{account_id}/reports/handling", response_model=stats.Handling,
            summary="Handling figures of the account over a period (Vietnam days, inclusive)")
async def handling(session: Read, user: CurrentUser, account_id: Id,
                   start: Annotated[date | None, Query(alias="from")] = None,
                   end: Annotated[date | None, Query(alias="to")] = None) -> stats.Handling:
    await accounts.require_account_role(session, account_id, user, ("owner", "admin", "editor", "agent", "viewer"))
    now = utcnow()
    end = end or stats.vn_day(now)
    start = start or date(end.year, 1, 1)
    if end < start:
        raise Invalid("Ngày kết thúc trước ngày bắt đầu / The period ends before it starts", code="invalid_period",
                      details=[{"field": "to", "message": "before from"}])
    return await stats.handling(session, account_id, start, end, now)


# The rest of the domain's API lives in its own modules.
from loa.domains.reports import admin_api, notices_api, public_api  # noqa: E402

router.include_router(public_api.router)
router.include_router(admin_api.router)
router.include_router(notices_api.router)
