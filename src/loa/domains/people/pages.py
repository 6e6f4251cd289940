"""Sign-in pages: citizens by phone and one-time code (`/login`), staff by e-mail, password and the second
factor (`/console/login`), sign-out; the citizen's own page (`/me`: name and home commune, notifications and quiet
hours, consents, the accounts followed, export and deletion of their data); the developer page of "sent" codes.

They call the people service directly (the same checks and rate limits as the JSON API). A refusal is shown
next to the field it concerns, in the viewer's language, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import segno
from fastapi import Depends, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts.schemas import AccountOut
from loa.domains.follows import service as follows
from loa.domains.people import service
from loa.domains.people.models import SentMessage, User
from loa.domains.push import service as push
from loa.kit.auth import clear_session_cookie, session_token, set_session_cookie
from loa.kit.effects import commit
from loa.kit.errors import AppError, Invalid, NotFound, TooMany
from loa.kit.i18n import N_
from loa.kit.sessions import read_session, write_session
from loa.settings import Settings
from loa.web.deps import SECOND_FACTOR, STAFF_LOGIN, Viewer, login_url, page_router, page_user, safe_next, viewer
from loa.web.forms import Form as FormState
from loa.web.pages import area
from loa.web.render import pick, render, translate, translate_plural

router = page_router()

PAGE_SIZE = 50
FOLLOWED_SHOWN = 200
MAX_NAME = 100
CONSOLE = "/console"

FormField = Annotated[str, Form()]


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def _settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


async def _end_previous(request: Request, session: AsyncSession) -> None:
    """Signing in again replaces the session the browser had (a fresh token at every sign-in)."""
    previous = session_token(request)
    if previous:
        await service.end_session(session, previous)


def _signed_in(request: Request, result: service.SignIn, to: str) -> RedirectResponse:
    response = RedirectResponse(to, status_code=303)
    set_session_cookie(response, _settings(request), result.token, result.login_session.expires_at)
    return response


def _refusal(request: Request, form: FormState, field: str, exc: AppError) -> int:
    """Put a service's refusal next to `field` (a rate limit concerns the whole form); returns the status."""
    message = pick(request, exc.message)
    if isinstance(exc, TooMany):
        form.fail("__all__", message)
    else:
        left = exc.details.get("attempts_left") if isinstance(exc.details, dict) else None
        if isinstance(left, int):
            attempts = translate_plural(request, "%(num)d attempt left.", "%(num)d attempts left.", left)
            message = f"{message}. {attempts}"
        form.fail(field, message)
    return exc.status_code


# --- citizens: phone and one-time code --------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, found: Annotated[Viewer, Depends(viewer)], next: str = "/") -> Response:
    target = safe_next(next)
    if found.user is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "people/login.html", {"form": FormState(), "next": target})


@router.post("/login", response_class=HTMLResponse)
async def request_code(request: Request, session: Annotated[AsyncSession, Depends(write_session)],
                       phone: FormField = "", next: FormField = "/") -> Response:
    target = safe_next(next)
    form = FormState.of(phone=phone)
    if not phone.strip():
        form.fail("phone", translate(request, "Enter your mobile phone number."))
        return render(request, "people/login.html", {"form": form, "next": target}, status_code=422)
    try:
        sent = await service.request_otp(session, phone, _ip(request))
    except AppError as exc:
        status = _refusal(request, form, "phone", exc)
        return render(request, "people/login.html", {"form": form, "next": target}, status_code=status,
                      headers=_retry_after(exc))
    return render(request, "people/login_code.html", {"form": FormState(), "phone": sent.phone, "next": target})


@router.post("/login/code", response_class=HTMLResponse)
async def verify_code(request: Request, session: Annotated[AsyncSession, Depends(write_session)],
                      phone: FormField = "", code: FormField = "", next: FormField = "/") -> Response:
    target = safe_next(next)
    form = FormState.of(code=code)
    context = {"form": form, "phone": phone[:32], "next": target}
    if not code.strip():
        form.fail("code", translate(request, "Enter the 6-digit code from the text message."))
        return render(request, "people/login_code.html", context, status_code=422)
    try:
        result = await service.verify_otp(session, phone, code[:32], _ip(request), _user_agent(request))
    except AppError as exc:
        status = _refusal(request, form, "code", exc)
        return render(request, "people/login_code.html", context, status_code=status, headers=_retry_after(exc))
    await _end_previous(request, session)
    await commit(session)
    if result.login_session.stage == "second_factor":  # staff who signed in by phone still give their code
        return _signed_in(request, result, login_url(SECOND_FACTOR, safe_next(next, CONSOLE)))
    return _signed_in(request, result, target)


