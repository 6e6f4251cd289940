"""Apps of an account and their tokens: client credentials, access tokens with an expiry, single-use refresh
tokens (a reused one revokes its whole chain), long-lived API keys; scopes; revocation; the call log.

Functions take an AsyncSession and never commit: the caller commits with `loa.kit.effects.commit`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.integrations.models import SCOPES, AppCall, AppToken, IntegrationApp
from loa.domains.people.models import AuditEvent, User
from loa.kit.auth import hash_token
from loa.kit.effects import runtime_of
from loa.kit.errors import Invalid, NotFound, Unauthorized
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.text import clean_line

if TYPE_CHECKING:
    from loa.runtime import Runtime

ACCESS_TTL = timedelta(hours=1)
REFRESH_TTL = timedelta(days=90)
CALL_RETENTION = timedelta(days=30)
# The app's own staff identity: what the domains' access rules see. Admin, so that an app with the broadcasts
# scope can publish as an admin would; scopes (checked first) narrow what it may actually call.
BOT_ROLE = "admin"

INVALID_CLIENT = "Mã ứng dụng hoặc khóa bí mật không đúng / Wrong client id or secret"
INVALID_GRANT = "Mã làm mới không hợp lệ, đã dùng hoặc đã hết hạn / The refresh token is invalid, used or expired"
APP_NOT_FOUND = "Không tìm thấy ứng dụng / App not found"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: list[str]


def check_scopes(scopes: Sequence[str], allowed: Sequence[str] = SCOPES) -> list[str]:
    unknown = sorted(set(scopes) - set(allowed))
    if unknown:
        raise Invalid(f"Quyền không hợp lệ: {', '.join(unknown)} / Scopes not allowed: {', '.join(unknown)}",
                      code="invalid_scope")
    if not scopes:
        raise Invalid("Cần ít nhất một quyền / At least one scope is needed", code="invalid_scope")
    return sorted(set(scopes))


def _secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


# --- apps (managed by the account's owners and admins) ---------------------------------------------------


async def create_app(session: AsyncSession, *, account_id: int, actor: User, name: str,
                     scopes: Sequence[str]) -> tuple[IntegrationApp, str]:
    """A new app and its client secret (returned once, stored as SHA-256)."""
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    name = clean_line(name)
    if not 1 <= len(name) <= 100:
        raise Invalid("Tên ứng dụng dài 1–100 ký tự / An app name has 1–100 characters", code="invalid_name")
    scopes = check_scopes(scopes)
    # A staff identity with no phone, e-mail or password: nobody can sign in as it.
    bot = User(display_name=f"Ứng dụng {name}"[:100])
    session.add(bot)
    await session.flush()
    await accounts.add_member(session, account_id=account_id, user_id=bot.id, role=BOT_ROLE)
    secret = _secret("loas_")
    app = IntegrationApp(account_id=account_id, client_id="loa_app_" + secrets.token_hex(8),
                         secret_hash=hash_token(secret), name=name, scopes=scopes, bot_user_id=bot.id,
                         created_by=actor.id)
    session.add(app)
    await session.flush()
    session.add(AuditEvent(actor_user_id=actor.id, action="integration_app.created", subject=f"app:{app.client_id}",
                           account_id=account_id))
    return app, secret


async def list_apps(session: AsyncSession, *, account_id: int, actor: User) -> list[IntegrationApp]:
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    return list(await session.scalars(select(IntegrationApp).where(IntegrationApp.account_id == account_id)
                                      .order_by(IntegrationApp.id)))


async def managed_app(session: AsyncSession, *, account_id: int, app_id: int, actor: User) -> IntegrationApp:
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    app = await session.get(IntegrationApp, app_id)
    if app is None or app.account_id != account_id:
        raise NotFound(APP_NOT_FOUND, code="app_not_found")
    return app


async def revoke_app(session: AsyncSession, *, account_id: int, app_id: int, actor: User) -> IntegrationApp:
    """Every token of the app stops working at once; its staff identity leaves the account."""
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    if app.revoked_at is None:
        now = utcnow()
        app.revoked_at = now
        await session.execute(update(AppToken).where(AppToken.app_id == app.id, AppToken.revoked_at.is_(None))
                              .values(revoked_at=now))
        forget_checked_tokens(session)
        await _remove_bot(session, app)
        session.add(AuditEvent(actor_user_id=actor.id, action="integration_app.revoked",
                               subject=f"app:{app.client_id}", account_id=account_id))
        await session.flush()
    return app


async def _remove_bot(session: AsyncSession, app: IntegrationApp) -> None:
    from loa.domains.accounts.models import AccountMember

    await session.execute(delete(AccountMember).where(AccountMember.account_id == app.account_id,
                                                      AccountMember.user_id == app.bot_user_id))


async def rotate_secret(session: AsyncSession, *, account_id: int, app_id: int,
                        actor: User) -> tuple[IntegrationApp, str]:
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    _refuse_revoked(app)
    secret = _secret("loas_")
    app.secret_hash = hash_token(secret)
    session.add(AuditEvent(actor_user_id=actor.id, action="integration_app.secret_rotated",
                           subject=f"app:{app.client_id}", account_id=account_id))
    await session.flush()
    return app, secret


def _refuse_revoked(app: IntegrationApp) -> None:
    if app.revoked_at is not None:
        raise Invalid("Ứng dụng đã bị thu hồi / The app is revoked", code="app_revoked")


async def create_api_key(session: AsyncSession, *, account_id: int, app_id: int, actor: User, name: str,
                         scopes: Sequence[str], expires_in_days: int | None = None) -> tuple[AppToken, str]:
    """A long-lived key for simple integrations (no token flow), within the app's scopes; shown once."""
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    _refuse_revoked(app)
    plain = _secret("loak_")
    key = AppToken(app_id=app.id, kind="api_key", token_hash=hash_token(plain), prefix=plain[:11],
                   name=clean_line(name)[:100], scopes=check_scopes(scopes, app.scopes),
                   expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(key)
    session.add(AuditEvent(actor_user_id=actor.id, action="api_key.created", subject=f"key:{key.prefix}",
                           account_id=account_id))
    await session.flush()
    return key, plain


async def list_api_keys(session: AsyncSession, *, account_id: int, app_id: int, actor: User) -> list[AppToken]:
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    return list(await session.scalars(select(AppToken).where(AppToken.app_id == app.id, AppToken.kind == "api_key")
                                      .order_by(AppToken.id)))


async def revoke_api_key(session: AsyncSession, *, account_id: int, app_id: int, key_id: int,
                         actor: User) -> AppToken:
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    key = await session.get(AppToken, key_id)
    if key is None or key.app_id != app.id or key.kind != "api_key":
        raise NotFound("Không tìm thấy khóa API / API key not found", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        forget_checked_tokens(session)
        session.add(AuditEvent(actor_user_id=actor.id, action="api_key.revoked", subject=f"key:{key.prefix}",
                               account_id=account_id))
        await session.flush()
    return key


async def list_calls(session: AsyncSession, *, account_id: int, app_id: int, actor: User, cursor: str | None,
                     limit: int) -> tuple[list[AppCall], str | None]:
    """The app's calls, newest first."""
    app = await managed_app(session, account_id=account_id, app_id=app_id, actor=actor)
    before = cursor_int(decode_cursor(cursor), "before")
    query = select(AppCall).where(AppCall.app_id == app.id)
    if before is not None:
        query = query.where(AppCall.id < before)
    rows = list(await session.scalars(query.order_by(AppCall.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- the token flow (called by the app itself) ---------------------------------------------------------------


async def _issue(session: AsyncSession, app: IntegrationApp, scopes: list[str], family: str,
                 now: datetime) -> IssuedTokens:
    access, refresh = _secret("loaa_"), _secret("loar_")
    session.add_all([
        AppToken(app_id=app.id, kind="access", token_hash=hash_token(access), prefix=access[:11], scopes=scopes,
                 family=family, created_at=now, expires_at=now + ACCESS_TTL),
        AppToken(app_id=app.id, kind="refresh", token_hash=hash_token(refresh), prefix=refresh[:11], scopes=scopes,
                 family=family, created_at=now, expires_at=now + REFRESH_TTL),
    ])
    await session.flush()
    return IssuedTokens(access, refresh, int(ACCESS_TTL.total_seconds()), scopes)


async def _client(session: AsyncSession, client_id: str, client_secret: str | None) -> IntegrationApp:
    app = await session.scalar(select(IntegrationApp).where(IntegrationApp.client_id == client_id[:40]))
    expected = app.secret_hash if app is not None else hash_token("")
    given = hash_token(client_secret or "")
    if app is None or app.revoked_at is not None or not hmac.compare_digest(expected, given):
        raise Unauthorized(INVALID_CLIENT, code="invalid_client")
    return app


async def grant_client_credentials(session: AsyncSession, *, client_id: str, client_secret: str,
                                   scope: str | None = None, now: datetime | None = None) -> IssuedTokens:
    """Client id and secret → an access token (1 h) and a refresh token (90 days, single use)."""
    app = await _client(session, client_id, client_secret)
    scopes = check_scopes(scope.split(), app.scopes) if scope else list(app.scopes)
    return await _issue(session, app, scopes, secrets.token_hex(16), now or utcnow())


async def grant_refresh(session: AsyncSession, *, client_id: str, refresh_token: str,
                        client_secret: str | None = None, now: datetime | None = None) -> IssuedTokens:
    """A refresh token → a new pair; the old refresh token is spent. Presenting a spent one again means it
    leaked: the whole chain (every access and refresh token descended from the same grant) is revoked."""
    now = now or utcnow()
    token = await session.scalar(select(AppToken).where(AppToken.token_hash == hash_token(refresh_token[:256]),
                                                        AppToken.kind == "refresh"))
    app = await session.get(IntegrationApp, token.app_id) if token is not None else None
    if token is None or app is None or app.client_id != client_id or app.revoked_at is not None:
        raise Invalid(INVALID_GRANT, code="invalid_grant")
    if client_secret is not None:
        await _client(session, client_id, client_secret)
    if token.used_at is not None:
        await session.execute(update(AppToken).where(AppToken.family == token.family, AppToken.revoked_at.is_(None))
                              .values(revoked_at=now))
        forget_checked_tokens(session)
        session.add(AuditEvent(action="refresh_token.reused", subject=f"app:{app.client_id}",
                               account_id=app.account_id))
        await session.flush()
        raise Invalid(INVALID_GRANT, code="invalid_grant", details={"family_revoked": True})
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        raise Invalid(INVALID_GRANT, code="invalid_grant")
    token.used_at = now
    assert token.family is not None
    return await _issue(session, app, list(token.scopes), token.family, now)


async def revoke_token(session: AsyncSession, *, client_id: str, client_secret: str, token: str) -> None:
    """RFC 7009: an app revokes one of its own tokens (a refresh token takes its chain along). Unknown tokens
    are not an error."""
    app = await _client(session, client_id, client_secret)
    found = await session.scalar(select(AppToken).where(AppToken.token_hash == hash_token(token[:256]),
                                                        AppToken.app_id == app.id))
    if found is None:
        return
    now = utcnow()
    if found.kind == "refresh" and found.family:
        await session.execute(update(AppToken).where(AppToken.family == found.family, AppToken.revoked_at.is_(None))
                              .values(revoked_at=now))
    elif found.revoked_at is None:
        found.revoked_at = now
    forget_checked_tokens(session)
    await session.flush()


# --- authenticating a call ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppContext:
    """Who is calling: the app, its account, its staff identity, and the scopes of the token it used."""

    app: IntegrationApp
    bot: User
    token_id: int
    scopes: frozenset[str]

    @property
    def account_id(self) -> int:
        return self.app.account_id


class CheckedTokens:
    """Tokens this process found valid a moment ago: an app calls many times a second, and looking its token,
    app and staff identity up for each call cost a tenth of the call. A revocation made here empties it at once;
    one made by another process is seen within CHECKED_FOR_SECONDS."""

    CHECKED_FOR_SECONDS = 5.0
    MAX_TOKENS = 10_000

    def __init__(self, _: Any = None) -> None:
        self.found: dict[str, tuple[float, AppContext, datetime | None]] = {}

    def get(self, token_hash: str, now: datetime) -> AppContext | None:
        entry = self.found.get(token_hash)
        if entry is None:
            return None
        checked_at, context, expires_at = entry
        if time.monotonic() - checked_at > self.CHECKED_FOR_SECONDS or (expires_at is not None and expires_at <= now):
            del self.found[token_hash]
            return None
        return context

    def keep(self, token_hash: str, context: AppContext, expires_at: datetime | None) -> None:
        if len(self.found) >= self.MAX_TOKENS:
            self.found.clear()
        self.found[token_hash] = (time.monotonic(), context, expires_at)


def checked_tokens(runtime: Runtime) -> CheckedTokens:
    return runtime.part("integrations.checked_tokens", CheckedTokens)


def forget_checked_tokens(session: AsyncSession) -> None:
    checked_tokens(runtime_of(session)).found.clear()


_TOKEN_LOOKUP = (select(AppToken, IntegrationApp, User)
                 .join(IntegrationApp, IntegrationApp.id == AppToken.app_id)
                 .join(User, User.id == IntegrationApp.bot_user_id)
                 .where(AppToken.token_hash == bindparam("token_hash"), AppToken.kind.in_(("access", "api_key"))))


async def authenticate(runtime: Runtime, raw: str, now: datetime | None = None) -> AppContext | None:
    """The app behind an access token or API key, or None when it is unknown, expired or revoked. A token this
    process checked a moment ago is not looked up again (`CheckedTokens`): no session is opened for it."""
    now = now or utcnow()
    token_hash = hash_token(raw)
    checked = checked_tokens(runtime)
    context = checked.get(token_hash, now)
    if context is not None:
        return context
    async with runtime.read_session() as session:
        row = (await session.execute(_TOKEN_LOOKUP, {"token_hash": token_hash})).first()
    if row is None:
        return None
    token, app, bot = row
    if (token.revoked_at is not None or app.revoked_at is not None
            or (token.expires_at is not None and token.expires_at <= now)):
        return None
    # A scope removed from the app later is removed from its existing tokens too.
    context = AppContext(app, bot, token.id, frozenset(token.scopes) & frozenset(app.scopes))
    checked.keep(token_hash, context, token.expires_at)
    return context


async def prune(session: AsyncSession, now: datetime | None = None) -> None:
    """Old calls, expired or spent tokens: kept only as long as they are useful."""
    now = now or utcnow()
    await session.execute(delete(AppCall).where(AppCall.created_at < now - CALL_RETENTION))
    await session.execute(delete(AppToken).where(AppToken.kind != "api_key",
                                                 AppToken.expires_at < now - timedelta(days=1)))
