"""A citizen's reports ("phản ánh"): the form (category, its fields, description, photos, a map pin or an
address), duplicate suggestions nearby, a preview of what will be sent and to whom, then the tracking code; the
list of my reports, and a report's page with its live timeline, the steps the workflow lets the reporter take and
the rating once resolved.

Checks run before anything is stored, every problem said next to its field at once. With htmx the preview is
swapped in under the form, which keeps the chosen photos; without scripts the preview is a page of its own.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.domains.reports import service
from loa.domains.reports.models import Report, ReportCategory
from loa.domains.reports.validation import MAX_DESCRIPTION, check_description, clean_fields
from loa.domains.reports.workflow import ACTIONS, allowed_actions
from loa.kit.errors import AppError, Invalid, TooMany
from loa.kit.images import MAX_UPLOAD_BYTES, TooLarge, clean_image, make_thumbnail
from loa.kit.pagination import CursorParam
from loa.kit.sessions import read_session
from loa.kit.storage import media_storage
from loa.web.deps import Viewer, page_router, page_user, viewer
from loa.web.forms import Form as FormState
from loa.web.pages import area, htmx_target, live_url
from loa.web.render import pick, render, translate

router = page_router()

MINE_SHOWN = 50
ReportId = Annotated[int, Path(ge=1, le=2**62)]
Citizen = Annotated[User, Depends(page_user)]
Read = Annotated[AsyncSession, Depends(read_session)]
FIELD_PREFIX = "field_"
PREVIEW = "preview"


# --- what the form shows --------------------------------------------------------------------------------------


def category_name(request: Request, category: ReportCategory) -> str:
    return category.name_en if request.state.viewer.lang == "en" else category.name


def _field_label(request: Request, definition: dict[str, Any]) -> str:
    return str(definition["label_en"] if request.state.viewer.lang == "en" else definition["label"])


@dataclass(frozen=True)
class FieldView:
    """One of a category's own fields, as the form and the preview show it."""

    name: str  # the form's name: field_<code>
    code: str
    label: str
    datatype: str
    required: bool
    choices: list[tuple[str, str]]


def field_views(request: Request, category: ReportCategory) -> list[FieldView]:
    return [FieldView(FIELD_PREFIX + definition["code"], definition["code"], _field_label(request, definition),
                      definition["datatype"], bool(definition.get("required")),
                      [(choice["key"], choice["name"]) for choice in definition.get("values", [])])
            for definition in sorted(category.fields, key=lambda item: item.get("order", 0))]