def _retry_after(exc: AppError) -> dict[str, str] | None:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None


# --- staff: e-mail, password, second factor ----------------------------------------------------------


@router.get(STAFF_LOGIN, response_class=HTMLResponse)
async def staff_login_page(request: Request, found: Annotated[Viewer, Depends(viewer)],
                           next: str = CONSOLE) -> Response:
    target = safe_next(next, CONSOLE)
    if found.is_staff:
        return RedirectResponse(target, status_code=303)
    return render(request, "people/staff_login.html", {"form": FormState(), "next": target})


@router.post(STAFF_LOGIN, response_class=HTMLResponse)
async def staff_login(request: Request, session: Annotated[AsyncSession, Depends(write_session)],
                      email: FormField = "", password: FormField = "", next: FormField = CONSOLE) -> Response:
    target = safe_next(next, CONSOLE)
    form = FormState.of(email=email)
    if not email.strip():
        form.fail("email", translate(request, "Enter your e-mail address."))
    if not password:
        form.fail("password", translate(request, "Enter your password."))
    if not form.ok:
        return render(request, "people/staff_login.html", {"form": form, "next": target}, status_code=422)
    try:
        result = await service.login_with_password(session, email, password, _ip(request), _user_agent(request))
    except AppError as exc:
        field = "email" if isinstance(exc, Invalid) else "password"
        status = _refusal(request, form, field, exc)
        return render(request, "people/staff_login.html", {"form": form, "next": target}, status_code=status,
                      headers=_retry_after(exc))
    await _end_previous(request, session)
    await commit(session)
    return _signed_in(request, result, login_url(SECOND_FACTOR, target))


@dataclass
class Enrolment:
    secret: str
    qr_svg: Markup


async def _enrolment(session: AsyncSession, user_id: int) -> Enrolment | None:
    """Staff without a confirmed authenticator see the key to set one up."""
    user = await service.get_user(session, user_id)
    if not user.totp_secret or user.totp_confirmed_at is not None:
        return None
    qr = segno.make(service.totp_uri(user), error="m").svg_inline(scale=4, title="TOTP")
    return Enrolment(secret=user.totp_secret, qr_svg=Markup(qr))  # noqa: S704 (segno's own SVG, no user text)


@router.get(SECOND_FACTOR, response_class=HTMLResponse)
async def second_factor_page(request: Request, found: Annotated[Viewer, Depends(viewer)],
                             session: Annotated[AsyncSession, Depends(read_session)],
                             next: str = CONSOLE) -> Response:
    target = safe_next(next, CONSOLE)
    if found.user is not None:
        return RedirectResponse(target, status_code=303)
    if not found.awaiting_second_factor or found.session is None:
        return RedirectResponse(login_url(STAFF_LOGIN, target), status_code=303)
    enrolment = await _enrolment(session, found.session.user_id)
    return render(request, "people/staff_totp.html", {"form": FormState(), "next": target, "enrolment": enrolment})


@router.post(SECOND_FACTOR, response_class=HTMLResponse)
async def second_factor(request: Request, found: Annotated[Viewer, Depends(viewer)],
                        session: Annotated[AsyncSession, Depends(write_session)],
                        code: FormField = "", next: FormField = CONSOLE) -> Response:
    target = safe_next(next, CONSOLE)
    if not found.awaiting_second_factor or found.session is None:  # expired meanwhile: from the password again
        return RedirectResponse(login_url(STAFF_LOGIN, target), status_code=303)
    form = FormState.of(code=code)
    context = {"form": form, "next": target, "enrolment": None}
    if not code.strip():
        form.fail("code", translate(request, "Enter the 6-digit code of your authenticator app."))
        return render(request, "people/staff_totp.html", context, status_code=422)
    try:
        result = await service.confirm_totp(session, found.session.id, code[:32])
    except AppError as exc:
        await session.rollback()
        status = _refusal(request, form, "code", exc)
        context["enrolment"] = await _enrolment(session, found.session.user_id)
        return render(request, "people/staff_totp.html", context, status_code=status, headers=_retry_after(exc))
    await commit(session)
    return _signed_in(request, result, target)


