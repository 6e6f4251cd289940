"""Citizen reports ("phản ánh, kiến nghị"): categories and routing, the report with its photos and timeline,
deadline policies and the working calendar, staff notices, and the handling statistics kept per day."""

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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, JsonType, UTCDateTime, check_in, utcnow

# The workflow (see `workflow.py` for who may move a report where).
REPORT_STATUSES = ("submitted", "accepted", "rejected", "merged", "assigned", "in_progress", "waiting",
                   "resolved", "closed", "reopened")
# The deadline clock runs in these; "waiting" (for the citizen) pauses it; the rest are finished.
RUNNING_STATUSES = ("submitted", "accepted", "assigned", "in_progress", "reopened")
FINISHED_STATUSES = ("rejected", "merged", "resolved", "closed")
DEADLINE_UNITS = ("working_hours", "working_days")
EVENT_ACTORS = ("citizen", "staff", "system")
FIELD_TYPES = ("string", "text", "number", "datetime", "singlevaluelist", "multivaluelist")
DURATION_METRICS = ("first_response", "resolution")


class ReportCategory(Base):
    """What a citizen can report, with the extra fields it asks for and its default handling deadline.
    `code` is also the Open311 `service_code`."""

    __tablename__ = "report_categories"
    __table_args__ = (CheckConstraint(check_in("deadline_unit", DEADLINE_UNITS), name="deadline_unit"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category_group: Mapped[str] = mapped_column(String(60), default="")
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # Kinds of account competent for it (routing falls back to the commune's People's Committee).
    account_kinds: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # [{code, label, label_en, datatype, required, values: [{key, name}], order}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    deadline_amount: Mapped[int] = mapped_column(Integer, default=10)
    deadline_unit: Mapped[str] = mapped_column(String(14), default="working_days")
    # Public view: the location is shown rounded to this many metres (0: as reported).
    public_rounding_m: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingRule(Base):
    """(category, area) → the competent account. `area_code`: a commune (5 digits), a province (2 digits),
    or empty for the whole country; the most specific match wins, then the lowest priority number."""

    __tablename__ = "report_routing_rules"
    __table_args__ = (
        UniqueConstraint("category_id", "area_code", "account_id", name="uq_report_routing_rules_rule"),
        Index("ix_report_routing_rules_lookup", "category_id", "area_code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id", ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(String(5), default="")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadlinePolicy(Base):
    """An account's own handling deadline for a category (otherwise the category's)."""

    __tablename__ = "report_deadline_policies"
    __table_args__ = (CheckConstraint(check_in("unit", DEADLINE_UNITS), name="unit"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id", ondelete="CASCADE"),
                                             primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(14))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarDay(Base):
    """The operators' changes to the Vietnamese public-holiday calendar: an extra day off, a make-up
    working day, or a holiday of the built-in list that is worked after all."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint(check_in("kind", ("holiday", "working", "not_holiday")), name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportCodeCounter(Base):
    """The last tracking number given in a year (`PA-2026-000123`)."""

    __tablename__ = "report_code_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class Report(Base):
    """A citizen's report. The reporter is never shown publicly; `public` is the citizen's choice and
    `hidden` the staff's. Overdue is computed from `due_at`, never stored as a state."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(check_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
        # A staff queue: the account's reports by status, nearest deadline first.
        Index("ix_reports_queue", "account_id", "status", "due_at"),
        Index("ix_reports_reporter", "reporter_id", "id"),
        # Duplicate suggestions: open reports of a category in a grid cell (see `geo_cell`).
        Index("ix_reports_nearby", "category_id", "cell", postgresql_where=text("open"),
              sqlite_where=text("open = 1")),  # as SQLite renders `WHERE open`
        Index("ix_reports_public", "public_visible", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("report_categories.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # How to reach a reporter without an account here (a report sent by another system): staff only.
    reporter_contact: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(12), default="submitted")
    # True while the status is not finished (the nearby index covers open reports only).
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    search_folded: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    cell: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(300), default="")
    commune_code: Mapped[str | None] = mapped_column(String(5), index=True)
    province_code: Mapped[str | None] = mapped_column(String(2))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # public and not hidden and not rejected/merged: what the public list shows.
    public_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    answer: Mapped[str | None] = mapped_column(Text)
    # Deadlines: handling (`due_at`, moved on by pauses), forwarding (5 working days to transfer).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="app")  # app, open311
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportCheck(Base):
    """What the deadline sweep (`sweeps`) looks at next for a report, and what it has sent for the current
    deadline: one row per report, written with it.

    Kept apart from the wide `reports` row on purpose: the sweep's writes (tens of thousands of rows when
    one day's deadlines end together) then touch a narrow table with two indexes, instead of a new version
    of the report row and of its eight index entries each (an update of an indexed column is never HOT)."""

    __tablename__ = "report_checks"
    __table_args__ = (
        # The sweep's one read: running reports by the next moment something is due.
        Index("ix_report_checks_due", "check_at", postgresql_where=text("check_at IS NOT NULL"),
              sqlite_where=text("check_at IS NOT NULL")),
    )

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    # The earliest of the report's remind_at / due_at still to act on while it runs; None when nothing is.
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for the current deadline
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportPhoto(Base):
    """A photo of a report, re-encoded without metadata (`kit.images`), under the media storage."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    thumbnail_key: Mapped[str] = mapped_column(String(200))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Staff photos attached to an answer or a transition are the account's; citizen photos the reporter's.
    added_by: Mapped[str] = mapped_column(String(10), default="citizen")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportDocument(Base):
    """A document attached to a report (a decision, a receipt, a form: the allow-list of `kit.files`). Only the
    reporter and the handling staff ever see it: documents carry personal data."""

    __tablename__ = "report_documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    added_by: Mapped[str] = mapped_column(String(10), default="citizen")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportEvent(Base):
    """One step of a report's timeline: a transition (who, when, why) or a note. `public`: shown to the
    citizen (and on the public page, without people's names)."""

    __tablename__ = "report_events"
    __table_args__ = (
        CheckConstraint(check_in("actor", EVENT_ACTORS), name="actor"),
        Index("ix_report_events_report", "report_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffNotice(Base):
    """A notice in an account's console: deadlines getting near (to the assignee), deadlines passed (to the
    account's owners and admins). The sweep writes one per person and kind for the reports it handles
    together: about one report (`report_id`) or several (`report_count`)."""

    __tablename__ = "staff_notices"
    __table_args__ = (Index("ix_staff_notices_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # No foreign key on purpose: its check would lock (and so write) every report row the sweep notices
    # about. Readers join the report and ignore a notice whose report has left the account.
    report_id: Mapped[int | None] = mapped_column(BigId)  # a notice about one report; None for several
    report_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    text: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportDailyStats(Base):
    """Handling figures per account and Vietnamese day, added to as reports move (never recounted)."""

    __tablename__ = "report_daily_stats"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    merged: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    transferred_out: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    resolved: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    resolved_on_time: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    resolved_late: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reopened: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    ratings: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rating_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ReportDurationBucket(Base):
    """How many reports of an account, on a day, took a duration within one bucket (`stats.bucket_of`):
    medians over any period come from these counts, never from the reports."""

    __tablename__ = "report_duration_buckets"
    __table_args__ = (CheckConstraint(check_in("metric", DURATION_METRICS), name="metric"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
