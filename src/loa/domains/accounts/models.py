"""Official accounts of agencies and utilities, their staff roles, verification and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, JsonType, UTCDateTime, check_in, utcnow

# kind → sector. State agencies first, then public utilities (the statistics split them so).
ACCOUNT_KINDS: dict[str, str] = {
    "ministry": "state",
    "government_office": "state",
    "provincial_committee": "state",
    "provincial_department": "state",
    "commune_committee": "state",
    "police": "state",
    "fatherland_front": "state",
    "court_procuracy": "state",
    "other_state": "state",
    "school": "utility",
    "hospital": "utility",
    "water": "utility",
    "power": "utility",
    "transport": "utility",
    "post_telecom": "utility",
    "environment": "utility",
    "other_utility": "utility",
}
ACCOUNT_ROLES = ("owner", "admin", "editor", "agent", "viewer")
VERIFICATION_STATUSES = ("unverified", "pending", "verified", "rejected")
APPLICATION_STATUSES = ("pending", "approved", "rejected")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(check_in("kind", tuple(ACCOUNT_KINDS)), name="kind"),
        CheckConstraint(check_in("verification_status", VERIFICATION_STATUSES), name="verification_status"),
        Index("ix_accounts_province_kind", "province_code", "kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    handle: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(String(600), default="")
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    contacts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    office_hours: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str | None] = mapped_column(String(5), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    verification_status: Mapped[str] = mapped_column(String(12), default="unverified", index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follower_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def verified(self) -> bool:
        return self.verification_status == "verified"

    @property
    def sector(self) -> str:
        return ACCOUNT_KINDS[self.kind]


class AccountMember(Base):
    __tablename__ = "account_members"
    __table_args__ = (CheckConstraint(check_in("role", ACCOUNT_ROLES), name="role"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationApplication(Base):
    """An account's request for the verified badge ("định danh"), decided by a platform operator."""

    __tablename__ = "verification_applications"
    __table_args__ = (CheckConstraint(check_in("status", APPLICATION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A per-account API token: shown once, stored as SHA-256, scoped, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
