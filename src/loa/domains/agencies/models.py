"""Organisations: parent bodies that run many accounts (a tree), with their own staff directory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, UTCDateTime, check_in, utcnow

ORGANISATION_ROLES = ("owner", "admin", "viewer")


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(String(400), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrganisationMember(Base):
    __tablename__ = "organisation_members"
    __table_args__ = (CheckConstraint(check_in("role", ORGANISATION_ROLES), name="role"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
