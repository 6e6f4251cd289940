"""People: citizens' one-time codes, staff passwords with TOTP, login sessions, profile, consents, and
the data rights (export, erasure) other domains contribute to.

Functions take an AsyncSession and leave the commit to the caller (`loa.kit.effects.commit`), except
`request_otp` and `verify_otp`, which commit themselves: a code is sent only once its challenge is
stored, and a wrong guess must count even though the call then fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import pyotp
from pwdlib import PasswordHash
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.geo import service as geo
from loa.domains.people.models import (
    CONSENT_PURPOSES,
    AuditEvent,
    Consent,
    LoginSession,
    OtpChallenge,
    SentMessage,
    User,
)
from loa.domains.people.senders import otp_sender
from loa.kit.auth import hash_token, new_token
from loa.kit.effects import commit, runtime_of
from loa.kit.errors import Invalid, NotFound, Unauthorized
from loa.kit.phone import normalize_mobile
from loa.kit.ratelimit import allow, hit
from loa.kit.text import clean_line

OTP_DIGITS = 6
SECOND_FACTOR_TTL = timedelta(minutes=10)  # between the password and the TOTP code
TOTP_LIMIT = "5/15minutes"  # per user: with the password known, the code is all that is left
TOTP_ISSUER = "Loa"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

OTP_EXPIRED = ("Mã xác thực đã hết hạn hoặc đã được dùng, vui lòng yêu cầu mã mới / "
               "The code has expired or was already used; request a new one")
OTP_WRONG = "Mã xác thực không đúng / Wrong code"
OTP_LOCKED = ("Bạn đã nhập sai quá số lần cho phép, vui lòng yêu cầu mã mới / "
              "Too many wrong attempts; request a new code")
LOGIN_FAILED = "Email hoặc mật khẩu không đúng / Wrong e-mail or password"
TOTP_WRONG = "Mã xác thực hai lớp không đúng / Wrong two-factor code"
NO_SECOND_FACTOR = ("Không có phiên đăng nhập nào đang chờ mã xác thực hai lớp / "
                    "No sign-in is waiting for a two-factor code")


@dataclass
class SignIn:
    user: User
    login_session: LoginSession
    token: str  # goes into the cookie, never stored
    totp_uri: str | None = None  # staff who still have to enrol an authenticator app

    @property
    def totp_secret(self) -> str | None:
        return self.user.totp_secret if self.totp_uri else None


@dataclass
class OtpRequested:
    phone: str
    expires_at: datetime


# --- login sessions -------------------------------------------------------------------------------


async def start_session(session: AsyncSession, user: User, *, stage: str = "active", ip: str | None = None,
                        user_agent: str | None = None) -> tuple[str, LoginSession]:
    """A new login session for `user`; returns the token for the cookie (only its hash is stored)."""
    settings = runtime_of(session).settings
    now = utcnow()
    ttl = timedelta(hours=settings.session_ttl_hours) if stage == "active" else SECOND_FACTOR_TTL
    token = new_token()
    login_session = LoginSession(
        token_hash=hash_token(token), user_id=user.id, stage=stage, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + ttl,
        ip=ip[:45] if ip else None, user_agent=user_agent[:300] if user_agent else None,
    )
    session.add(login_session)
    if stage == "active":
        user.last_login_at = now
    await session.flush()
    return token, login_session


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    """Sign the user out everywhere (password or second factor changed)."""
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


async def purge_expired(session: AsyncSession) -> int:
    """Delete expired sessions and one-time-code challenges; for a periodic sweep."""
    now = utcnow()
    sessions = await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    challenges = await session.execute(delete(OtpChallenge).where(OtpChallenge.expires_at <= now))
    return (sessions.rowcount or 0) + (challenges.rowcount or 0)  # type: ignore[attr-defined]


def _needs_second_factor(user: User) -> bool:
    # Staff (anyone with a password) always confirm with TOTP, whichever way they started.
    return user.password_hash is not None or user.is_operator


def _enrolment_uri(user: User) -> str | None:
    """A provisioning URI while the user has no confirmed authenticator (a secret is made on demand)."""
    if user.totp_confirmed_at is not None:
        return None
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return totp_uri(user)


def totp_uri(user: User) -> str:
    assert user.totp_secret
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email or user.phone or str(user.id),
                                                          issuer_name=TOTP_ISSUER)


async def _sign_in(session: AsyncSession, user: User, ip: str | None, user_agent: str | None) -> SignIn:
    if _needs_second_factor(user):
        enrolment = _enrolment_uri(user)
        token, login_session = await start_session(session, user, stage="second_factor", ip=ip,
                                                   user_agent=user_agent)
        return SignIn(user, login_session, token, enrolment)
    token, login_session = await start_session(session, user, ip=ip, user_agent=user_agent)
    return SignIn(user, login_session, token)


# --- one-time codes for citizens ------------------------------------------------------------------


def _code_hash(secret_key: str, phone: str, code: str) -> str:
    # Keyed: six digits are too few for a plain hash to hide them from someone who reads the table.
    return hmac.new(secret_key.encode(), f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def otp_text(code: str, ttl_seconds: int) -> str:
    minutes = max(1, ttl_seconds // 60)
    return (f"Mã xác thực Loa của bạn là {code}. Mã có hiệu lực trong {minutes} phút, "
            f"không chia sẻ mã này cho bất kỳ ai. / Your Loa verification code is {code}. "
            f"It is valid for {minutes} minutes; do not share it with anyone.")


async def request_otp(session: AsyncSession, phone: str, ip: str | None) -> OtpRequested:
    """Send a fresh six-digit code to `phone` (E.164 after normalising); earlier codes stop working."""
    runtime = runtime_of(session)
    settings = runtime.settings
    phone = normalize_mobile(phone)
    await hit(runtime, "otp_request_ip", ip or "-", settings.otp_limit_per_ip)
    await hit(runtime, "otp_request_phone", phone, settings.otp_limit_per_phone)
    now = utcnow()
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    await session.execute(
        update(OtpChallenge).where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now).execution_options(synchronize_session=False))
    challenge = OtpChallenge(phone=phone, code_hash=_code_hash(settings.resolved_secret_key, phone, code),
                             created_at=now, expires_at=now + timedelta(seconds=settings.otp_ttl_seconds))
    session.add(challenge)
    await commit(session)
    await otp_sender(runtime).send(phone, otp_text(code, settings.otp_ttl_seconds))
    return OtpRequested(phone=phone, expires_at=challenge.expires_at)


async def verify_otp(session: AsyncSession, phone: str, code: str, ip: str | None,
                     user_agent: str | None) -> SignIn:
    """Check the latest code sent to `phone`; the first success creates the user. Commits."""
    runtime = runtime_of(session)
    settings = runtime.settings
    phone = normalize_mobile(phone)
    await hit(runtime, "signin_ip", ip or "-", settings.login_limit_per_ip)
    now = utcnow()
    challenge = await session.scalar(
        select(OtpChallenge)
        .where(OtpChallenge.phone == phone, OtpChallenge.consumed_at.is_(None), OtpChallenge.expires_at > now)
        .order_by(OtpChallenge.id.desc()).limit(1))
    if challenge is None:
        raise Unauthorized(OTP_EXPIRED, code="otp_expired")
    challenge_id, used = challenge.id, challenge.attempts
    if used >= settings.otp_max_attempts:
        raise Unauthorized(OTP_LOCKED, code="otp_locked")
    # Counted in the database, conditionally: concurrent guesses cannot exceed the allowance.
    counted = await session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge_id, OtpChallenge.consumed_at.is_(None),
               OtpChallenge.attempts < settings.otp_max_attempts)
        .values(attempts=OtpChallenge.attempts + 1).execution_options(synchronize_session=False))
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Unauthorized(OTP_LOCKED, code="otp_locked")
    expected = _code_hash(settings.resolved_secret_key, phone, code.strip())
    if not hmac.compare_digest(expected, challenge.code_hash):
        await commit(session)
        left = settings.otp_max_attempts - used - 1
        if left <= 0:
            raise Unauthorized(OTP_LOCKED, code="otp_locked")
        raise Unauthorized(OTP_WRONG, code="otp_invalid", details={"attempts_left": left})
    consumed = await session.execute(
        update(OtpChallenge).where(OtpChallenge.id == challenge_id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now).execution_options(synchronize_session=False))
    if consumed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Unauthorized(OTP_EXPIRED, code="otp_expired")
    user = await session.scalar(select(User).where(User.phone == phone))
    if user is None:
        user = User(phone=phone, created_at=now)
        session.add(user)
        await session.flush()
    result = await _sign_in(session, user, ip, user_agent)
    await commit(session)
    return result


# --- staff: e-mail, password, TOTP ----------------------------------------------------------------

_passwords = PasswordHash.recommended()  # Argon2id


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise Invalid("Địa chỉ email không hợp lệ / Invalid e-mail address", code="invalid_email")
    return email


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự / "
                      f"The password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid("Mật khẩu quá dài / The password is too long", code="invalid_password")


async def hash_password(password: str) -> str:
    """Argon2id, off the event loop (it costs tens of milliseconds of CPU by design)."""
    validate_password(password)
    return await asyncio.to_thread(_passwords.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _passwords.hash(secrets.token_urlsafe(16))


async def login_with_password(session: AsyncSession, email: str, password: str, ip: str | None,
                              user_agent: str | None) -> SignIn:
    """Step one for staff: a session in stage "second_factor" (and an enrolment URI if no TOTP yet)."""
    runtime = runtime_of(session)
    settings = runtime.settings
    email = normalize_email(email)
    await hit(runtime, "signin_ip", ip or "-", settings.login_limit_per_ip)
    await hit(runtime, "login_email", email, settings.login_limit_per_email)
    user = await session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.password_hash else None
    # An unknown address costs the same time as a known one: timing tells nothing about who has an account.
    valid, updated = await asyncio.to_thread(_passwords.verify_and_update, password, stored or _dummy_hash())
    if user is None or stored is None or not valid:
        raise Unauthorized(LOGIN_FAILED, code="login_failed")
    if updated:
        user.password_hash = updated
    enrolment = _enrolment_uri(user)
    token, login_session = await start_session(session, user, stage="second_factor", ip=ip, user_agent=user_agent)
    return SignIn(user, login_session, token, enrolment)


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to (one step of clock drift either way), or None."""
    totp = pyotp.TOTP(secret)
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return totp.timecode(now) + offset
    return None


