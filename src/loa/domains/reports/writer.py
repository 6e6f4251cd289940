"""Storing new reports in batches (group commit, `kit.groupcommit`): citizens submit at the same moments
(a flood, an outage), and a transaction per report would hold the platform to a fraction of the database's
own rate.

A batch reads what it needs once for all its reports (categories, communes, routing rules and fallback
committees, deadline policies, the calendar), allocates tracking codes and ids, and inserts the reports,
their photos and first timeline steps with `executemany`, then the day's counts. Everything a report
can be refused for is decided here, per report: one refusal never takes the others down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.db.raw import RawWrite, Values, allocate_ids, dialect_of, insert_of
from loa.domains.accounts import service as accounts
from loa.domains.geo import service as geo
from loa.domains.reports import deadlines
from loa.domains.reports.models import (
    CalendarDay,
    DeadlinePolicy,
    Report,
    ReportCategory,
    ReportCheck,
    ReportCodeCounter,
    ReportDailyStats,
    ReportDocument,
    ReportEvent,
    ReportPhoto,
    RoutingRule,
)
from loa.domains.reports.stats import vn_day
from loa.domains.reports.validation import clean_fields, geo_cell
from loa.kit.errors import AppError, Invalid, NotFound
from loa.kit.groupcommit import Batch, GroupCommitWriter
from loa.kit.text import fold
from loa.kit.worktime import VN

if TYPE_CHECKING:
    from loa.runtime import Runtime

NO_AGENCY = ("Chưa có cơ quan tiếp nhận phản ánh này tại địa bàn / No agency receives this report in that area yet")

REPORT_COLUMNS = ("id", "code", "category_id", "account_id", "reporter_id", "reporter_contact", "status", "open",
                  "title", "description", "search_folded", "fields", "latitude", "longitude", "cell", "address",
                  "commune_code", "province_code", "occurred_at", "public", "hidden", "public_visible", "received_at",
                  "due_at", "remind_at", "paused_at", "first_response_at", "resolved_at", "closed_at", "rating",
                  "rating_comment", "rated_at", "reopen_count", "transfer_count", "source", "created_at",
                  "updated_at", "assigned_to", "duplicate_of", "answer")
# Every column: a stored report reads like a row of the table.
assert set(REPORT_COLUMNS) == set(Report.__table__.columns.keys())
EVENT_COLUMNS = ("id", "report_id", "account_id", "type", "from_status", "to_status", "actor", "actor_id", "note",
                 "public", "data", "created_at")
PHOTO_COLUMNS = ("report_id", "key", "thumbnail_key", "width", "height", "added_by", "created_at")
DOCUMENT_COLUMNS = ("report_id", "key", "name", "content_type", "size", "added_by", "created_at")
INSERT_REPORT = RawWrite.insert(Report.__table__, REPORT_COLUMNS)
INSERT_EVENT = RawWrite.insert(ReportEvent.__table__, EVENT_COLUMNS)
INSERT_PHOTO = RawWrite.insert(ReportPhoto.__table__, PHOTO_COLUMNS)
INSERT_DOCUMENT = RawWrite.insert(ReportDocument.__table__, DOCUMENT_COLUMNS)
# The sweep's first look: the reminder (`remind_at` is always before `due_at` for a new report).
INSERT_CHECK = RawWrite.insert(ReportCheck.__table__, ("report_id", "check_at"))
_TIMES = frozenset({"occurred_at", "received_at", "due_at", "remind_at", "paused_at", "first_response_at",
                    "resolved_at", "closed_at", "rated_at", "created_at", "updated_at"})
_JSON = frozenset({"reporter_contact", "fields"})


class StoredReport(SimpleNamespace):
    """A report just stored: its columns as attributes, read as a `Report` row is (building ORM objects was
    a third of a batch's cost, and nothing here needs their change tracking)."""


class StoredEvent(SimpleNamespace):
    """A timeline step just stored (as `StoredReport`)."""


@dataclass(frozen=True)
class StoredPhoto:
    key: str
    thumbnail_key: str
    width: int
    height: int


@dataclass(frozen=True)
class StoredDocument:
    key: str
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ReportDraft:
    """A report checked for what needs no database (the caller did that) and located: `commune_code` is
    the commune the coordinates fall in, or the one given with an address."""

    reporter_id: int | None
    category_code: str
    description: str
    fields: dict[str, Any]
    commune_code: str
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    title: str = ""
    occurred_at: datetime | None = None
    public: bool = True
    photos: tuple[StoredPhoto, ...] = ()
    documents: tuple[StoredDocument, ...] = ()
    reporter_contact: dict[str, str] | None = None
    source: str = "app"
    received_at: datetime | None = None  # tests and imports of past reports; otherwise the batch's moment


@dataclass
class _Context:
    """What a batch reads once for all its reports."""

    categories: dict[str, ReportCategory]
    provinces: dict[str, str | None]  # commune code → province code
    rules: dict[tuple[int, str], int] = field(default_factory=dict)  # (category, area) → account
    committees: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, area) → account
    policies: dict[tuple[int, int], deadlines.Deadline] = field(default_factory=dict)


