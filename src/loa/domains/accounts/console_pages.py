"""The agency console's account pages: today's figures and the staff member's notices (`/console/{id}`), staff
and roles, the public profile and the verification application ("định danh") with its documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service
from loa.domains.accounts.models import ACCOUNT_ROLES, VerificationApplication
from loa.domains.broadcasts import service as broadcasts
from loa.domains.conversations import service as conversations
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.domains.reports import notices, stats
from loa.kit.effects import commit
from loa.kit.errors import AppError, Forbidden, NotFound
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.storage import media_storage
from loa.web.console import (
    MANAGERS,
    ROLE_LABELS,
    VERIFICATION_LABELS,
    AccountId,
    Desk,
    back_to,
    console_page,
    notice_lines,
    open_desk,
    rolled_back,
)
from loa.web.deps import Read, Staff, Write, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, translate

router = page_router()

Text = Annotated[str, Form()]
MAX_DOCUMENTS = 3
NOTICES_SHOWN = 20


# --- today ---------------------------------------------------------------------------------------------------


@router.get("/console/{account_id}", response_class=HTMLResponse)
async def today(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    """Today's figures, all from counts kept as things happen (one row per counter and day, or an index range of
    open items), and the staff member's notices about this account."""
    desk = await open_desk(session, user, account_id)
    now = utcnow()
    day = stats.vn_day(now)
    handled = await stats.handling(session, account_id, day, day, now)
    figures: dict[str, Any] = {
        "followers": desk.account.follower_count,
        "follows": await follows.day_counts(session, account_id=account_id, day=day),
        "messages": await conversations.day_counts(session, account_id=account_id, day=day),
        "awaiting": await conversations.awaiting_answer(session, account_id=account_id),
        "reports": handled,
        "published": await broadcasts.published_today(session, account_id=account_id, now=now),
        "pending": await broadcasts.pending_count(session, account_id=account_id),
    }
    return console_page(request, "console/today.html", desk, {
        "figures": figures, "day": now, "notices": await notice_lines(request, session, user, account_id=account_id,
                                                                       limit=NOTICES_SHOWN),
        "unread_notices": await notices.unread_count(session, user, account_id=account_id),
    })


@router.post("/console/{account_id}/notices/{notice_id}/read")
async def read_notice(account_id: AccountId, notice_id: AccountId, user: Staff, session: Write) -> Response:
    await open_desk(session, user, account_id)
    notice, _, _ = await notices.mark_read(session, user, notice_id)
    if notice.account_id != account_id:
        raise NotFound(notices.NOT_FOUND, code="notice_not_found")
    await commit(session)
    return back_to(f"/console/{account_id}", "read")


@router.post("/console/{account_id}/notices/read")
async def read_all_notices(account_id: AccountId, user: Staff, session: Write) -> Response:
    await open_desk(session, user, account_id)
    await notices.mark_all_read(session, user, account_id=account_id)
    await commit(session)
    return back_to(f"/console/{account_id}", "read")


# --- staff and roles ---------------------------------------------------------------------------------------


def _grantable(desk: Desk) -> list[str]:
    """The roles the viewer may give: owners any, admins those below them (as `service.add_member`)."""
    if desk.role == "owner":
        return list(ACCOUNT_ROLES)
    return [role for role in ACCOUNT_ROLES if role not in MANAGERS] if desk.manager else []


async def _staff_page(request: Request, session: AsyncSession, user: User, desk: Desk,
                      form: FormState | None = None, status_code: int = 200) -> HTMLResponse:
    members = await service.list_members(session, account_id=desk.account.id, actor=user)
    roles = [(role, translate(request, ROLE_LABELS[role])) for role in ACCOUNT_ROLES]
    return console_page(request, "console/staff.html", desk, {
        "members": members, "roles": roles, "grantable": _grantable(desk), "form": form or FormState(),
        "role_names": dict(roles),
    }, status_code=status_code)


