"""Request and response bodies of the people API (sign-in, session, profile, consents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from loa.domains.people.models import Consent, User

Purpose = Literal["service", "notifications", "location", "statistics"]
SixDigits = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]
CommuneCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OtpRequestIn(Strict):
    phone: str = Field(min_length=1, max_length=32, examples=["0912 345 678"])


class OtpVerifyIn(Strict):
    phone: str = Field(min_length=1, max_length=32, examples=["0912 345 678"])
    code: SixDigits


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TotpIn(Strict):
    code: SixDigits


class ProfilePatch(Strict):
    display_name: str | None = Field(default=None, max_length=100)
    home_commune_code: CommuneCode | None = None


class ConsentIn(Strict):
    purpose: Purpose
    granted: bool
    text_version: str = Field(min_length=1, max_length=20, pattern=r"^[\w.\-]+$", examples=["2025-07"])
    channel: Literal["web", "app"] = "web"


class OtpRequestedOut(BaseModel):
    phone: str
    expires_at: datetime


class UserOut(BaseModel):
    id: str
    phone: str | None
    email: str | None
    display_name: str
    home_commune_code: str | None
    locale: str
    is_operator: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=str(user.id), phone=user.phone, email=user.email, display_name=user.display_name,
                   home_commune_code=user.home_commune_code, locale=user.locale, is_operator=user.is_operator,
                   totp_enabled=user.totp_confirmed_at is not None, created_at=user.created_at,
                   last_login_at=user.last_login_at)


class TotpEnrolmentOut(BaseModel):
    """For an authenticator app: scan `uri` as a QR code, or type `secret`."""

    uri: str
    secret: str


class SessionOut(BaseModel):
    authenticated: bool
    stage: Literal["active", "second_factor"] | None = None
    expires_at: datetime | None = None
    csrf_token: str | None = None
    user: UserOut | None = None
    totp_enrolment: TotpEnrolmentOut | None = None


class ConsentOut(BaseModel):
    id: str
    purpose: Purpose
    granted: bool
    text_version: str
    channel: str
    created_at: datetime

    @classmethod
    def of(cls, consent: Consent) -> ConsentOut:
        return cls(id=str(consent.id), purpose=consent.purpose, granted=consent.granted,  # type: ignore[arg-type]
                   text_version=consent.text_version, channel=consent.channel, created_at=consent.created_at)


class ConsentsOut(BaseModel):
    current: dict[str, ConsentOut | None]
    history: list[ConsentOut]