async def confirm_totp(session: AsyncSession, login_session_id: int, code: str) -> SignIn:
    """Step two: a valid TOTP code turns the waiting session into an active one under a new token
    (and confirms the authenticator on first use)."""
    runtime = runtime_of(session)
    now = utcnow()
    login_session = await session.get(LoginSession, login_session_id)
    if login_session is None or login_session.stage != "second_factor" or login_session.expires_at <= now:
        raise Unauthorized(NO_SECOND_FACTOR, code="login_required")
    user = await session.get(User, login_session.user_id)
    if user is None or not user.totp_secret:
        raise Unauthorized(NO_SECOND_FACTOR, code="login_required")
    await hit(runtime, "totp_user", str(user.id), TOTP_LIMIT)
    step = _totp_step(user.totp_secret, code.strip(), now)
    # A code seen once is spent, also on another process (the limiter is shared when scaled out).
    if step is None or not await allow(runtime, "totp_step", f"{user.id}:{step}", "1/3minutes"):
        raise Unauthorized(TOTP_WRONG, code="totp_invalid")
    if user.totp_confirmed_at is None:
        user.totp_confirmed_at = now
    token = new_token()  # rotated: the pre-2FA token is worthless from now on
    settings = runtime.settings
    login_session.token_hash = hash_token(token)
    login_session.csrf_token = secrets.token_urlsafe(32)
    login_session.stage = "active"
    login_session.last_seen_at = now
    login_session.expires_at = now + timedelta(hours=settings.session_ttl_hours)
    user.last_login_at = now
    await session.flush()
    return SignIn(user, login_session, token)


