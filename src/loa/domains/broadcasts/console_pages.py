"""The agency console's broadcasts: the list by status (the approval queue is "waiting for approval"), composing
with a preview, the area picker (province and commune selects), tags and a schedule, and one broadcast with its
review steps and reach.

Editors compose and ask for approval; owners and administrators approve (publish now or at the scheduled time),
send back with a reason, or withdraw. The service decides; these pages show only what the viewer's role allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts.kinds import NATIONAL_KINDS
from loa.domains.broadcasts import service
from loa.domains.broadcasts.models import BROADCAST_KINDS, Broadcast
from loa.domains.follows import service as follows
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError, NotFound
from loa.kit.i18n import N_
from loa.kit.richtext import render_markdown
from loa.web.console import FOLLOWER_ROLES, AccountId, Desk, back_to, console_page, open_desk, rolled_back
from loa.web.deps import Read, Staff, Write, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate

router = page_router()

Text = Annotated[str, Form()]
Codes = Annotated[list[str], Form()]
VN = ZoneInfo("Asia/Ho_Chi_Minh")
PAGE = 20
COMMUNES_SHOWN = 1000  # a province has at most a few hundred communes
STATUSES = {"draft": N_("Drafts"), "pending": N_("Waiting for approval"), "scheduled": N_("Scheduled"),
            "published": N_("Published"), "rejected": N_("Sent back"), "withdrawn": N_("Withdrawn")}
STATUS_NAMES = {"draft": N_("Draft"), "pending": N_("Waiting for approval"), "scheduled": N_("Scheduled"),
                "published": N_("Published"), "rejected": N_("Sent back"), "withdrawn": N_("Withdrawn")}
KINDS = {"notice": N_("Notice (up to 2,000 characters)"), "article": N_("Article (long, with headings and links)"),
         "alert": N_("Alert (urgent, up to 1,000 characters)")}
KIND_NAMES = {"notice": N_("Notice"), "article": N_("Article"), "alert": N_("Alert")}
INTENTS = ("preview", "draft", "submit", "publish")


def _names(request: Request, labels: dict[str, str]) -> dict[str, str]:
    return {key: translate(request, label) for key, label in labels.items()}


# --- the list ------------------------------------------------------------------------------------------------


@router.get("/console/{account_id}/broadcasts", response_class=HTMLResponse)
async def broadcasts(request: Request, account_id: AccountId, user: Staff, session: Read,
                     status: Annotated[str, Query(max_length=20)] = "",
                     cursor: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    chosen = status if status in STATUSES else None
    rows, next_cursor = await service.list_for_staff(session, account_id=account_id, actor=user, status=chosen,
                                                     cursor=cursor, limit=PAGE)
    reach = {row.id: await service.reach(session, broadcast_id=row.id, actor=user)
             for row in rows if row.status in ("published", "withdrawn")}
    return console_page(request, "console/broadcasts.html", desk, {
        "rows": rows, "status": chosen, "next_cursor": next_cursor, "reach": reach,
        "statuses": _names(request, STATUSES), "status_names": _names(request, STATUS_NAMES),
        "kind_names": _names(request, KIND_NAMES), "can_compose": desk.can(service.COMPOSERS),
        "pending": await service.pending_count(session, account_id=account_id),
    })


# --- composing -------------------------------------------------------------------------------------------------


@dataclass
class Picker:
    """What the area picker offers for this account: a national account any province and, one province at a
    time, its communes; a provincial account its province's communes; a commune's account its commune."""

    provinces: list[Any]
    communes: list[Any]
    commune_province: str | None
    tags: list[tuple[str, int]]


async def _picker(session: AsyncSession, user: User, desk: Desk, province_for_communes: str | None) -> Picker:
    account = desk.account
    tags = await follows.tag_counts(session, account_id=account.id, actor=user) if desk.can(FOLLOWER_ROLES) else []
    if account.kind in NATIONAL_KINDS:
        provinces = await geo.list_provinces(session)
        known = {province.code for province in provinces}
        chosen = province_for_communes if province_for_communes in known else None
        communes = await geo.list_communes(session, chosen, limit=COMMUNES_SHOWN) if chosen else []
        return Picker(provinces, communes, chosen, tags)
    if account.commune_code is not None:
        commune = await geo.get_commune(session, account.commune_code)
        return Picker([], [commune] if commune else [], account.province_code, tags)
    communes = await geo.list_communes(session, account.province_code, limit=COMMUNES_SHOWN)
    return Picker([], communes, account.province_code, tags)


def _form_of(broadcast: Broadcast) -> FormState:
    form = FormState.of(kind=broadcast.kind, title=broadcast.title, body=broadcast.body_source,
                        tags=", ".join(broadcast.target_tags),
                        publish_at=broadcast.publish_at.astimezone(VN).strftime("%Y-%m-%dT%H:%M")
                        if broadcast.publish_at else "")
    form.values["provinces"] = ",".join(broadcast.target_provinces)
    form.values["communes"] = ",".join(broadcast.target_communes)
    return form


async def _compose_page(request: Request, session: AsyncSession, user: User, desk: Desk, form: FormState, *,
                        broadcast: Broadcast | None = None, preview: bool = False,
                        status_code: int = 200) -> HTMLResponse:
    picker = await _picker(session, user, desk, form.value("commune_province") or None)
    return console_page(request, "console/broadcast_compose.html", desk, {
        "form": form, "broadcast": broadcast, "picker": picker, "kinds": _names(request, KINDS),
        "chosen_provinces": set(filter(None, form.value("provinces").split(","))),
        "chosen_communes": set(filter(None, form.value("communes").split(","))),
        "preview_html": render_markdown(form.value("body")) if preview or form.value("body") else "",
        "can_publish": desk.can(service.APPROVERS), "national": desk.account.kind in NATIONAL_KINDS,
    }, status_code=status_code)


@router.get("/console/{account_id}/broadcasts/new", response_class=HTMLResponse)
async def compose(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, service.COMPOSERS)
    return await _compose_page(request, session, user, desk, FormState.of(kind="notice"))


def _publish_at(request: Request, form: FormState) -> datetime | None:
    """The schedule typed as Vietnam's local time; a refusal goes next to the field."""
    raw = form.value("publish_at").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw).replace(tzinfo=VN)
    except ValueError:
        form.fail("publish_at", translate(request, "Give a date and time, e.g. 2025-09-02 07:00."))
        return None
    if moment <= utcnow() + timedelta(minutes=1):
        form.fail("publish_at", translate(request, "Choose a time in the future, or leave it empty to send now."))
        return None
    return moment


