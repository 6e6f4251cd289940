"""Request and response shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loa.domains.accounts.models import ACCOUNT_KINDS, ACCOUNT_ROLES, Account

Kind = Literal[tuple(ACCOUNT_KINDS)]  # type: ignore[valid-type]
Role = Literal[ACCOUNT_ROLES]  # type: ignore[valid-type]
ProvinceCode = Annotated[str, Field(pattern=r"^\d{2}$", description="Current province code (2 digits)")]
CommuneCode = Annotated[str, Field(pattern=r"^\d{5}$", description="Current commune code (5 digits)")]
Handle = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,59}$")]


class Contacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=300, pattern=r"^https?://")
    address: str | None = Field(default=None, max_length=300)


class OfficeHours(BaseModel):
    """Opening hours of one weekday (0 = Monday); several rows for split hours."""

    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6)
    opens: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("closes")
    @classmethod
    def _after_opening(cls, closes: str, info: Any) -> str:
        opens = info.data.get("opens")
        if opens and closes <= opens:
            raise ValueError("closing time must be after opening time")
        return closes


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200)
    kind: Kind
    province_code: ProvinceCode
    commune_code: CommuneCode | None = None
    handle: Handle | None = None
    description: str = Field(default="", max_length=5000)
    contacts: Contacts = Field(default_factory=Contacts)
    office_hours: list[OfficeHours] = Field(default_factory=list, max_length=21)
    organisation_id: str | None = Field(default=None, pattern=r"^\d{1,18}$")


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    avatar_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://|/)")
    contacts: Contacts | None = None
    office_hours: list[OfficeHours] | None = Field(default=None, max_length=21)
    commune_code: CommuneCode | None = None


class AccountOut(BaseModel):
    id: str
    handle: str
    name: str
    kind: str
    kind_label: str
    sector: str
    verified: bool
    verification_status: str
    description: str
    avatar_url: str | None
    contacts: dict[str, Any]
    office_hours: list[dict[str, Any]]
    province_code: str
    commune_code: str | None
    organisation_id: str | None
    follower_count: int
    created_at: datetime

    @classmethod
    def of(cls, account: Account, locale: str = "vi") -> AccountOut:
        from loa.domains.accounts.kinds import KIND_LABELS

        label_vi, label_en = KIND_LABELS[account.kind]
        return cls(
            id=str(account.id),
            handle=account.handle,
            name=account.name,
            kind=account.kind,
            kind_label=label_en if locale == "en" else label_vi,
            sector=account.sector,
            verified=account.verified,
            verification_status=account.verification_status,
            description=account.description,
            avatar_url=account.avatar_url,
            contacts=account.contacts or {},
            office_hours=account.office_hours or [],
            province_code=account.province_code,
            commune_code=account.commune_code,
            organisation_id=str(account.organisation_id) if account.organisation_id else None,
            follower_count=account.follower_count,
            created_at=account.created_at,
        )


class KindOut(BaseModel):
    kind: str
    sector: str
    label_vi: str
    label_en: str


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(pattern=r"^\d{1,18}$")
    role: Role


class MemberOut(BaseModel):
    user_id: str
    display_name: str
    email: str | None
    role: str
    created_at: datetime


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2, max_length=200)
    reference: str = Field(default="", max_length=500, description="Decision number, document URL or file id")


class VerificationApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[Document] = Field(min_length=1, max_length=10)
    note: str = Field(default="", max_length=2000)


class VerificationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str | None = Field(default=None, max_length=2000)


class ApplicationOut(BaseModel):
    id: str
    account_id: str
    account_name: str
    status: str
    documents: list[dict[str, Any]]
    note: str
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["messages", "followers", "broadcasts", "reports", "stats"]] = Field(
        min_length=1, max_length=5
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; store it now.")