def _load(session: Session, drafts: Sequence[ReportDraft]) -> _Context:
    categories = {row.code: row for row in session.scalars(select(ReportCategory).where(
        ReportCategory.enabled.is_(True)))}
    provinces = geo.provinces_of_communes(session, sorted({draft.commune_code for draft in drafts}))
    context = _Context(categories, provinces)
    areas = sorted({*provinces, *(code for code in provinces.values() if code), ""})
    category_ids = sorted({categories[draft.category_code].id for draft in drafts
                           if draft.category_code in categories})
    # Rules, most urgent first: the first one seen for an (area, category) wins.
    for category_id, area, account_id in session.execute(select(
            RoutingRule.category_id, RoutingRule.area_code, RoutingRule.account_id).where(
            RoutingRule.category_id.in_(category_ids), RoutingRule.area_code.in_(areas)).order_by(
            RoutingRule.priority, RoutingRule.id)):
        context.rules.setdefault((category_id, area), account_id)
    context.committees = accounts.committees_of(session, list(provinces),
                                                [code for code in provinces.values() if code])
    return context


def _route(context: _Context, category: ReportCategory, commune: str, province: str | None) -> int:
    """The competent account: a routing rule of the category for the commune, else the province, else the
    whole country; failing those the commune's People's Committee, then the province's."""
    for area in (commune, province, ""):
        if area is not None and (category.id, area) in context.rules:
            return context.rules[(category.id, area)]
    for key in (("commune_committee", commune), ("provincial_committee", province)):
        if key[1] is not None and key in context.committees:
            return context.committees[key]  # type: ignore[index]
    raise Invalid(NO_AGENCY, code="no_competent_account")


def route_sync(session: Session, category_code: str, commune_code: str) -> int:
    """The account a report of the category in the commune would be routed to now, as a batch routes it (for a
    citizen's preview before sending: the same rules, nothing written)."""
    context = _load(session, [ReportDraft(reporter_id=None, category_code=category_code, description="", fields={},
                                          commune_code=commune_code)])
    category = context.categories.get(category_code)
    if category is None:
        raise NotFound("Không có loại phản ánh này / Unknown report category", code="unknown_category")
    if commune_code not in context.provinces:
        raise Invalid("Không có xã/phường này / Unknown commune", code="unknown_commune",
                      details=[{"field": "commune_code", "message": "unknown commune"}])
    return _route(context, category, commune_code, context.provinces[commune_code])


def _policies(session: Session, context: _Context, account_ids: set[int]) -> None:
    for account_id, category_id, amount, unit in session.execute(select(
            DeadlinePolicy.account_id, DeadlinePolicy.category_id, DeadlinePolicy.amount, DeadlinePolicy.unit
    ).where(DeadlinePolicy.account_id.in_(sorted(account_ids)))):
        context.policies[(account_id, category_id)] = deadlines.Deadline(amount, unit)


