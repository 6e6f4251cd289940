"""Broadcasts: stored once per account with their targeting; followers read them (fan-out on read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, JsonType, UTCDateTime, check_in, utcnow

BROADCAST_KINDS = ("article", "notice", "alert")
BROADCAST_STATUSES = ("draft", "pending", "scheduled", "published", "withdrawn", "rejected")
TARGET_SCOPES = ("all", "province", "commune", "tag")


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(check_in("kind", BROADCAST_KINDS), name="kind"),
        CheckConstraint(check_in("status", BROADCAST_STATUSES), name="status"),
        Index("ix_broadcasts_account_published", "account_id", "published_at"),
        Index("ix_broadcasts_due", "status", "publish_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    title: Mapped[str] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text, default="")  # Markdown as the editor wrote it
    body_html: Mapped[str] = mapped_column(Text, default="")  # rendered and sanitised, safe to show
    cover_url: Mapped[str | None] = mapped_column(String(500))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # Targeting; empty lists everywhere with target_all = every follower.
    target_all: Mapped[bool] = mapped_column(Boolean, default=True)
    target_provinces: Mapped[list[str]] = mapped_column(JsonType, default=list)
    target_communes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    target_tags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the job that plans push delivery; a sweep re-plans published broadcasts still without it.
    push_planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BroadcastTarget(Base):
    """One row per targeting term of a published broadcast: the feed finds a citizen's broadcasts by
    (account, scope, value) with an index, never by scanning broadcasts."""

    __tablename__ = "broadcast_targets"
    __table_args__ = (
        CheckConstraint(check_in("scope", TARGET_SCOPES), name="scope"),
        Index("ix_broadcast_targets_lookup", "account_id", "scope", "value", "broadcast_id"),
    )

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" for scope "all"
    account_id: Mapped[int] = mapped_column(BigInteger)


class BroadcastStats(Base):
    """Aggregate reach of one broadcast: counts only, never who."""

    __tablename__ = "broadcast_stats"

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True)
    targeted: Mapped[int] = mapped_column(BigInteger, default=0)
    pushes_planned: Mapped[int] = mapped_column(BigInteger, default=0)
    pushes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    pushes_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    reads: Mapped[int] = mapped_column(BigInteger, default=0)


class BroadcastRead(Base):
    """That a citizen opened a broadcast, so a read is counted once (written only when someone reads)."""

    __tablename__ = "broadcast_reads"

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountBroadcastQuota(Base):
    """Per-account daily publishing quota override (the default is a setting)."""

    __tablename__ = "account_broadcast_quotas"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    per_day: Mapped[int] = mapped_column(Integer)
