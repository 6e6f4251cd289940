"""Who is asking: server-side login sessions (cookie) for people, scoped bearer tokens for integrations.

The cookie holds 32 random bytes; the database keeps only their SHA-256, so a leaked table opens no
session. A session in stage "second_factor" (password given, TOTP not yet) authenticates nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.domains.accounts.models import ApiToken
from loa.domains.people.models import LoginSession, User
from loa.kit.errors import Forbidden, Unauthorized
from loa.settings import Settings

if TYPE_CHECKING:
    from loa.runtime import Runtime

SESSION_COOKIE = "loa_session"
# The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and no Domain: no subdomain
# can plant or overwrite it.
PRODUCTION_SESSION_COOKIE = "__Host-loa_session"
TOUCH_INTERVAL = timedelta(minutes=1)  # last_seen / last_used are written at most this often

LOGIN_REQUIRED = "Bạn cần đăng nhập / Login required"
OPERATORS_ONLY = "Chỉ dành cho quản trị viên nền tảng / Platform operators only"
INVALID_ACCESS = "Mã truy cập không hợp lệ hoặc đã hết hạn / Invalid or expired access token"
MISSING_SCOPE = "Mã truy cập không có quyền này / The access token lacks the scope"


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a session or API token: what the database stores and looks up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


# --- the session cookie ---------------------------------------------------------------------------


def session_cookie_name(settings: Settings) -> str:
    return PRODUCTION_SESSION_COOKIE if settings.is_production else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    """The session token the request carries, if any (length-capped: it is ours or garbage)."""
    token = request.cookies.get(session_cookie_name(request.app.state.runtime.settings))
    return token if token and len(token) <= 128 else None


def set_session_cookie(response: Response, settings: Settings, token: str, expires_at: datetime) -> None:
    max_age = max(0, int((expires_at - utcnow()).total_seconds()))
    response.set_cookie(session_cookie_name(settings), token, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=settings.is_production)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(session_cookie_name(settings), path="/", httponly=True, samesite="lax",
                           secure=settings.is_production)


_LOGIN_KEY = "loa.login"


async def load_login(scope: MutableMapping[str, Any], runtime: Runtime,
                     token: str) -> tuple[LoginSession, User | None] | None:
    """The unexpired login session a token stands for, with its user, read with one query once per request:
    the CSRF check and the auth dependency share it (kept in the ASGI scope)."""
    cache = scope.setdefault(_LOGIN_KEY, {})
    if token not in cache:
        found = await runtime.read_sync(_login_of, hash_token(token))
        cache[token] = found if found is not None and found[0].expires_at > utcnow() else None
    return cache[token]


def _login_of(session: Session, token_hash: str) -> tuple[LoginSession, User | None] | None:
    row = session.execute(select(LoginSession, User).outerjoin(User, User.id == LoginSession.user_id)
                          .where(LoginSession.token_hash == token_hash)).first()
    return (row[0], row[1]) if row is not None else None


# --- principals and dependencies ------------------------------------------------------------------


@dataclass
class Principal:
    """The caller: a person with an active session, an integration with a token, or nobody."""

    user: User | None = None
    session: LoginSession | None = None
    api_token: ApiToken | None = None

    @property
    def authenticated(self) -> bool:
        return self.user is not None or self.api_token is not None


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def _touch_session(runtime: Runtime, login_session: LoginSession) -> None:
    now = utcnow()
    if now - login_session.last_seen_at < TOUCH_INTERVAL:
        return
    async with runtime.session() as session:
        await session.execute(update(LoginSession).where(LoginSession.id == login_session.id)
                              .values(last_seen_at=now).execution_options(synchronize_session=False))
        await session.commit()
    login_session.last_seen_at = now


async def optional_principal(request: Request) -> Principal:
    """The person behind the session cookie; `user` is set only once the session is active (a session
    waiting for its second factor is returned in `session` with no user)."""
    token = session_token(request)
    # A request that brings a bearer token is an integration's: any cookie alongside it is ignored, so the
    # CSRF check's exemption for such requests can never lend a cookie's authority.
    if token is None or request.headers.get("authorization", "").lower().startswith("bearer "):
        return Principal()
    runtime = _runtime(request)
    found = await load_login(request.scope, runtime, token)
    if found is None or found[1] is None:
        return Principal()
    login_session, user = found
    await _touch_session(runtime, login_session)
    if login_session.stage != "active":
        return Principal(session=login_session)
    return Principal(user=user, session=login_session)


async def require_user(principal: Principal = Depends(optional_principal)) -> User:
    if principal.user is None:
        raise Unauthorized(LOGIN_REQUIRED, code="login_required")
    return principal.user


async def require_operator(user: User = Depends(require_user)) -> User:
    if not user.is_operator:
        raise Forbidden(OPERATORS_ONLY)
    return user


_bearer = HTTPBearer(auto_error=False, description="An account's API token (shown once when created).")


async def _token_principal(request: Request, raw: str | None, scope: str) -> Principal:
    if not raw or len(raw) > 256:
        raise Unauthorized(INVALID_ACCESS, code="invalid_token")
    runtime = _runtime(request)
    now = utcnow()
    async with runtime.read_session() as session:
        token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if (token is None or token.revoked_at is not None
            or (token.expires_at is not None and token.expires_at <= now)):
        raise Unauthorized(INVALID_ACCESS, code="invalid_token")
    if scope not in (token.scopes or []):
        raise Forbidden(MISSING_SCOPE, code="insufficient_scope")
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        async with runtime.session() as session:
            await session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                                  .execution_options(synchronize_session=False))
            await session.commit()
        token.last_used_at = now
    return Principal(api_token=token)


def require_api_token(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: `Authorization: Bearer <token>` of an unrevoked, unexpired token holding `scope`.
    The token's account is `principal.api_token.account_id`."""

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        return await _token_principal(request, credentials.credentials if credentials else None, scope)

    dependency.__name__ = f"require_api_token_{scope.replace(':', '_').replace('.', '_')}"
    return dependency


def session_or_api_token(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency for routes that staff (session) and integrations (token with `scope`) both use: a bearer
    token, when sent, must be valid; otherwise the session cookie decides (it may be anonymous)."""

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        if credentials is not None:
            return await _token_principal(request, credentials.credentials, scope)
        return await optional_principal(request)

    dependency.__name__ = f"session_or_api_token_{scope.replace(':', '_').replace('.', '_')}"
    return dependency
