"""Web Push: citizens' device subscriptions, quiet hours, and delivery batches kept in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, UTCDateTime, check_in, utcnow

BATCH_STATUSES = ("pending", "sending", "done", "failed")


class PushSubscription(Base):
    """One browser or device of a citizen (the Push API's subscription)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (Index("ix_push_subscriptions_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class PushPreference(Base):
    """A citizen's quiet hours (local time, Asia/Ho_Chi_Minh); emergency alerts ignore them."""

    __tablename__ = "push_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    quiet_from: Mapped[str | None] = mapped_column(String(5))  # "22:00"
    quiet_until: Mapped[str | None] = mapped_column(String(5))  # "06:30"


class PushBatch(Base):
    """Push delivery of one broadcast to the followers with user ids in (after_user_id, until_user_id].

    Planning writes these rows; a job carries only the batch id; a sweep re-kicks batches left behind
    by a crashed worker. `next_user_id` is the resume point inside the batch."""

    __tablename__ = "push_batches"
    __table_args__ = (
        CheckConstraint(check_in("status", BATCH_STATUSES), name="status"),
        Index("ix_push_batches_due", "status", "next_attempt_at"),
        Index("ix_push_batches_broadcast", "broadcast_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    after_user_id: Mapped[int] = mapped_column(BigInteger)
    until_user_id: Mapped[int] = mapped_column(BigInteger)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    next_user_id: Mapped[int] = mapped_column(BigInteger)  # resume point: users ≤ this are done
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