# --- sign-out ------------------------------------------------------------------------------------------


@router.post("/logout")
async def logout(request: Request, session: Annotated[AsyncSession, Depends(write_session)]) -> RedirectResponse:
    token = session_token(request)
    if token:
        await service.end_session(session, token)
        await commit(session)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, _settings(request))
    return response


# --- the citizen's own page: settings -------------------------------------------------------------------

CONSENT_TEXT_VERSION = "2025-07"  # the wording of the purposes below; a new wording asks again
CONSENT_PURPOSES = {
    "service": (N_("Using Loa"), N_("Keep my account, my follows, my messages and my reports so that agencies can "
                                     "answer me.")),
    "notifications": (N_("Receiving notifications"), N_("Send announcements and the progress of my reports to my "
                                                        "devices.")),
    "location": (N_("My location"), N_("Use the place I share (my home commune, a pin on a map) to show what "
                                       "concerns my area.")),
    "statistics": (N_("Statistics"), N_("Count my activity, without my name, in the public statistics.")),
}


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    label: str
    text: str
    granted: bool
    decided_at: datetime | None


async def _consents(request: Request, session: AsyncSession, user: User) -> list[ConsentRow]:
    current = await service.current_consents(session, user.id)
    return [ConsentRow(purpose, translate(request, label), translate(request, text),
                       bool(current[purpose] and current[purpose].granted),  # type: ignore[union-attr]
                       current[purpose].created_at if current[purpose] else None)  # type: ignore[union-attr]
            for purpose, (label, text) in CONSENT_PURPOSES.items()]


async def _settings_page(request: Request, session: AsyncSession, user: User, *, profile: FormState | None = None,
                         quiet: FormState | None = None, saved: str = "", status_code: int = 200) -> HTMLResponse:
    rows, _ = await follows.followed_accounts(session, user=user, cursor=None, limit=FOLLOWED_SHOWN)
    lang = request.state.viewer.lang
    quiet_from, quiet_until = await push.get_quiet_hours(session, user.id)
    profile = profile or FormState.of(display_name=user.display_name, commune=user.home_commune_code or "")
    quiet = quiet or FormState.of(quiet="1" if quiet_from else "", quiet_from=quiet_from or "22:00",
                                  quiet_until=quiet_until or "06:30")
    home = await area(session, profile.value("province"), profile.value("commune"))
    return render(request, "citizen/me.html", {
        "followed": [AccountOut.of(account, locale=lang) for account, _ in rows], "profile": profile,
        "quiet": quiet, "area": home, "consents": await _consents(request, session, user),
        "devices": len(await push.subscriptions_of(session, user.id)), "saved": saved,
    }, status_code=status_code)


@router.get("/me", response_class=HTMLResponse)
async def me(request: Request, user: Annotated[User, Depends(page_user)],
             session: Annotated[AsyncSession, Depends(read_session)], saved: str = "") -> HTMLResponse:
    return await _settings_page(request, session, user, saved=saved[:20])