async def set_staff_credentials(session: AsyncSession, *, email: str, password: str, name: str | None = None,
                                operator: bool | None = None) -> tuple[User, str]:
    """Create or update a staff user with this password and a fresh TOTP secret, confirmed (it is handed
    over out of band); every existing session of theirs ends. Returns the user and the otpauth URI."""
    email = normalize_email(email)
    password_hash = await hash_password(password)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email)
        session.add(user)
    user.password_hash = password_hash
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = utcnow()
    if name is not None:
        user.display_name = clean_line(name)[:100]
    if operator is not None:
        user.is_operator = operator
    await session.flush()
    await end_all_sessions(session, user.id)
    await audit(session, "staff.credentials_set", subject=f"user:{user.id}")
    return user, totp_uri(user)


# --- profile --------------------------------------------------------------------------------------


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng / User not found")
    return user


async def update_profile(session: AsyncSession, user_id: int, changes: dict[str, Any]) -> User:
    """Change `display_name` and/or `home_commune_code` (None clears the commune)."""
    user = await get_user(session, user_id)
    if "display_name" in changes:
        user.display_name = clean_line(changes["display_name"] or "")[:100]
    if "home_commune_code" in changes:
        code = changes["home_commune_code"]
        if code is not None:
            await _check_commune(session, code)
        user.home_commune_code = code
    await session.flush()
    return user


async def _check_commune(session: AsyncSession, code: str) -> None:
    await geo.require_commune(session, code, field="home_commune_code")  # a current commune, or 422


# --- consents -------------------------------------------------------------------------------------


async def record_consent(session: AsyncSession, user_id: int, *, purpose: str, granted: bool, text_version: str,
                         channel: str = "web") -> Consent:
    """A new decision; earlier ones stay as the history."""
    if purpose not in CONSENT_PURPOSES:
        raise Invalid("Mục đích không hợp lệ / Unknown purpose", code="invalid_purpose")
    consent = Consent(user_id=user_id, purpose=purpose, granted=granted, text_version=text_version[:20],
                      channel=channel[:20], created_at=utcnow())
    session.add(consent)
    await session.flush()
    return consent


async def consent_history(session: AsyncSession, user_id: int) -> list[Consent]:
    """Every decision, newest first."""
    rows = await session.scalars(select(Consent).where(Consent.user_id == user_id).order_by(Consent.id.desc()))
    return list(rows)


