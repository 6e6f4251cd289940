"""Statistics kept as rollups: each domain's figures per account and Vietnamese day, summed for the nation, each
province, each organisation (with its sub-organisations) and each account, by day, month and year.

A figure over any period then reads a handful of rows per scope (whole years, whole months, the days at the
edges), never the raw tables. The rollup sweep (`rollup.roll`) fills them from the counts the domains keep as
things happen; `./loa stats rebuild` refills them from the raw tables (`rollup.rebuild`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, UTCDateTime, check_in
from loa.domains.broadcasts.models import Broadcast
from loa.domains.conversations.models import MessageDailyCount
from loa.domains.follows.models import FollowDailyCount
from loa.domains.reports.models import DURATION_METRICS, ReportDailyStats, ReportDurationBucket

# nation (code ""), province (its code), organisation (its id: its own accounts and its sub-organisations'),
# account (its id). A commune's figures are the sum of its accounts' rows (a few accounts each).
SCOPES = ("nation", "province", "organisation", "account")
GRAINS = ("day", "month", "year")

FOLLOW_COUNTERS = ("follows", "unfollows")
MESSAGE_COUNTERS = ("messages_in", "messages_out", "auto_replies", "conversations_started", "responses",
                    "response_seconds", "first_responses", "first_response_seconds")
BROADCAST_COUNTERS = ("broadcasts", "reach")
# The reports domain's own day figures (`reports.stats.COUNTERS`), prefixed.
REPORT_COUNTERS = ("reports_received", "reports_rejected", "reports_merged", "reports_transferred_out",
                   "reports_resolved", "reports_resolved_on_time", "reports_resolved_late", "reports_reopened",
                   "reports_ratings", "reports_rating_total")
COUNTERS = FOLLOW_COUNTERS + MESSAGE_COUNTERS + BROADCAST_COUNTERS + REPORT_COUNTERS


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class StatsRollup(Base):
    """The figures of one scope over one day, month or year (`period`: its first day)."""

    __tablename__ = "stats_rollups"
    __table_args__ = (
        CheckConstraint(check_in("scope", SCOPES), name="scope"),
        CheckConstraint(check_in("grain", GRAINS), name="grain"),
        # The sweep and the rebuild read and replace one day (or a range of days) of every scope.
        Index("ix_stats_rollups_period", "grain", "period"),
    )

    scope: Mapped[str] = mapped_column(String(12), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    follows: Mapped[int] = _counter()
    unfollows: Mapped[int] = _counter()
    messages_in: Mapped[int] = _counter()
    messages_out: Mapped[int] = _counter()
    auto_replies: Mapped[int] = _counter()
    conversations_started: Mapped[int] = _counter()
    responses: Mapped[int] = _counter()
    response_seconds: Mapped[int] = _counter()
    first_responses: Mapped[int] = _counter()
    first_response_seconds: Mapped[int] = _counter()
    broadcasts: Mapped[int] = _counter()
    reach: Mapped[int] = _counter()  # followers the period's broadcasts were addressed to
    reports_received: Mapped[int] = _counter()
    reports_rejected: Mapped[int] = _counter()
    reports_merged: Mapped[int] = _counter()
    reports_transferred_out: Mapped[int] = _counter()
    reports_resolved: Mapped[int] = _counter()
    reports_resolved_on_time: Mapped[int] = _counter()
    reports_resolved_late: Mapped[int] = _counter()
    reports_reopened: Mapped[int] = _counter()
    reports_ratings: Mapped[int] = _counter()
    reports_rating_total: Mapped[int] = _counter()


class StatsDurationRollup(Base):
    """How many reports of a scope took a duration within one bucket (`reports.stats.bucket_of`) over one day,
    month or year: medians over any period read these counts."""

    __tablename__ = "stats_duration_rollups"
    __table_args__ = (
        CheckConstraint(check_in("scope", SCOPES), name="scope"),
        CheckConstraint(check_in("grain", GRAINS), name="grain"),
        CheckConstraint(check_in("metric", DURATION_METRICS), name="metric"),
        Index("ix_stats_duration_rollups_period", "grain", "period"),
    )

    scope: Mapped[str] = mapped_column(String(12), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = _counter()


class StatsState(Base):
    """One row: how far the rollups are. Its lock also keeps a sweep and a rebuild from running together."""

    __tablename__ = "stats_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    # When the rollups were last built from the raw tables (None: never; the next sweep builds them).
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every day up to this one has been rolled up after it ended and is in its month and year rows (which hold
    # no later day): the sweep starts the day after.
    settled_through: Mapped[date | None] = mapped_column(Date)
    rolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the figures are as of this moment


# Where a session keeps the `settled_through` it read (`figures.settled_through`); a roll-up forgets it.
SETTLED_THROUGH_KEY = "stats_settled_through"


# The sweep reads one day of every account from each domain's kept counts; their primary keys start with the
# account, so each gets an index by day (one entry per account and day, written when the day's row is made).
Index("ix_follow_daily_counts_day", FollowDailyCount.__table__.c.day)
Index("ix_message_daily_counts_day", MessageDailyCount.__table__.c.day)
Index("ix_report_daily_stats_day", ReportDailyStats.__table__.c.day)
Index("ix_report_duration_buckets_day", ReportDurationBucket.__table__.c.day)
# Broadcasts published on a day (their reach is in `broadcast_stats`).
Index("ix_broadcasts_published_at", Broadcast.__table__.c.published_at)