def shown_value(view: FieldView, value: Any) -> str:
    """A field's value in words: a choice's name rather than its key."""
    names = dict(view.choices)
    if isinstance(value, list):
        return ", ".join(names.get(item, str(item)) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return names.get(value, str(value)) if isinstance(value, str) else str(value)


async def _categories(request: Request, session: AsyncSession) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Categories by group: (group, [(code, name, description)])."""
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for category in await service.list_categories(session):
        groups.setdefault(category.category_group or "", []).append(
            (category.code, category_name(request, category), category.description))
    return list(groups.items())


async def _centre(session: AsyncSession, user: User | None) -> str | None:
    """Where the map opens: the centre of the citizen's home commune, when we know it."""
    if user is None or not user.home_commune_code:
        return None
    commune = await geo.get_commune(session, user.home_commune_code)
    return f"{commune.lat},{commune.lon}" if commune and commune.lat is not None else None


@router.get("/reports/new", response_class=HTMLResponse)
async def new_report(request: Request, found: Annotated[Viewer, Depends(viewer)], session: Read,
                     category: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    """First what the problem is about, then its form. Anyone may look; sending needs signing in."""
    chosen = await _category_or_none(session, category)
    if chosen is None:
        return render(request, "citizen/report_new.html", {"groups": await _categories(request, session),
                                                           "category": None})
    form = FormState.of(category=chosen.code, public="1")
    return await _form_page(request, session, found.user, chosen, form)


async def _category_or_none(session: AsyncSession, code: str) -> ReportCategory | None:
    if not code:
        return None
    try:
        return await service.get_category(session, code)
    except AppError:
        return None


async def _form_page(request: Request, session: AsyncSession, user: User | None, category: ReportCategory,
                     form: FormState, *, preview: Preview | None = None, status_code: int = 200,
                     photos_lost: bool = False) -> HTMLResponse:
    return render(request, "citizen/report_new.html", {
        "category": category, "category_label": category_name(request, category),
        "fields": field_views(request, category), "form": form, "preview": preview, "photos_lost": photos_lost,
        "area": await area(session, form.value("province"), form.value("commune")),
        "centre": await _centre(session, user), "max_description": MAX_DESCRIPTION,
        "nearby": await _nearby_of(session, category, form) if preview is None else [],
    }, status_code=status_code)


async def _nearby_of(session: AsyncSession, category: ReportCategory, form: FormState) -> list[Nearby]:
    """The duplicates to suggest for the pin the form carries (none without a valid one)."""
    lat, lon = _number(form.value("latitude")), _number(form.value("longitude"))
    if lat is None or lon is None:
        return []
    try:
        return await nearby_reports(session, category, lat, lon)
    except AppError:
        return []


# --- reading the form ------------------------------------------------------------------------------------------


@dataclass
class Filled:
    """What the citizen sent, checked: the service's arguments, or the problems by field."""

    form: FormState
    category: ReportCategory
    fields: dict[str, Any] = field(default_factory=dict)
    latitude: float | None = None
    longitude: float | None = None
    commune_code: str | None = None
    photos: list[service.Photo] = field(default_factory=list)
    public: bool = True


def _number(value: str) -> float | None:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(data: FormData, name: str, limit: int = MAX_DESCRIPTION * 2) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _given_fields(data: FormData, views: list[FieldView]) -> tuple[dict[str, Any], dict[str, str]]:
    """The category's fields from the form: for the service (typed) and to show again (as typed)."""
    given: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for view in views:
        if view.datatype == "multivaluelist":
            values = [value for value in data.getlist(view.name) if isinstance(value, str) and value][:20]
            typed[view.name] = ",".join(values)
            given[view.code] = values
            continue
        value = _text(data, view.name, 1000).strip()
        typed[view.name] = value
        if value and view.datatype == "datetime" and len(value) == 16:  # a datetime-local: Vietnam's time
            value = f"{value}:00+07:00"
        given[view.code] = value
    return given, typed


def _field_of(exc: Invalid) -> str | None:
    """The form field a service refusal names (its details carry the API's field)."""
    details = exc.details if isinstance(exc.details, list) else []
    name = details[0].get("field") if details and isinstance(details[0], dict) else None
    if not isinstance(name, str):
        return None
    if name.startswith("fields."):
        return FIELD_PREFIX + name.removeprefix("fields.")
    return {"lat": "latitude", "location": "latitude", "commune_code": "commune"}.get(name, name)


async def _read(request: Request, session: AsyncSession, data: FormData) -> Filled:
    category = await service.get_category(session, _text(data, "category", 40))
    views = field_views(request, category)
    given, typed = _given_fields(data, views)
    form = FormState.of(category=category.code, title=_text(data, "title", 400), description=_text(data, "description"),
                        latitude=_text(data, "latitude", 40).strip(), longitude=_text(data, "longitude", 40).strip(),
                        address=_text(data, "address", 600), province=_text(data, "province", 2),
                        commune=_text(data, "commune", 5), public="1" if data.get("public") else "", **typed)
    filled = Filled(form, category, public=bool(data.get("public")))

    def refuse(exc: AppError, fallback: str) -> None:
        name = _field_of(exc) if isinstance(exc, Invalid) else None
        form.fail(name or fallback, pick(request, exc.message))

    try:
        check_description(form.value("description"))
    except Invalid as exc:
        refuse(exc, "description")
    if len(form.value("title")) > 200:
        form.fail("title", translate(request, "The title is too long (200 characters at most)."))
    try:
        filled.fields = clean_fields(category, given)
    except Invalid as exc:
        refuse(exc, FIELD_PREFIX)
    await _read_place(request, session, filled)
    await _read_photos(request, data, filled)
    return filled


async def _read_place(request: Request, session: AsyncSession, filled: Filled) -> None:
    form = filled.form
    latitude, longitude = form.value("latitude"), form.value("longitude")
    if latitude or longitude:
        lat, lon = _number(latitude), _number(longitude)
        if lat is None or lon is None:
            form.fail("latitude", translate(request, "Give both coordinates as numbers, e.g. 21.0285 and 105.8542."))
            return
        try:
            filled.commune_code = await geo.nearest_commune_code(session, lat, lon)
        except AppError as exc:
            form.fail("latitude", pick(request, exc.message))
            return
        filled.latitude, filled.longitude = lat, lon
        return
    if not form.value("address").strip() or not form.value("commune"):
        form.fail("latitude", translate(request, "Place the pin on the map or use your location; or give the address "
                                                 "and its commune below."))
        if form.value("address").strip() and not form.value("commune"):
            form.fail("commune", translate(request, "Choose the commune or ward of the address."))
        return
    if await geo.get_commune(session, form.value("commune")) is None:
        form.fail("commune", translate(request, "Choose the commune or ward of the address."))
        return
    filled.commune_code = form.value("commune")


async def _read_photos(request: Request, data: FormData, filled: Filled) -> None:
    uploads = [item for item in data.getlist("photos") if isinstance(item, UploadFile) and item.filename]
    if len(uploads) > service.MAX_PHOTOS:
        filled.form.fail("photos", translate(request, "Send at most 5 photos."))
        return
    for upload in uploads:
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            filled.form.fail("photos", pick(request, TooLarge("Ảnh quá lớn (tối đa 10 MB) / The photo is too large "
                                                              "(10 MB at most)").message))
            return
        filled.photos.append(service.Photo(content, upload.filename or ""))


# --- preview --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nearby:
    code: str
    title: str
    status: str
    distance_m: int
    received_at: datetime


@dataclass
class Preview:
    category: str
    fields: list[tuple[str, str]]
    title: str
    description: str
    place: str
    latitude: float | None
    longitude: float | None
    address: str
    public: bool
    account_name: str
    deadline: str
    photos: list[str]  # data: URLs of thumbnails, never stored
    nearby: list[Nearby]


async def nearby_reports(session: AsyncSession, category: ReportCategory, lat: float, lon: float) -> list[Nearby]:
    """Open reports of the category within 250 m that the public may see: the duplicates to suggest."""
    found = await service.nearby_open(session, category, lat, lon)
    return [Nearby(row.code, row.title, row.status, round(distance), row.received_at)
            for row, distance in found if row.public_visible]


def _thumbnail(photo: service.Photo) -> str:
    """The photo as the agency will receive it (cleaned of its metadata), small, inline: nothing is stored
    before the citizen sends."""
    small = make_thumbnail(clean_image(photo.data), side=240)
    return f"data:{small.content_type};base64,{base64.b64encode(small.data).decode()}"


async def _preview(request: Request, session: AsyncSession, filled: Filled) -> Preview | None:
    """What will be sent and to whom; None when something is wrong (said in the form)."""
    form, category = filled.form, filled.category
    thumbnails = []
    for photo in filled.photos:
        try:
            thumbnails.append(_thumbnail(photo))
        except AppError as exc:
            form.fail("photos", f"{photo.filename}: {pick(request, exc.message)}")
    routing = None
    if filled.commune_code:
        try:
            routing = await service.competent_account(session, category_code=category.code,
                                                      commune_code=filled.commune_code)
        except AppError as exc:
            form.fail("__all__", pick(request, exc.message))
    if not form.ok or routing is None or filled.commune_code is None:
        return None
    commune = await geo.get_commune(session, filled.commune_code)
    views = {view.code: view for view in field_views(request, category)}
    nearby = await nearby_reports(session, category, filled.latitude, filled.longitude) \
        if filled.latitude is not None and filled.longitude is not None else []
    return Preview(
        category=category_name(request, category),
        fields=[(views[code].label, shown_value(views[code], value)) for code, value in filled.fields.items()
                if code in views],
        title=form.value("title").strip(), description=form.value("description").strip(),
        place=f"{commune.name}, {commune.province_name}" if commune else "",
        latitude=filled.latitude, longitude=filled.longitude, address=form.value("address").strip(),
        public=filled.public, account_name=routing.account.name, deadline=pick(request, routing.deadline.label),
        photos=thumbnails, nearby=nearby)


@router.post("/reports/new", response_class=HTMLResponse)
async def send_report(request: Request, user: Citizen, session: Read) -> Response:
    """`step=preview` checks and shows what will be sent; `step=submit` files the report."""
    data = await request.form(max_files=service.MAX_PHOTOS + 5, max_fields=300)
    try:
        filled = await _read(request, session, data)
        step = _text(data, "step", 10)
        if step == PREVIEW:
            return await _show_preview(request, session, user, filled)
        return await _submit(request, session, user, filled)
    finally:
        await data.close()


async def _show_preview(request: Request, session: AsyncSession, user: User, filled: Filled) -> Response:
    preview = await _preview(request, session, filled)
    status = 200 if preview is not None else 422
    if htmx_target(request) == "report-preview":
        if preview is None:  # the form again with its errors, in place; the chosen photos stay chosen
            return render(request, "citizen/_report_edit.html", await _edit_context(request, session, user, filled),
                          status_code=status, headers={"HX-Retarget": "#report-edit", "HX-Reswap": "outerHTML"})
        return render(request, "citizen/_report_preview.html", {"preview": preview}, status_code=status)
    return await _form_page(request, session, user, filled.category, filled.form, preview=preview,
                            status_code=status, photos_lost=bool(filled.photos))


async def _edit_context(request: Request, session: AsyncSession, user: User, filled: Filled) -> dict[str, Any]:
    return {"category": filled.category, "fields": field_views(request, filled.category), "form": filled.form,
            "area": await area(session, filled.form.value("province"), filled.form.value("commune")),
            "centre": await _centre(session, user), "max_description": MAX_DESCRIPTION, "oob_photos": True,
            "nearby": await _nearby_of(session, filled.category, filled.form)}


async def _submit(request: Request, session: AsyncSession, user: User, filled: Filled) -> Response:
    form = filled.form
    status, headers = 422, None
    if form.ok:
        runtime = request.app.state.runtime
        try:
            stored = await service.submit(
                runtime, reporter=user, category_code=filled.category.code, description=form.value("description"),
                title=form.value("title"), fields=filled.fields, latitude=filled.latitude,
                longitude=filled.longitude, address=form.value("address") if filled.latitude is None else None,
                commune_code=filled.commune_code, public=filled.public, photos=filled.photos,
                storage=media_storage(runtime.settings))
        except AppError as exc:
            name = _field_of(exc) if isinstance(exc, Invalid) else None
            form.fail(name or "__all__", pick(request, exc.message))
            status = exc.status_code
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        else:
            return RedirectResponse(f"/me/reports/{stored.id}?sent=1", status_code=303)
    response = await _form_page(request, session, user, filled.category, form, status_code=status,
                                photos_lost=bool(filled.photos))
    response.headers.update(headers or {})
    return response


@router.get("/reports/nearby", response_class=HTMLResponse)
async def nearby(request: Request, session: Read, category: Annotated[str, Query(max_length=40)] = "",
                 latitude: Annotated[str, Query(max_length=40)] = "",
                 longitude: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    """Reports like this one already sent near the pin, while the citizen is still writing theirs."""
    chosen = await _category_or_none(session, category)
    found = await _nearby_of(session, chosen, FormState.of(latitude=latitude, longitude=longitude)) if chosen else []
    return render(request, "citizen/_nearby.html", {"nearby": found})


# --- my reports -----------------------------------------------------------------------------------------------


async def _category_names(request: Request, session: AsyncSession) -> dict[int, str]:
    rows = (await session.execute(select(ReportCategory.id, ReportCategory.name, ReportCategory.name_en))).all()
    english = request.state.viewer.lang == "en"
    return {row.id: row.name_en if english else row.name for row in rows}


@router.get("/me/reports", response_class=HTMLResponse)
async def my_reports(request: Request, user: Citizen, session: Read, cursor: CursorParam = None) -> HTMLResponse:
    rows, older = await service.my_reports(session, user, cursor=cursor, limit=MINE_SHOWN)
    return render(request, "citizen/reports.html", {
        "reports": rows, "older": older, "names": await _category_names(request, session), "now": utcnow(),
        "overdue": {report.id for report in rows if service.overdue(report, utcnow())}})


@dataclass(frozen=True)
class Step:
    id: int
    label: str
    at: datetime
    note: str
    detail: str
    rating: int | None
    kind: str


def _steps(request: Request, events: list[dict[str, Any]]) -> list[Step]:
    steps = []
    for event in events:
        data = event.get("data") or {}
        detail = ""
        if event["type"] == "submitted" and data.get("deadline"):
            detail = translate(request, "Deadline for an answer:") + " " + pick(request, data["deadline"])
        elif event["type"] == "transfer" and data.get("to_account_name"):
            detail = translate(request, "Now handled by:") + " " + str(data["to_account_name"])
        elif event["type"] == "merge" and data.get("duplicate_of_code"):
            detail = translate(request, "Same as report") + " " + str(data["duplicate_of_code"])
        rating = data.get("rating") if event["type"] == "rated" and isinstance(data.get("rating"), int) else None
        steps.append(Step(event["id"], pick(request, event["label"]), datetime.fromisoformat(event["created_at"]),
                          event["note"], detail, rating, event["type"]))
    return steps


async def _report_context(request: Request, session: AsyncSession, report: Report,
                          form: FormState | None = None) -> dict[str, Any]:
    now = utcnow()
    category = await session.get(ReportCategory, report.category_id)
    assert category is not None
    account = await accounts.get_account(session, report.account_id)
    views = {view.code: view for view in field_views(request, category)}
    commune = await geo.get_commune(session, report.commune_code) if report.commune_code else None
    actions = allowed_actions(report.status, citizen=True)
    if "reopen" in actions and (report.resolved_at is None or now - report.resolved_at > service.REOPEN_WINDOW):
        actions.remove("reopen")  # the time to disagree is over
    return {
        "report": report, "category_label": category_name(request, category), "account": account,
        "fields": [(views[code].label, shown_value(views[code], value)) for code, value in (report.fields or {}).items()
                   if code in views],
        "commune": commune, "photos": await service.photos_of(session, report.id),
        "documents": await service.documents_of(session, report.id),
        "steps": _steps(request, await service.timeline(session, report, staff=False)),
        "overdue": service.overdue(report, now), "actions": actions, "action_labels": {
            name: pick(request, ACTIONS[name].label) for name in actions},
        "can_rate": report.rating is None and report.resolved_at is not None
        and report.status in ("resolved", "closed"),
        "reopen_until": report.resolved_at + service.REOPEN_WINDOW if report.resolved_at else None,
        "form": form or FormState(),
    }


@router.get("/me/reports/{report_id}", response_class=HTMLResponse)
async def my_report(request: Request, report_id: ReportId, user: Citizen, session: Read,
                    sent: Annotated[str, Query(max_length=1)] = "") -> HTMLResponse:
    report = await service.citizen_report(session, user, report_id)
    context = await _report_context(request, session, report)
    # The reporter's stream carries their reports' steps: it starts at this report's latest step.
    live = live_url("/api/v1/live", {f"user:{user.id}": max((step.id for step in context["steps"]), default=0)})
    return render(request, "citizen/report.html", {**context, "sent": sent == "1", "live": live})


@router.get("/me/reports/{report_id}/live", response_class=HTMLResponse)
async def my_report_live(request: Request, report_id: ReportId, user: Citizen, session: Read) -> HTMLResponse:
    """The status, the answer, the steps and what the reporter may do: refreshed when the report moves."""
    report = await service.citizen_report(session, user, report_id)
    return render(request, "citizen/_report_live.html", await _report_context(request, session, report))


async def _report_again(request: Request, report_id: int, user: User, form: FormState, status: int) -> Response:
    async with request.app.state.runtime.read_session() as session:
        report = await service.citizen_report(session, user, report_id)
        context = await _report_context(request, session, report, form)
    return render(request, "citizen/report.html", {**context, "sent": False}, status_code=status)


@router.post("/me/reports/{report_id}/actions", response_class=HTMLResponse)
async def report_action(request: Request, report_id: ReportId, user: Citizen,
                        action: Annotated[str, Form(max_length=20)] = "",
                        note: Annotated[str, Form(max_length=MAX_DESCRIPTION * 2)] = "") -> Response:
    """Add what was asked, disagree with the answer, or accept it."""
    form = FormState.of(note=note, action=action)
    try:
        await service.citizen_act(request.app.state.runtime, citizen=user, report_id=report_id, action_name=action,
                                  note=note)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        form.fail("note" if exc.code in ("note_required", "note_too_long") else "__all__", pick(request, exc.message))
        return await _report_again(request, report_id, user, form, exc.status_code)
    return RedirectResponse(f"/me/reports/{report_id}", status_code=303)


@router.post("/me/reports/{report_id}/rating", response_class=HTMLResponse)
async def rate_report(request: Request, report_id: ReportId, user: Citizen,
                      rating: Annotated[str, Form(max_length=2)] = "",
                      comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = FormState.of(rating=rating, comment=comment)
    if rating not in ("1", "2", "3", "4", "5"):
        form.fail("rating", translate(request, "Choose from 1 to 5 stars."))
        return await _report_again(request, report_id, user, form, 422)
    try:
        await service.rate(request.app.state.runtime, citizen=user, report_id=report_id, rating=int(rating),
                           comment=comment)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        # Not resolved yet, or rated already: about the report, not the stars chosen.
        form.fail("rating" if isinstance(exc, Invalid) else "__all__", pick(request, exc.message))
        return await _report_again(request, report_id, user, form, exc.status_code)
    return RedirectResponse(f"/me/reports/{report_id}#rating", status_code=303)
