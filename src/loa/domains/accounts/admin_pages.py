"""The operators' administration of accounts: the overview (`/admin`), the verification queue with its
documents and decisions (`/admin/verification…`), and every account with its staff (`/admin/accounts…`).

Pages for platform operators only (`page_operator`); they call the accounts service, which checks again that
the person is an operator. A decision refused by the service is shown next to the field it concerns.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service
from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import ACCOUNT_KINDS, ACCOUNT_ROLES, VERIFICATION_STATUSES, Account
from loa.domains.agencies import service as agencies
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError, NotFound
from loa.kit.i18n import N_
from loa.kit.sessions import read_session, write_session
from loa.kit.storage import media_storage
from loa.web.deps import page_operator, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate

router = page_router()

Operator = Annotated[User, Depends(page_operator)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
Id = Annotated[int, Path(ge=1, le=2**62)]
FormField = Annotated[str, Form()]
Cursor = Annotated[str | None, Query(max_length=500)]

WAITING_SHOWN = 50
QUEUE_PAGE = 50
ACCOUNTS_PAGE = 50
SUGGESTIONS = 10
MAX_QUERY = 200

STATUS_LABELS = {"unverified": N_("Unverified"), "pending": N_("Under review"), "verified": N_("Verified"),
                 "rejected": N_("Refused")}
ROLE_LABELS = {"owner": N_("Owner"), "admin": N_("Administrator"), "editor": N_("Editor"), "agent": N_("Agent"),
               "viewer": N_("Viewer")}
DONE = {"approved": N_("Application approved: the account now shows the verified badge to everyone."),
        "rejected": N_("Application rejected: the account's staff see the reason in their console.")}
assert set(STATUS_LABELS) == set(VERIFICATION_STATUSES) and set(ROLE_LABELS) == set(ACCOUNT_ROLES)


def _lang(request: Request) -> str:
    return str(request.state.viewer.lang)


def kind_label(request: Request, kind: str) -> str:
    vietnamese, english = KIND_LABELS.get(kind, (kind, kind))
    return english if _lang(request) == "en" else vietnamese


def _labels(request: Request, labels: dict[str, str]) -> dict[str, str]:
    return {key: translate(request, label) for key, label in labels.items()}


def _common(request: Request) -> dict[str, Any]:
    return {"status_labels": _labels(request, STATUS_LABELS), "role_labels": _labels(request, ROLE_LABELS),
            "kind_labels": {kind: kind_label(request, kind) for kind in ACCOUNT_KINDS}}


async def _province_names(session: AsyncSession) -> dict[str, str]:
    return {unit.code: unit.name for unit in await geo.list_provinces(session)}


# --- overview ---------------------------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
async def overview(request: Request, user: Operator, session: Read) -> HTMLResponse:
    waiting, _ = await service.list_applications(session, operator=user, status="pending", cursor=None,
                                                 limit=WAITING_SHOWN)
    counts = await service.operator_counts(session, operator=user)
    return render(request, "admin/overview.html", {"applications": waiting, "counts": counts, **_common(request)})


# --- the verification queue -------------------------------------------------------------------------------


@router.get("/admin/verification", response_class=HTMLResponse)
async def verification_queue(request: Request, user: Operator, session: Read, view: str = "pending",
                             cursor: Cursor = None) -> HTMLResponse:
    view = view if view in ("pending", "decided") else "pending"
    if view == "pending":
        rows, next_cursor = await service.list_applications(session, operator=user, status="pending", cursor=cursor,
                                                            limit=QUEUE_PAGE)
    else:
        rows, next_cursor = await service.decided_applications(session, operator=user, cursor=cursor,
                                                               limit=QUEUE_PAGE)
    people = await service.user_names(session, [user_id for application, _ in rows
                                                for user_id in (application.submitted_by, application.decided_by)])
    return render(request, "admin/verification.html", {
        "view": view, "rows": rows, "next_cursor": next_cursor, "people": people,
        "provinces": await _province_names(session), **_common(request)})


async def _application_page(request: Request, session: AsyncSession, user: User, application_id: int,
                            form: FormState | None = None, status_code: int = 200) -> HTMLResponse:
    application, account = await service.get_application(session, operator=user, application_id=application_id)
    history = [earlier for earlier in await service.applications_of(session, operator=user, account_id=account.id)
               if earlier.id != application.id]
    people = await service.user_names(session, [user_id for item in (application, *history)
                                                for user_id in (item.submitted_by, item.decided_by)])
    province = await geo.get_province(session, account.province_code)
    commune = await geo.get_commune(session, account.commune_code) if account.commune_code else None
    done = request.query_params.get("done", "")
    return render(request, "admin/application.html", {
        "application": application, "account": account, "history": history, "people": people,
        "province": province, "commune": commune, "form": form or FormState(),
        "done": translate(request, DONE[done]) if done in DONE and application.status != "pending" else None,
        **_common(request)}, status_code=status_code)


@router.get("/admin/verification/{application_id}", response_class=HTMLResponse)
async def application_page(request: Request, application_id: Id, user: Operator, session: Read) -> HTMLResponse:
    return await _application_page(request, session, user, application_id)


@router.post("/admin/verification/{application_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, application_id: Id, user: Operator, session: Write, decision: FormField = "",
                 reason: FormField = "") -> Response:
    form = FormState.of(reason=reason)
    if decision not in ("approve", "reject"):
        form.fail("__all__", translate(request, "Choose to approve or to reject the application."))
        return await _application_page(request, session, user, application_id, form, 422)
    try:
        await service.decide_verification(session, application_id=application_id, operator=user,
                                          approve=decision == "approve", reason=reason)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        await session.rollback()
        form.fail("reason" if exc.code.startswith("reason") else "__all__", pick(request, exc.message))
        return await _application_page(request, session, user, application_id, form, exc.status_code)
    await commit(session)
    done = "approved" if decision == "approve" else "rejected"
    return RedirectResponse(f"/admin/verification/{application_id}?done={done}", status_code=303)


@router.get("/admin/verification/{application_id}/documents/{index}", response_class=FileResponse,
            response_model=None)
async def document(request: Request, application_id: Id, index: Annotated[int, Path(ge=0, le=100)], user: Operator,
                   session: Write) -> FileResponse:
    """A file of an application, for operators only; the access is logged."""
    found = await service.verification_document(session, operator=user, application_id=application_id, index=index)
    path = media_storage(request.app.state.runtime.settings).path_of(str(found["key"]))
    if not path.is_file():
        raise NotFound("Không tìm thấy tệp / File not found", code="document_not_found")
    await commit(session)
    content_type = str(found.get("content_type") or "application/octet-stream")
    inline = content_type.startswith("image/") or content_type == "application/pdf"
    return FileResponse(path, media_type=content_type, filename=str(found.get("name") or path.name),
                        content_disposition_type="inline" if inline else "attachment",
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


# --- accounts ---------------------------------------------------------------------------------------------


@router.get("/admin/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, user: Operator, session: Read, q: str = "", kind: str = "",
                        province: str = "", status: str = "", cursor: Cursor = None) -> HTMLResponse:
    filters = {"q": q[:2000], "kind": kind[:40], "province": province[:10], "status": status[:20]}
    provinces = await _province_names(session)
    context: dict[str, Any] = {"filters": filters, "provinces": provinces, "accounts": [], "next_cursor": None,
                               "error": None, **_common(request)}
    if len(q) > MAX_QUERY:
        context["error"] = translate(request, "Please shorten your search to at most 200 characters.")
        return render(request, "admin/accounts.html", context, status_code=422)
    if province and province not in provinces:
        province = ""  # a stale link: show every province rather than nothing
    try:
        found, next_cursor = await service.find_accounts(
            session, operator=user, q=q or None, kind=kind or None, province_code=province or None,
            status=status or None, cursor=cursor, limit=ACCOUNTS_PAGE)
    except AppError as exc:
        context["error"] = pick(request, exc.message)
        return render(request, "admin/accounts.html", context, status_code=exc.status_code)
    context.update(accounts=found, next_cursor=next_cursor)
    return render(request, "admin/accounts.html", context)


@router.get("/admin/accounts/suggest", response_class=HTMLResponse)
async def suggest_accounts(request: Request, user: Operator, session: Read, account: str = "") -> HTMLResponse:
    """Options for an account field (a datalist filled as the operator types): the handle, with the name."""
    found: list[Account] = []
    if account.strip() and len(account) <= MAX_QUERY:
        found, _ = await service.find_accounts(session, operator=user, q=account, limit=SUGGESTIONS)
    return render(request, "admin/account_options.html", {"accounts": found})


@router.get("/admin/accounts/{account_id}", response_class=HTMLResponse)
async def account_page(request: Request, account_id: Id, user: Operator, session: Read) -> HTMLResponse:
    account = await service.get_account(session, account_id)
    staff = await service.staff_of(session, operator=user, account_id=account_id)
    applications = await service.applications_of(session, operator=user, account_id=account_id)
    people = await service.user_names(session, [user_id for item in applications
                                                for user_id in (item.submitted_by, item.decided_by)])
    organisation = (await agencies.get_organisation(session, account.organisation_id)
                    if account.organisation_id else None)
    return render(request, "admin/account.html", {
        "account": account, "staff": staff, "applications": applications, "people": people,
        "organisation": organisation, "province": await geo.get_province(session, account.province_code),
        "commune": await geo.get_commune(session, account.commune_code) if account.commune_code else None,
        **_common(request)})