def _saved(what: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/me?saved={what}#{anchor}", status_code=303)


@router.post("/me/profile", response_class=HTMLResponse)
async def save_profile(request: Request, user: Annotated[User, Depends(page_user)],
                       session: Annotated[AsyncSession, Depends(write_session)], display_name: FormField = "",
                       province: FormField = "", commune: FormField = "") -> Response:
    """The name and the home commune (the announcements meant for an area reach those who live there)."""
    form = FormState.of(display_name=display_name, province=province[:2], commune=commune[:5])
    name = display_name.strip()
    if len(name) > MAX_NAME:
        form.fail("display_name", translate(request, "Your name is too long (100 characters at most)."))
    chosen = await area(session, province, commune)
    if commune and not chosen.commune_code:
        form.fail("commune", translate(request, "Choose a commune or ward of the province you chose."))
    if not form.ok:
        return await _settings_page(request, session, user, profile=form, status_code=422)
    try:
        await service.update_profile(session, user.id, {"display_name": name,
                                                        "home_commune_code": chosen.commune_code or None})
    except AppError as exc:
        await session.rollback()
        form.fail("commune", pick(request, exc.message))
        return await _settings_page(request, session, user, profile=form, status_code=exc.status_code)
    await commit(session)
    return _saved("profile", "profile")


@router.post("/me/quiet-hours", response_class=HTMLResponse)
async def save_quiet_hours(request: Request, user: Annotated[User, Depends(page_user)],
                           session: Annotated[AsyncSession, Depends(write_session)], quiet: FormField = "",
                           quiet_from: FormField = "", quiet_until: FormField = "") -> Response:
    form = FormState.of(quiet=quiet[:1], quiet_from=quiet_from[:5], quiet_until=quiet_until[:5])
    try:
        if quiet == "1":
            await push.set_quiet_hours(session, user=user, quiet_from=quiet_from[:5], quiet_until=quiet_until[:5])
        else:
            await push.set_quiet_hours(session, user=user, quiet_from=None, quiet_until=None)
    except AppError as exc:
        await session.rollback()
        details = exc.details if isinstance(exc.details, list) else []
        field = details[0].get("field") if details and isinstance(details[0], dict) else None
        form.fail(field if field in ("quiet_from", "quiet_until") else "quiet_from", pick(request, exc.message))
        return await _settings_page(request, session, user, quiet=form, status_code=exc.status_code)
    await commit(session)
    return _saved("quiet", "notifications")


@router.post("/me/consents", response_class=HTMLResponse)
async def save_consents(request: Request, user: Annotated[User, Depends(page_user)],
                        session: Annotated[AsyncSession, Depends(write_session)]) -> Response:
    """Each purpose whose box changed is recorded as a new decision (the history is the evidence); a purpose never
    decided shows unticked, and stays undecided while it is left so."""
    data = await request.form(max_fields=50)
    current = await service.current_consents(session, user.id)
    for purpose in CONSENT_PURPOSES:
        granted = data.get(purpose) == "1"
        previous = current[purpose]
        if granted != (previous.granted if previous is not None else False):
            await service.record_consent(session, user.id, purpose=purpose, granted=granted,
                                         text_version=CONSENT_TEXT_VERSION, channel="web")
    await commit(session)
    return _saved("consents", "consents")


@router.post("/me/export")
async def export_my_data(user: Annotated[User, Depends(page_user)],
                         session: Annotated[AsyncSession, Depends(write_session)]) -> JSONResponse:
    """Everything Loa keeps about me, as a file (the access itself is recorded)."""
    data = await service.export_user(session, user.id)
    await commit(session)
    day = utcnow().date().isoformat()
    return JSONResponse(jsonable_encoder(data), headers={
        "Content-Disposition": f'attachment; filename="loa-du-lieu-cua-toi-{day}.json"', "Cache-Control": "no-store"})


@router.get("/me/delete", response_class=HTMLResponse)
async def delete_page(request: Request, user: Annotated[User, Depends(page_user)]) -> HTMLResponse:
    return render(request, "citizen/delete.html", {"form": FormState()})


@router.post("/me/delete", response_class=HTMLResponse)
async def delete_my_account(request: Request, user: Annotated[User, Depends(page_user)],
                            session: Annotated[AsyncSession, Depends(write_session)],
                            confirm: FormField = "") -> Response:
    form = FormState.of(confirm=confirm[:1])
    if confirm != "1":
        form.fail("confirm", translate(request, "Tick the box to confirm that you want to delete everything."))
        return render(request, "citizen/delete.html", {"form": form}, status_code=422)
    try:
        await service.delete_user(session, user.id)
    except AppError as exc:
        await session.rollback()
        form.fail("__all__", pick(request, exc.message))
        return render(request, "citizen/delete.html", {"form": form}, status_code=exc.status_code)
    await commit(session)
    response = RedirectResponse("/?deleted=1", status_code=303)
    clear_session_cookie(response, _settings(request))
    return response


# --- development ----------------------------------------------------------------------------------------


@router.get("/dev/messages", response_class=HTMLResponse)
async def dev_messages(request: Request, session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    """The messages the embedded sender "sent", so one can sign in without a phone (never in production)."""
    if _settings(request).is_production:
        raise NotFound("Không tìm thấy / Not found")
    messages = list(await session.scalars(select(SentMessage).order_by(SentMessage.id.desc()).limit(PAGE_SIZE)))
    return render(request, "people/dev_messages.html", {"messages": messages}, headers={"Cache-Control": "no-store"})
