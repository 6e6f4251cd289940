"""Follows of accounts by citizens, tags staff put on followers, blocks, and the follows counted per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UTCDateTime, utcnow


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        Index("ix_follows_user_id", "user_id", "account_id"),
        Index("ix_follows_account_commune", "account_id", "commune_code"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    commune_code: Mapped[str | None] = mapped_column(String(5))  # the follower's commune when they followed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The newest broadcast id the follower has seen: unread = visible broadcasts after it.
    last_read_broadcast_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())


class FollowerTag(Base):
    __tablename__ = "follower_tags"
    __table_args__ = (Index("ix_follower_tags_account_tag", "account_id", "tag", "user_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowerBlock(Base):
    __tablename__ = "follower_blocks"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    blocked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowDailyCount(Base):
    """Per account and Vietnamese calendar day: follows and unfollows, added to as they happen, so that "new
    followers today" never counts the follows table (ten million rows for the largest account)."""

    __tablename__ = "follow_daily_counts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    follows: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    unfollows: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