@router.get("/console/{account_id}/staff", response_class=HTMLResponse)
async def staff(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    return await _staff_page(request, session, user, desk)


@router.post("/console/{account_id}/staff", response_class=HTMLResponse)
async def add_staff(request: Request, account_id: AccountId, user: Staff, session: Write, email: Text = "",
                    role: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    form = FormState.of(email=email, role=role)
    if not email.strip():
        form.fail("email", translate(request, "Enter the e-mail address of their staff login."))
    if role not in _grantable(desk):
        form.fail("role", translate(request, "Choose one of the roles you may give."))
    if form.ok:
        try:
            await service.add_member_by_email(session, account_id=account_id, email=email, role=role, actor=user)
        except AppError as exc:
            desk = await rolled_back(session, user, desk)
            form.fail("role" if isinstance(exc, Forbidden) else "email", pick(request, exc.message))
            return await _staff_page(request, session, user, desk, form, exc.status_code)
        await commit(session)
        return back_to(f"/console/{account_id}/staff", "added")
    return await _staff_page(request, session, user, desk, form, 422)


@router.post("/console/{account_id}/staff/{member_id}/role", response_class=HTMLResponse)
async def change_role(request: Request, account_id: AccountId, member_id: AccountId, user: Staff, session: Write,
                      role: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    try:
        await service.add_member(session, account_id=account_id, user_id=member_id, role=role, actor=user)
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form = FormState()
        form.fail("__all__", pick(request, exc.message))
        return await _staff_page(request, session, user, desk, form, exc.status_code)
    await commit(session)
    return back_to(f"/console/{account_id}/staff", "saved")


@router.post("/console/{account_id}/staff/{member_id}/remove", response_class=HTMLResponse)
async def remove_staff(request: Request, account_id: AccountId, member_id: AccountId, user: Staff,
                       session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    try:
        await service.remove_member(session, account_id=account_id, user_id=member_id, actor=user)
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form = FormState()
        form.fail("__all__", pick(request, exc.message))
        return await _staff_page(request, session, user, desk, form, exc.status_code)
    await commit(session)
    if member_id == user.id:  # left the account: its pages are closed to them now
        return back_to("/console", "removed")
    return back_to(f"/console/{account_id}/staff", "removed")


# --- profile and verification ------------------------------------------------------------------------------

PROFILE_FIELDS = ("name", "description", "phone", "email", "website", "address")
LIMITS = {"name": 200, "description": 5000, "phone": 30, "email": 254, "website": 300, "address": 300}


def _profile_form(desk: Desk) -> FormState:
    account = desk.account
    contacts = account.contacts or {}
    return FormState.of(name=account.name, description=account.description, phone=contacts.get("phone"),
                        email=contacts.get("email"), website=contacts.get("website"),
                        address=contacts.get("address"))


async def _latest(session: AsyncSession, user: User, account_id: int) -> VerificationApplication | None:
    try:
        return await service.latest_application(session, account_id=account_id, actor=user)
    except NotFound:
        return None


async def _profile_page(request: Request, session: AsyncSession, user: User, desk: Desk, *,
                        form: FormState | None = None, apply_form: FormState | None = None,
                        status_code: int = 200) -> HTMLResponse:
    application = await _latest(session, user, desk.account.id)
    return console_page(request, "console/profile.html", desk, {
        "form": form or _profile_form(desk), "apply_form": apply_form or FormState(),
        "application": application, "documents": MAX_DOCUMENTS,
        "verification_label": translate(request, VERIFICATION_LABELS[desk.account.verification_status]),
        "reason": pick(request, application.reason) if application and application.reason else None,
    }, status_code=status_code)


@router.get("/console/{account_id}/profile", response_class=HTMLResponse)
async def profile(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    return await _profile_page(request, session, user, desk)


@router.post("/console/{account_id}/profile", response_class=HTMLResponse)
async def save_profile(request: Request, account_id: AccountId, user: Staff, session: Write, name: Text = "",
                       description: Text = "", phone: Text = "", email: Text = "", website: Text = "",
                       address: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    form = FormState.of(name=name, description=description, phone=phone, email=email, website=website,
                        address=address)
    for field in PROFILE_FIELDS:
        if len(form.value(field)) > LIMITS[field]:
            form.fail(field, translate(request, "This is too long: at most %(limit)s characters.")
                      % {"limit": LIMITS[field]})
    if len(name.strip()) < 2:
        form.fail("name", translate(request, "Enter the account's name (at least 2 characters)."))
    if website.strip() and not website.strip().startswith(("https://", "http://")):
        form.fail("website", translate(request, "Enter a web address starting with https://"))
    if email.strip() and "@" not in email:
        form.fail("email", translate(request, "Enter an e-mail address such as tiepdan@example.gov.vn"))
    if not form.ok:
        return await _profile_page(request, session, user, desk, form=form, status_code=422)
    contacts = {key: form.value(key).strip() for key in ("phone", "email", "website", "address")
                if form.value(key).strip()}
    try:
        await service.update_profile(session, account=desk.account, actor=user, changes={
            "name": name, "description": description.strip(), "contacts": contacts})
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form.fail("name", pick(request, exc.message))
        return await _profile_page(request, session, user, desk, form=form, status_code=exc.status_code)
    await commit(session)
    return back_to(f"/console/{account_id}/profile", "saved")


@router.post("/console/{account_id}/verification", response_class=HTMLResponse)
async def apply(request: Request, account_id: AccountId, user: Staff, session: Write,
                note: Text = "", title1: Text = "", title2: Text = "", title3: Text = "",
                file1: Annotated[UploadFile | None, File()] = None,
                file2: Annotated[UploadFile | None, File()] = None,
                file3: Annotated[UploadFile | None, File()] = None) -> Response:
    """Apply for the verified badge with up to three documents (scans or PDFs)."""
    desk = await open_desk(session, user, account_id, MANAGERS)
    titles, files = [title1, title2, title3], [file1, file2, file3]
    form = FormState.of(note=note, title1=title1, title2=title2, title3=title3)
    if len(note) > 2000:
        form.fail("note", translate(request, "This is too long: at most %(limit)s characters.") % {"limit": 2000})
    storage = media_storage(request.app.state.runtime.settings)
    documents: list[dict[str, Any]] = []
    for number, (title, upload) in enumerate(zip(titles, files, strict=True), start=1):
        has_file = upload is not None and bool(upload.filename)
        if not title.strip() and not has_file:
            continue
        if not has_file or upload is None:
            form.fail(f"file{number}", translate(request, "Choose the file of this document."))
            continue
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            form.fail(f"file{number}", translate(request, "The file is too large: 20 MB at most."))
            continue
        try:
            documents.append(await service.store_verification_document(
                storage, account_id=account_id, data=data, filename=upload.filename or "", title=title))
        except AppError as exc:
            form.fail(f"title{number}" if exc.code == "invalid_title" else f"file{number}", pick(request, exc.message))
    if not documents and form.ok:
        form.fail("title1", translate(request, "Add at least one document: the decision establishing the agency, "
                                               "or the authorisation to manage the account."))
    if form.ok:
        try:
            await service.apply_for_verification(session, account_id=account_id, user=user, documents=documents,
                                                 note=note.strip())
            await commit(session)
            return back_to(f"/console/{account_id}/profile", "applied")
        except AppError as exc:
            desk = await rolled_back(session, user, desk)
            form.fail("__all__", pick(request, exc.message))
    for document in documents:  # nothing is kept for a refused application
        await storage.delete(document["key"])
    status = 409 if form.error("__all__") else 422
    return await _profile_page(request, session, user, desk, apply_form=form, status_code=status)


@router.get("/console/{account_id}/verification/documents/{index}")
async def verification_document(request: Request, account_id: AccountId, index: int, user: Staff,
                                session: Read) -> FileResponse:
    """A document of the account's latest application, for its owners and admins."""
    await open_desk(session, user, account_id, MANAGERS)
    application = await _latest(session, user, account_id)
    documents = application.documents if application is not None else []
    if not 0 <= index < len(documents) or not documents[index].get("key"):
        raise NotFound("Hồ sơ không có tệp này / The application has no such file", code="document_not_found")
    document = documents[index]
    path = media_storage(request.app.state.runtime.settings).path_of(document["key"])
    if not path.is_file():
        raise NotFound("Không tìm thấy tệp / File not found", code="document_not_found")
    return FileResponse(path, media_type=document.get("content_type") or "application/octet-stream",
                        filename=document.get("name") or path.name,
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})