def _codes(session: Session, year: int, count: int) -> list[str]:
    session.execute(insert_of(dialect_of(session))(ReportCodeCounter).values(year=year, last=0)
                    .on_conflict_do_nothing(index_elements=["year"]))
    last = session.scalar(update(ReportCodeCounter).where(ReportCodeCounter.year == year)
                          .values(last=ReportCodeCounter.last + count).returning(ReportCodeCounter.last))
    assert last is not None
    return [f"PA-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


@cache
def _received_upsert(dialect: str) -> Any:
    statement = insert_of(dialect)(ReportDailyStats)
    return statement.on_conflict_do_update(index_elements=["account_id", "day"],
                                           set_={"received": ReportDailyStats.received + statement.excluded.received})


def store_batch_sync(session: Session, drafts: list[ReportDraft]) -> Batch[StoredReport]:
    """Store the drafts in the session's transaction (not committed here): a report or the refusal of each,
    in order, and the live events to publish after the commit."""
    now = utcnow()
    context = _load(session, drafts)
    planned: list[Planned] = []
    results: list[StoredReport | AppError | None] = [None] * len(drafts)
    for index, draft in enumerate(drafts):
        try:
            category = context.categories.get(draft.category_code)
            if category is None:
                raise NotFound("Không có loại phản ánh này / Unknown report category", code="unknown_category")
            if draft.commune_code not in context.provinces:
                raise Invalid("Không có xã/phường này / Unknown commune", code="unknown_commune",
                              details=[{"field": "commune_code", "message": "unknown commune"}])
            clean_fields(category, draft.fields)  # checked by the caller too: the category may have changed
            province = context.provinces[draft.commune_code]
            planned.append((index, draft, category, _route(context, category, draft.commune_code, province),
                            province))
        except AppError as refusal:
            results[index] = refusal
    events: list[tuple[str, dict[str, Any]]] = []
    for report, event in _write(session, context, planned, results, now) if planned else []:
        events.extend(_live_events(report, event))
    return Batch([result for result in results if result is not None], events)


Planned = tuple[int, ReportDraft, ReportCategory, int, str | None]  # draft index, draft, category, account, province


def _write(session: Session, context: _Context, planned: list[Planned], results: list[StoredReport | AppError | None],
           now: datetime) -> list[tuple[StoredReport, StoredEvent]]:
    from loa.domains.reports.service import submitted_event  # the timeline's words live with the workflow

    _policies(session, context, {account_id for _, _, _, account_id, _ in planned})
    changes = frozenset((day, kind) for day, kind in session.execute(select(CalendarDay.day, CalendarDay.kind)))
    codes = _codes(session, now.astimezone(VN).year, len(planned))
    report_ids = allocate_ids(session, "reports", len(planned))
    event_ids = allocate_ids(session, "report_events", len(planned))
    values = Values(dialect_of(session))
    due_of: dict[tuple[datetime, deadlines.Deadline], tuple[datetime, datetime]] = {}
    reports, checks, events, photos, documents, stored = [], [], [], [], [], []
    received_per_day: dict[tuple[int, Any], int] = {}
    for (index, draft, category, account_id, province), code, report_id, event_id in zip(
            planned, codes, report_ids, event_ids, strict=True):
        received = draft.received_at or now
        deadline = context.policies.get((account_id, category.id)) or deadlines.Deadline(
            category.deadline_amount, category.deadline_unit)
        if (received, deadline) not in due_of:  # a batch shares one moment: worked out once per deadline
            work = deadlines.calendar_for(received.year, changes)
            due_at = deadline.due(work, received)
            due_of[(received, deadline)] = (due_at, deadlines.remind_at(work, received, due_at))
        due_at, remind_at = due_of[(received, deadline)]
        title = draft.title or draft.description.split("\n", 1)[0][:120]
        report = StoredReport(
            id=report_id, code=code, category_id=category.id, account_id=account_id, reporter_id=draft.reporter_id,
            reporter_contact=draft.reporter_contact, status="submitted", open=True, title=title,
            description=draft.description, search_folded=fold(f"{code} {title} {draft.description} {draft.address}"),
            fields=clean_fields(category, draft.fields), latitude=draft.latitude, longitude=draft.longitude,
            cell=geo_cell(draft.latitude, draft.longitude) if draft.latitude is not None
            and draft.longitude is not None else None,
            address=draft.address, commune_code=draft.commune_code, province_code=province,
            occurred_at=draft.occurred_at, public=draft.public, hidden=False, public_visible=draft.public,
            received_at=received, due_at=due_at, remind_at=remind_at, paused_at=None, first_response_at=None,
            resolved_at=None, closed_at=None,
            rating=None, rating_comment=None, rated_at=None, reopen_count=0, transfer_count=0, source=draft.source,
            created_at=received, updated_at=received, assigned_to=None, duplicate_of=None, answer=None)
        columns = report.__dict__
        reports.append(tuple(_value(values, name, columns[name]) for name in REPORT_COLUMNS))
        checks.append((report_id, values.time(remind_at)))
        event = submitted_event(report, event_id, deadline, received)
        columns = event.__dict__
        events.append(tuple(_value(values, name, columns[name]) for name in EVENT_COLUMNS))
        photos.extend((report_id, photo.key, photo.thumbnail_key, photo.width, photo.height, "citizen",
                       values.time(received)) for photo in draft.photos)
        documents.extend((report_id, document.key, document.name, document.content_type, document.size, "citizen",
                          values.time(received)) for document in draft.documents)
        key = (account_id, vn_day(received))
        received_per_day[key] = received_per_day.get(key, 0) + 1
        stored.append((report, event))
        results[index] = report
    INSERT_REPORT.executemany(session, reports)
    INSERT_CHECK.executemany(session, checks)
    INSERT_EVENT.executemany(session, events)
    INSERT_PHOTO.executemany(session, photos)
    INSERT_DOCUMENT.executemany(session, documents)
    session.execute(_received_upsert(dialect_of(session)), [
        {"account_id": account_id, "day": day, "received": count}
        for (account_id, day), count in sorted(received_per_day.items())])
    return stored


def _value(values: Values, name: str, value: Any) -> Any:
    if name in _TIMES:
        return values.time(value)
    if name in _JSON or name == "data":
        return values.json(value)
    return value


def _live_events(report: StoredReport, event: StoredEvent) -> list[tuple[str, dict[str, Any]]]:
    from loa.domains.reports.service import live_event, staff_event

    published = [(f"staff:{report.account_id}", staff_event(report, event.type))]
    if report.reporter_id is not None:
        published.insert(0, (f"user:{report.reporter_id}", live_event(report, event)))
    return published


class ReportWriter(GroupCommitWriter[ReportDraft, StoredReport]):
    """This process's group-commit writer of new reports (one per runtime)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, store_batch_sync, name="report")