_FIELD_OF_CODE = {"title_required": "title", "body_too_long": "body", "area_not_served": "areas",
                  "invalid_tag": "tags", "naive_datetime": "publish_at", "too_far": "publish_at",
                  "quota_exceeded": "__all__", "account_not_verified": "__all__"}


def _fail(request: Request, form: FormState, exc: AppError) -> None:
    field = _FIELD_OF_CODE.get(exc.code)
    if field is None:
        details = exc.details[0].get("field", "") if isinstance(exc.details, list) and exc.details else ""
        field = "areas" if str(details).startswith("targeting") else "__all__"
    form.fail(field, pick(request, exc.message))


async def _save(request: Request, session: AsyncSession, user: User, desk: Desk, form: FormState, intent: str,
                broadcast: Broadcast | None) -> Response:
    if intent not in INTENTS or intent == "preview" or (intent == "publish" and not desk.can(service.APPROVERS)):
        return await _compose_page(request, session, user, desk, form, broadcast=broadcast, preview=True)
    kind = form.value("kind") if form.value("kind") in BROADCAST_KINDS else "notice"
    if not form.value("title").strip():
        form.fail("title", translate(request, "Give the broadcast a title."))
    publish_at = _publish_at(request, form)
    targeting = service.TargetingInput(
        provinces=[code for code in form.value("provinces").split(",") if code],
        communes=[code for code in form.value("communes").split(",") if code],
        tags=[tag.strip() for tag in form.value("tags").split(",") if tag.strip()])
    if not form.ok:
        return await _compose_page(request, session, user, desk, form, broadcast=broadcast, status_code=422)
    existing = broadcast.id if broadcast is not None else None
    try:
        if broadcast is None:
            broadcast = await service.create_draft(
                session, account_id=desk.account.id, actor=user, kind=kind, title=form.value("title"),
                body=form.value("body"), targeting=targeting, publish_at=publish_at)
        else:
            await service.edit_draft(session, broadcast_id=broadcast.id, actor=user, changes={
                "kind": kind, "title": form.value("title"), "body": form.value("body"), "publish_at": publish_at,
                "targeting": {"provinces": targeting.provinces, "communes": targeting.communes,
                              "tags": targeting.tags}})
        done = "saved"
        if intent == "submit":
            await service.submit(session, broadcast_id=broadcast.id, actor=user)
            done = "submitted"
        elif intent == "publish":
            await service.approve(session, broadcast_id=broadcast.id, actor=user)
            done = "scheduled" if broadcast.status == "scheduled" else "published"
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        _fail(request, form, exc)
        shown = await service.staff_broadcast(session, existing, user) if existing else None
        return await _compose_page(request, session, user, desk, form, broadcast=shown, status_code=exc.status_code)
    await commit(session)
    return back_to(f"{desk.base}/broadcasts/{broadcast.id}", done)