async def current_consents(session: AsyncSession, user_id: int) -> dict[str, Consent | None]:
    """The latest decision per purpose (None: never asked)."""
    current: dict[str, Consent | None] = dict.fromkeys(CONSENT_PURPOSES)
    for consent in await consent_history(session, user_id):
        if current[consent.purpose] is None:
            current[consent.purpose] = consent
    return current


async def has_consent(session: AsyncSession, user_id: int, purpose: str) -> bool:
    latest = await session.scalar(
        select(Consent.granted).where(Consent.user_id == user_id, Consent.purpose == purpose)
        .order_by(Consent.id.desc()).limit(1))
    return bool(latest)


# --- audit ----------------------------------------------------------------------------------------


async def audit(session: AsyncSession, action: str, *, actor_user_id: int | None = None, subject: str | None = None,
                account_id: int | None = None, details: dict[str, Any] | None = None) -> None:
    """Record a security-relevant action or an access to personal data (ids, never the data itself)."""
    session.add(AuditEvent(actor_user_id=actor_user_id, action=action, subject=subject, account_id=account_id,
                           details=details, created_at=utcnow()))


# --- data rights: export and erasure --------------------------------------------------------------

Exporter = Callable[[AsyncSession, int], Awaitable[Any]]
Eraser = Callable[[AsyncSession, int], Awaitable[None]]
EXPORTERS: dict[str, Exporter] = {}
ERASERS: dict[str, Eraser] = {}
_OWN_SECTIONS = {"exported_at", "profile", "consents", "sessions", "audit_events"}


def register_exporter(name: str, exporter: Exporter) -> None:
    """`exporter(session, user_id)` returns JSON-able data: it appears under `name` in the user's export."""
    if name in _OWN_SECTIONS:
        raise ValueError(f"export section {name!r} is taken")
    EXPORTERS[name] = exporter


def register_eraser(name: str, eraser: Eraser) -> None:
    """`eraser(session, user_id)` runs before the user is deleted, in the same transaction: delete or
    anonymise the domain's rows and fix its counters. Raising an AppError refuses the deletion."""
    ERASERS[name] = eraser


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def profile_of(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "phone": user.phone,
        "email": user.email,
        "display_name": user.display_name,
        "home_commune_code": user.home_commune_code,
        "locale": user.locale,
        "is_operator": user.is_operator,
        "has_password": user.password_hash is not None,
        "totp_enabled": user.totp_confirmed_at is not None,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
    }


def consent_of(consent: Consent) -> dict[str, Any]:
    return {"id": str(consent.id), "purpose": consent.purpose, "granted": consent.granted,
            "text_version": consent.text_version, "channel": consent.channel, "created_at": _iso(consent.created_at)}


async def export_user(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything Loa keeps about the user, as JSON-able data. The access itself is audited."""
    user = await get_user(session, user_id)
    sessions = await session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id).order_by(LoginSession.id))
    events = await session.scalars(
        select(AuditEvent).where(AuditEvent.actor_user_id == user_id).order_by(AuditEvent.id))
    data: dict[str, Any] = {
        "exported_at": _iso(utcnow()),
        "profile": profile_of(user),
        "consents": [consent_of(consent) for consent in await consent_history(session, user_id)],
        "sessions": [
            {"id": str(item.id), "stage": item.stage, "created_at": _iso(item.created_at),
             "last_seen_at": _iso(item.last_seen_at), "expires_at": _iso(item.expires_at), "ip": item.ip,
             "user_agent": item.user_agent}
            for item in sessions
        ],
        "audit_events": [
            {"action": event.action, "subject": event.subject, "created_at": _iso(event.created_at)}
            for event in events
        ],
    }
    for name, exporter in EXPORTERS.items():
        data[name] = await exporter(session, user_id)
    await audit(session, "personal_data.exported", actor_user_id=user_id, subject=f"user:{user_id}")
    return data


async def delete_user(session: AsyncSession, user_id: int) -> None:
    """Erase the user and their data: every registered eraser first, then our own rows, then the user."""
    user = await get_user(session, user_id)
    for eraser in ERASERS.values():
        await eraser(session, user_id)
    await session.execute(delete(Consent).where(Consent.user_id == user_id))
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    addresses = [value for value in (user.phone, user.email) if value]
    if user.phone:
        await session.execute(delete(OtpChallenge).where(OtpChallenge.phone == user.phone))
    if addresses:
        await session.execute(delete(SentMessage).where(or_(*(SentMessage.recipient == a for a in addresses))))
    await session.execute(delete(User).where(User.id == user_id).execution_options(synchronize_session=False))
    session.expunge(user)
    await audit(session, "user.deleted", subject=f"user:{user_id}", details={"erasers": sorted(ERASERS)})
