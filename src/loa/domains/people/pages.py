"""Sign-in pages: citizens by phone and one-time code (`/login`), staff by e-mail, password and the second
factor (`/console/login`), sign-out; the citizen's own page (`/me`); the developer page of "sent" codes.

They call the people service directly (the same checks and rate limits as the JSON API). A refusal is shown
next to the field it concerns, in the viewer's language, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import segno
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts.schemas import AccountOut
from loa.domains.follows import service as follows
from loa.domains.people import service
from loa.domains.people.models import SentMessage, User
from loa.kit.auth import clear_session_cookie, session_token, set_session_cookie
from loa.kit.effects import commit
from loa.kit.errors import AppError, Invalid, NotFound, TooMany
from loa.kit.sessions import read_session, write_session
from loa.settings import Settings
from loa.web.deps import SECOND_FACTOR, STAFF_LOGIN, Viewer, login_url, page_router, page_user, safe_next, viewer
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate, translate_plural

router = page_router()

PAGE_SIZE = 50
FOLLOWED_SHOWN = 200
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


# --- the citizen's own page -----------------------------------------------------------------------------


@router.get("/me", response_class=HTMLResponse)
async def me(request: Request, user: Annotated[User, Depends(page_user)],
             session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    rows, _ = await follows.followed_accounts(session, user=user, cursor=None, limit=FOLLOWED_SHOWN)
    lang = request.state.viewer.lang
    return render(request, "people/me.html", {"followed": [AccountOut.of(account, locale=lang) for account, _ in rows]})


# --- development ----------------------------------------------------------------------------------------


@router.get("/dev/messages", response_class=HTMLResponse)
async def dev_messages(request: Request, session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    """The messages the embedded sender "sent", so one can sign in without a phone (never in production)."""
    if _settings(request).is_production:
        raise NotFound("Không tìm thấy / Not found")
    messages = list(await session.scalars(select(SentMessage).order_by(SentMessage.id.desc()).limit(PAGE_SIZE)))
    return render(request, "people/dev_messages.html", {"messages": messages}, headers={"Cache-Control": "no-store"})