def _typed(kind: str, title: str, body: str, tags: str, publish_at: str, commune_province: str,
           provinces: list[str], communes: list[str]) -> FormState:
    form = FormState.of(kind=kind, title=title, body=body, tags=tags, publish_at=publish_at,
                        commune_province=commune_province)
    form.values["provinces"] = ",".join(code for code in provinces if code.isdigit() and len(code) == 2)
    form.values["communes"] = ",".join(code for code in communes if code.isdigit() and len(code) == 5)
    return form


@router.post("/console/{account_id}/broadcasts/new", response_class=HTMLResponse)
async def create(request: Request, account_id: AccountId, user: Staff, session: Write, intent: Text = "preview",
                 kind: Text = "notice", title: Text = "", body: Text = "", tags: Text = "", publish_at: Text = "",
                 commune_province: Text = "", provinces: Codes = [], communes: Codes = []) -> Response:  # noqa: B006
    desk = await open_desk(session, user, account_id, service.COMPOSERS)
    form = _typed(kind, title, body, tags, publish_at, commune_province, provinces, communes)
    return await _save(request, session, user, desk, form, intent, None)


async def _own(session: AsyncSession, user: User, desk: Desk, broadcast_id: int) -> Broadcast:
    broadcast = await service.staff_broadcast(session, broadcast_id, user)
    if broadcast.account_id != desk.account.id:
        raise NotFound("Không tìm thấy bản tin / Broadcast not found", code="broadcast_not_found")
    return broadcast


@router.get("/console/{account_id}/broadcasts/communes", response_class=HTMLResponse)
async def communes(request: Request, account_id: AccountId, user: Staff, session: Read,
                   commune_province: Annotated[str, Query(max_length=2)] = "") -> HTMLResponse:
    """The communes of one province for the area picker (a national account chooses the province first)."""
    desk = await open_desk(session, user, account_id, service.COMPOSERS)
    picker = await _picker(session, user, desk, commune_province or None)
    return render(request, "console/_communes.html", {"picker": picker, "chosen_communes": set()})


@router.get("/console/{account_id}/broadcasts/{broadcast_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, account_id: AccountId, broadcast_id: AccountId, user: Staff,
               session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, service.COMPOSERS)
    broadcast = await _own(session, user, desk, broadcast_id)
    if broadcast.status not in service.EDITABLE:
        return back_to(f"{desk.base}/broadcasts/{broadcast.id}")  # type: ignore[return-value]
    return await _compose_page(request, session, user, desk, _form_of(broadcast), broadcast=broadcast)


