"""Conversations between a citizen and an account: messages, the live event log, the staff inbox's
notes, labels and canned replies, automation, abuse reports and the daily counts statistics read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, JsonType, UTCDateTime, check_in, utcnow

CONVERSATION_STATES = ("open", "waiting", "closed")
MESSAGE_KINDS = ("text", "image", "file", "location", "link")
DIRECTIONS = ("in", "out")  # in: from the citizen; out: from the account (a person or an automatic answer)
AUTO_REASONS = ("welcome", "keyword", "out_of_hours")
KEYWORD_MATCHES = ("contains", "exact")
REPORT_SIDES = ("staff", "citizen")
REPORT_STATUSES = ("open", "reviewed")


class Conversation(Base):
    """One per (account, citizen). Counters and the last message are kept here so that the inbox reads
    conversations only, never messages."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(check_in("state", CONVERSATION_STATES), name="state"),
        UniqueConstraint("account_id", "citizen_id", name="uq_conversations_account_citizen"),
        # The inbox: one state, unread first, newest first.
        Index("ix_conversations_inbox", "account_id", "state", "has_unread", "last_message_id"),
        Index("ix_conversations_assigned", "account_id", "assigned_to", "state", "has_unread", "last_message_id"),
        Index("ix_conversations_citizen", "citizen_id", "last_message_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="open")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    last_direction: Mapped[str | None] = mapped_column(String(3))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    has_unread: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_unread: Mapped[int] = mapped_column(Integer, default=0)
    citizen_unread: Mapped[int] = mapped_column(Integer, default=0)
    staff_seen_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    citizen_seen_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    messages_in: Mapped[int] = mapped_column(Integer, default=0)
    messages_out: Mapped[int] = mapped_column(Integer, default=0)
    # Since when the citizen has been waiting for a person's answer (None: answered, or never wrote).
    awaiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    responses: Mapped[int] = mapped_column(Integer, default=0)
    response_seconds_total: Mapped[int] = mapped_column(BigInteger, default=0)
    last_out_of_hours_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(check_in("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint(check_in("direction", DIRECTIONS), name="direction"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_account", "account_id", "id"),
        # A sender's retry with the same reference is answered with the stored message, not stored twice.
        Index("ix_messages_client_ref", "conversation_id", "client_ref", unique=True,
              sqlite_where=text("client_ref IS NOT NULL"), postgresql_where=text("client_ref IS NOT NULL")),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    text_folded: Mapped[str] = mapped_column(Text, default="")  # for search within an account's inbox
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    commune_code: Mapped[str | None] = mapped_column(String(5))
    url: Mapped[str | None] = mapped_column(String(2000))
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # internal only
    auto: Mapped[str | None] = mapped_column(String(12))
    client_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationEvent(Base):
    """What live pages are told besides new messages (read receipts, assignments, notes…), kept for replay
    after a reconnect; old events are pruned. Messages and these events share one id sequence (the
    messages'), so a live channel replays both in one order: the SSE id is the message's or event's id."""

    __tablename__ = "conversation_events"
    __table_args__ = (
        Index("ix_conversation_events_account", "account_id", "id"),
        Index("ix_conversation_events_citizen", "citizen_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(BigInteger)
    citizen_id: Mapped[int] = mapped_column(BigInteger)
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)  # the staff's view; the citizen's is derived
    citizen_visible: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationNote(Base):
    """Internal notes between staff: never shown to the citizen."""

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id", "id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationLabel(Base):
    """A label on a conversation, carrying the conversation's inbox sort key (kept equal by the writer and
    the inbox actions), so that one label's page is an index range whatever the label's size."""

    __tablename__ = "conversation_labels"
    __table_args__ = (
        Index("ix_conversation_labels_inbox", "account_id", "label", "state", "has_unread", "last_message_id"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10))
    has_unread: Mapped[bool] = mapped_column(Boolean)
    last_message_id: Mapped[int] = mapped_column(BigInteger)


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationSettings(Base):
    """An account's automatic answers; an account without a row has them all off."""

    __tablename__ = "conversation_automation"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    welcome_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    welcome_text: Mapped[str] = mapped_column(Text, default="")
    out_of_hours_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_hours_text: Mapped[str] = mapped_column(Text, default="")
    office_hours: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KeywordRuleRow(Base):
    __tablename__ = "keyword_rules"
    __table_args__ = (
        CheckConstraint(check_in("match", KEYWORD_MATCHES), name="match"),
        Index("ix_keyword_rules_account", "account_id", "priority", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    match: Mapped[str] = mapped_column(String(10), default="contains")
    reply: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageReport(Base):
    """Spam or abuse reported by the account's staff (about a citizen) or by a citizen (about an
    account's messages), for the platform's operators to review."""

    __tablename__ = "message_reports"
    __table_args__ = (
        CheckConstraint(check_in("side", REPORT_SIDES), name="side"),
        CheckConstraint(check_in("status", REPORT_STATUSES), name="status"),
        Index("ix_message_reports_status", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    side: Mapped[str] = mapped_column(String(10))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageDailyCount(Base):
    """Per account and Vietnamese calendar day: what statistics read instead of scanning messages."""

    __tablename__ = "message_daily_counts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    messages_in: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    messages_out: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    auto_replies: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    conversations_started: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    responses: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    response_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_responses: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_response_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
