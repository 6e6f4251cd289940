"""`/api/v1/auth/...` (sign-in, session) and `/api/v1/me...` (profile, consents, export, erasure)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.people import service
from loa.domains.people.models import User
from loa.domains.people.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentsOut,
    LoginIn,
    OtpRequestedOut,
    OtpRequestIn,
    OtpVerifyIn,
    ProfilePatch,
    SessionOut,
    TotpEnrolmentOut,
    TotpIn,
    UserOut,
)
from loa.kit.auth import (
    Principal,
    clear_session_cookie,
    optional_principal,
    require_user,
    session_token,
    set_session_cookie,
)
from loa.kit.effects import commit
from loa.kit.errors import Unauthorized
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["people"])


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def _enrolment(user: User, uri: str | None) -> TotpEnrolmentOut | None:
    return TotpEnrolmentOut(uri=uri, secret=user.totp_secret or "") if uri else None


def _signed_in(request: Request, response: Response, result: service.SignIn) -> SessionOut:
    login_session = result.login_session
    set_session_cookie(response, request.app.state.runtime.settings, result.token, login_session.expires_at)
    active = login_session.stage == "active"
    return SessionOut(authenticated=active, stage=login_session.stage,  # type: ignore[arg-type]
                      expires_at=login_session.expires_at, csrf_token=login_session.csrf_token,
                      user=UserOut.of(result.user) if active else None,
                      totp_enrolment=_enrolment(result.user, result.totp_uri))


async def _end_previous(request: Request, session: AsyncSession) -> None:
    """Signing in again replaces the session the browser had (a fresh token at every sign-in)."""
    previous = session_token(request)
    if previous:
        await service.end_session(session, previous)


# --- sign-in --------------------------------------------------------------------------------------


@router.post("/auth/otp/request", response_model=OtpRequestedOut, status_code=202,
             summary="Send a one-time code by text message")
async def request_otp(body: OtpRequestIn, request: Request,
                      session: AsyncSession = Depends(write_session)) -> OtpRequestedOut:
    sent = await service.request_otp(session, body.phone, _ip(request))
    return OtpRequestedOut(phone=sent.phone, expires_at=sent.expires_at)


@router.post("/auth/otp/verify", response_model=SessionOut, summary="Sign in with the one-time code")
async def verify_otp(body: OtpVerifyIn, request: Request, response: Response,
                     session: AsyncSession = Depends(write_session)) -> SessionOut:
    result = await service.verify_otp(session, body.phone, body.code, _ip(request), _user_agent(request))
    await _end_previous(request, session)
    await commit(session)
    return _signed_in(request, response, result)


@router.post("/auth/login", response_model=SessionOut, summary="Staff: e-mail and password (then TOTP)")
async def login(body: LoginIn, request: Request, response: Response,
                session: AsyncSession = Depends(write_session)) -> SessionOut:
    result = await service.login_with_password(session, body.email, body.password, _ip(request),
                                               _user_agent(request))
    await _end_previous(request, session)
    await commit(session)
    return _signed_in(request, response, result)


@router.post("/auth/totp", response_model=SessionOut, summary="Staff: the authenticator code")
async def confirm_totp(body: TotpIn, request: Request, response: Response,
                       principal: Principal = Depends(optional_principal),
                       session: AsyncSession = Depends(write_session)) -> SessionOut:
    if principal.session is None or principal.session.stage != "second_factor":
        raise Unauthorized(service.NO_SECOND_FACTOR, code="login_required")
    result = await service.confirm_totp(session, principal.session.id, body.code)
    await commit(session)
    return _signed_in(request, response, result)


@router.post("/auth/logout", status_code=204, response_class=Response, summary="Sign out (this browser)")
async def logout(request: Request, session: AsyncSession = Depends(write_session)) -> Response:
    token = session_token(request)
    if token:
        await service.end_session(session, token)
        await commit(session)
    response = Response(status_code=204)
    clear_session_cookie(response, request.app.state.runtime.settings)
    return response


@router.get("/auth/session", response_model=SessionOut, summary="Who am I, and the CSRF token for forms")
async def current_session(principal: Principal = Depends(optional_principal),
                          session: AsyncSession = Depends(read_session)) -> SessionOut:
    login_session = principal.session
    if login_session is None:
        return SessionOut(authenticated=False)
    enrolment = None
    if login_session.stage == "second_factor":
        user = await service.get_user(session, login_session.user_id)
        enrolment = _enrolment(user, service.totp_uri(user) if user.totp_secret and not user.totp_confirmed_at
                               else None)
    return SessionOut(authenticated=principal.user is not None, stage=login_session.stage,  # type: ignore[arg-type]
                      expires_at=login_session.expires_at, csrf_token=login_session.csrf_token,
                      user=UserOut.of(principal.user) if principal.user else None, totp_enrolment=enrolment)


# --- me -------------------------------------------------------------------------------------------


@router.get("/me", response_model=UserOut, summary="My profile")
async def me(user: User = Depends(require_user)) -> UserOut:
    return UserOut.of(user)


@router.patch("/me", response_model=UserOut, summary="Change my name or home commune")
async def update_me(body: ProfilePatch, user: User = Depends(require_user),
                    session: AsyncSession = Depends(write_session)) -> UserOut:
    changes = body.model_dump(include=body.model_fields_set)
    if changes.get("display_name", "") is None:
        changes["display_name"] = ""
    updated = await service.update_profile(session, user.id, changes)
    await commit(session)
    return UserOut.of(updated)


@router.get("/me/consents", response_model=ConsentsOut, summary="My consents: the current ones and the history")
async def my_consents(user: User = Depends(require_user),
                      session: AsyncSession = Depends(read_session)) -> ConsentsOut:
    history = await service.consent_history(session, user.id)
    current = await service.current_consents(session, user.id)
    return ConsentsOut(current={purpose: ConsentOut.of(c) if c else None for purpose, c in current.items()},
                       history=[ConsentOut.of(consent) for consent in history])


@router.post("/me/consents", response_model=ConsentOut, status_code=201, summary="Give or withdraw consent")
async def give_consent(body: ConsentIn, user: User = Depends(require_user),
                       session: AsyncSession = Depends(write_session)) -> ConsentOut:
    consent = await service.record_consent(session, user.id, purpose=body.purpose, granted=body.granted,
                                           text_version=body.text_version, channel=body.channel)
    await commit(session)
    return ConsentOut.of(consent)


@router.get("/me/export", summary="Everything Loa keeps about me (JSON download)")
async def export_me(user: User = Depends(require_user),
                    session: AsyncSession = Depends(write_session)) -> JSONResponse:
    data = await service.export_user(session, user.id)
    await commit(session)  # the audit record of the access
    return JSONResponse(jsonable_encoder(data),
                        headers={"Content-Disposition": 'attachment; filename="loa-export.json"'})


@router.delete("/me", status_code=204, response_class=Response, summary="Delete my account and my data")
async def delete_me(request: Request, user: User = Depends(require_user),
                    session: AsyncSession = Depends(write_session)) -> Response:
    await service.delete_user(session, user.id)
    await commit(session)
    response = Response(status_code=204)
    clear_session_cookie(response, request.app.state.runtime.settings)
    return response