@router.post("/console/{account_id}/broadcasts/{broadcast_id}/edit", response_class=HTMLResponse)
async def save_edit(request: Request, account_id: AccountId, broadcast_id: AccountId, user: Staff, session: Write,
                    intent: Text = "preview", kind: Text = "notice", title: Text = "", body: Text = "",
                    tags: Text = "", publish_at: Text = "", commune_province: Text = "",
                    provinces: Codes = [], communes: Codes = []) -> Response:  # noqa: B006
    desk = await open_desk(session, user, account_id, service.COMPOSERS)
    broadcast = await _own(session, user, desk, broadcast_id)
    form = _typed(kind, title, body, tags, publish_at, commune_province, provinces, communes)
    return await _save(request, session, user, desk, form, intent, broadcast)


# --- one broadcast: review, publishing, reach ------------------------------------------------------------------


async def _area_names(session: AsyncSession, broadcast: Broadcast) -> list[str]:
    names = [unit.name for unit in (await geo.get_units(session, "province", broadcast.target_provinces)).values()]
    names += [unit.name for unit in (await geo.get_units(session, "commune", broadcast.target_communes)).values()]
    return names


async def _broadcast_page(request: Request, session: AsyncSession, user: User, desk: Desk, broadcast: Broadcast,
                          form: FormState | None = None, status_code: int = 200) -> HTMLResponse:
    reach = await service.reach(session, broadcast_id=broadcast.id, actor=user) \
        if broadcast.status in ("published", "withdrawn") else None
    return console_page(request, "console/broadcast.html", desk, {
        "broadcast": broadcast, "reach": reach, "areas": await _area_names(session, broadcast),
        "status_name": translate(request, STATUS_NAMES[broadcast.status]),
        "kind_name": translate(request, KIND_NAMES[broadcast.kind]), "form": form or FormState(),
        "can_compose": desk.can(service.COMPOSERS), "can_approve": desk.can(service.APPROVERS),
        "editable": broadcast.status in service.EDITABLE,
    }, status_code=status_code)


@router.get("/console/{account_id}/broadcasts/{broadcast_id}", response_class=HTMLResponse)
async def broadcast_page(request: Request, account_id: AccountId, broadcast_id: AccountId, user: Staff,
                         session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    return await _broadcast_page(request, session, user, desk, await _own(session, user, desk, broadcast_id))


STEPS = ("submit", "approve", "reject", "withdraw")


@router.post("/console/{account_id}/broadcasts/{broadcast_id}/{step}", response_class=HTMLResponse)
async def review(request: Request, account_id: AccountId, broadcast_id: AccountId, step: str, user: Staff,
                 session: Write, reason: Text = "") -> Response:
    desk = await open_desk(session, user, account_id)
    broadcast = await _own(session, user, desk, broadcast_id)
    form = FormState.of(reason=reason)
    if step not in STEPS:
        raise NotFound("Không có thao tác này / No such step", code="not_found")
    if step in ("reject", "withdraw") and len(reason.strip()) < 3:
        form.fail("reason", translate(request, "Give the reason (at least 3 characters): the author or the "
                                               "followers read it."))
        return await _broadcast_page(request, session, user, desk, broadcast, form, 422)
    try:
        if step == "submit":
            await service.submit(session, broadcast_id=broadcast.id, actor=user)
            done = "submitted"
        elif step == "approve":
            await service.approve(session, broadcast_id=broadcast.id, actor=user)
            done = "scheduled" if broadcast.status == "scheduled" else "published"
        elif step == "reject":
            await service.reject(session, broadcast_id=broadcast.id, actor=user, reason=reason)
            done = "rejected"
        else:
            await service.withdraw(session, broadcast_id=broadcast.id, actor=user, reason=reason)
            done = "withdrawn"
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form.fail("reason" if step in ("reject", "withdraw") else "__all__", pick(request, exc.message))
        broadcast = await _own(session, user, desk, broadcast_id)
        return await _broadcast_page(request, session, user, desk, broadcast, form, exc.status_code)
    await commit(session)
    return back_to(f"{desk.base}/broadcasts/{broadcast.id}", done)
