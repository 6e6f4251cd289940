"""Citizen reports: submission (validated, located, routed to the competent account, given a deadline in
working time and a tracking code), the workflow with its timeline, ratings, and the staff's queue.

Every change is one transaction: the report row, its timeline event, the day's handling figures; the
reporter's live event is published after the commit. Staff of one account never see another's reports:
anything outside the actor's accounts is "not found".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.geo import service as geo
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.domains.reports import deadlines, stats
from loa.domains.reports.models import (
    FINISHED_STATUSES,
    RUNNING_STATUSES,
    Report,
    ReportCategory,
    ReportCheck,
    ReportDocument,
    ReportEvent,
    ReportPhoto,
)
from loa.domains.reports.validation import (
    MAX_DESCRIPTION,
    check_description,
    distance_m,
    invalid,
    neighbour_cells,
)
from loa.domains.reports.workflow import ACTIONS, HANDLERS, MANAGERS, Action
from loa.domains.reports.writer import (
    ReportDraft,
    ReportWriter,
    StoredDocument,
    StoredEvent,
    StoredPhoto,
    StoredReport,
    route_sync,
)
from loa.kit.effects import commit, enqueue_after_commit, publish_after_commit
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound
from loa.kit.files import clean_file
from loa.kit.images import clean_image, make_thumbnail
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.sse import replay_source
from loa.kit.storage import MediaStorage
from loa.kit.text import clean_line, fold

if TYPE_CHECKING:
    from loa.runtime import Runtime

NOT_FOUND = "Không tìm thấy phản ánh / Report not found"
MAX_PHOTOS = 5
MAX_DOCUMENTS = 3
REOPEN_WINDOW = timedelta(days=7)  # the citizen may disagree with an answer for this long
NEARBY_METRES = 250
NEARBY_LIMIT = 5
REPLAY_PAGE = 200


# --- categories and routing ------------------------------------------------------------------------------


async def list_categories(session: AsyncSession) -> list[ReportCategory]:
    return list((await session.scalars(select(ReportCategory).where(ReportCategory.enabled.is_(True))
                                       .order_by(ReportCategory.id))).all())


async def get_category(session: AsyncSession, code: str) -> ReportCategory:
    category = await session.scalar(select(ReportCategory).where(ReportCategory.code == code,
                                                                 ReportCategory.enabled.is_(True)))
    if category is None:
        raise NotFound("Không có loại phản ánh này / Unknown report category", code="unknown_category")
    return category


@dataclass(frozen=True)
class Routing:
    """Where a report would go before it is sent: the competent account and its handling deadline."""

    account: Account
    deadline: deadlines.Deadline


async def competent_account(session: AsyncSession, *, category_code: str, commune_code: str) -> Routing:
    """The account that would receive a report of the category in the commune, with its deadline (what the
    citizen reads before sending). Refuses as submission would: unknown category or commune, no agency."""
    account_id = await session.run_sync(route_sync, category_code, commune_code)
    account = await accounts.get_account(session, account_id)
    category = await get_category(session, category_code)
    return Routing(account, await deadlines.deadline_of(session, account.id, category))


# --- submission ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    data: bytes
    filename: str


async def _store_photos(storage: MediaStorage, photos: Sequence[Photo]) -> list[StoredPhoto]:
    stored = []
    try:
        for photo in photos:
            image = clean_image(photo.data)  # re-encoded: EXIF and GPS are gone
            thumbnail = make_thumbnail(image)
            stem = f"private/reports/{uuid.uuid4().hex}"
            key, thumbnail_key = f"{stem}.{image.extension}", f"{stem}-thumb.{thumbnail.extension}"
            await storage.save(key, image.data)
            stored.append(StoredPhoto(key, "", image.width, image.height))
            await storage.save(thumbnail_key, thumbnail.data)
            stored[-1] = StoredPhoto(key, thumbnail_key, image.width, image.height)
    except BaseException:
        await _delete_photos(storage, stored)
        raise
    return stored


@dataclass(frozen=True)
class Document:
    data: bytes
    filename: str


async def _store_documents(storage: MediaStorage, documents: Sequence[Document]) -> list[StoredDocument]:
    stored: list[StoredDocument] = []
    try:
        for document in documents:
            cleaned = clean_file(document.data, document.filename)  # content sniffed against the allow-list
            key = f"private/reports/{uuid.uuid4().hex}.{cleaned.extension}"
            await storage.save(key, cleaned.data)
            stored.append(StoredDocument(key, cleaned.name, cleaned.content_type, cleaned.size))
    except BaseException:
        await _delete_keys(storage, [document.key for document in stored])
        raise
    return stored


async def _delete_photos(storage: MediaStorage, photos: Sequence[StoredPhoto]) -> None:
    await _delete_keys(storage, [key for photo in photos for key in (photo.key, photo.thumbnail_key) if key])


async def _delete_keys(storage: MediaStorage, keys: Sequence[str]) -> None:
    for key in keys:
        await storage.delete(key)


def writer(runtime: Runtime) -> ReportWriter:
    return runtime.part("reports.writer", ReportWriter)


async def submit(runtime: Runtime, *, reporter: User | None, category_code: str, description: str,
                 fields: dict[str, Any] | None = None, latitude: float | None = None,
                 longitude: float | None = None, address: str | None = None, commune_code: str | None = None,
                 occurred_at: datetime | None = None, public: bool = True, title: str = "",
                 photos: Sequence[Photo] = (), documents: Sequence[Document] = (), source: str = "app",
                 storage: MediaStorage | None = None, reporter_contact: dict[str, str] | None = None,
                 now: datetime | None = None) -> StoredReport:
    """A new report, routed to the competent account and given its deadline; nothing is stored if anything
    is wrong. Stored by this process's group-commit writer with the reports submitted at the same moment."""
    description = check_description(description)
    if len(photos) > MAX_PHOTOS:
        raise invalid("photos", f"Tối đa {MAX_PHOTOS} ảnh / At most {MAX_PHOTOS} photos", "too_many_photos")
    if len(documents) > MAX_DOCUMENTS:
        raise invalid("documents", f"Tối đa {MAX_DOCUMENTS} tệp đính kèm / At most {MAX_DOCUMENTS} documents",
                      "too_many_documents")
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise invalid("occurred_at", "Thời điểm cần có múi giờ / The time needs a time zone")
        if occurred_at > (now or utcnow()) + timedelta(minutes=5):
            raise invalid("occurred_at", "Thời điểm xảy ra ở tương lai / The time is in the future")
    address = clean_line(address or "")[:300]
    if (latitude is None) != (longitude is None):
        raise invalid("lat", "Cần cả vĩ độ và kinh độ / Both latitude and longitude are needed")
    if latitude is not None and longitude is not None:
        async with runtime.read_session() as session:
            commune_code = await geo.nearest_commune_code(session, latitude, longitude)
        latitude, longitude = round(latitude, 6), round(longitude, 6)
    elif not address or not commune_code:
        raise invalid("location", "Cần vị trí trên bản đồ, hoặc địa chỉ và xã/phường / A map position, or an "
                      "address with its commune, is needed", "missing_location")
    if (photos or documents) and storage is None:
        raise RuntimeError("photos and documents need a media storage")
    stored = await _store_photos(storage, photos) if photos and storage is not None else []
    try:
        filed = await _store_documents(storage, documents) if documents and storage is not None else []
    except BaseException:
        if storage is not None:
            await _delete_photos(storage, stored)
        raise
    draft = ReportDraft(
        reporter_id=reporter.id if reporter else None, category_code=category_code, description=description,
        fields=dict(fields or {}), commune_code=commune_code, latitude=latitude, longitude=longitude,
        address=address, title=clean_line(title)[:200], occurred_at=occurred_at, public=public,
        photos=tuple(stored), documents=tuple(filed), reporter_contact=reporter_contact or None, source=source,
        received_at=now)
    try:
        return await writer(runtime).submit(draft)
    except BaseException:
        if storage is not None:
            await _delete_photos(storage, stored)
            await _delete_keys(storage, [document.key for document in filed])
        raise


def submitted_event(report: StoredReport, event_id: int, deadline: deadlines.Deadline,
                    now: datetime) -> StoredEvent:
    """The first step of a report's timeline."""
    return StoredEvent(id=event_id, report_id=report.id, account_id=report.account_id, type="submitted",
                       from_status=None, to_status="submitted", actor="citizen", actor_id=report.reporter_id,
                       note="", public=True, data={"deadline": deadline.label, "due_at": report.due_at.isoformat()},
                       created_at=now)


# --- the timeline ----------------------------------------------------------------------------------------


async def _record(session: AsyncSession, report: Report, event_type: str, from_status: str | None,
                  to_status: str | None, *, actor: str, actor_id: int | None, note: str, now: datetime,
                  public: bool = True, data: dict[str, Any] | None = None) -> ReportEvent:
    event = ReportEvent(report_id=report.id, account_id=report.account_id, type=event_type, from_status=from_status,
                        to_status=to_status, actor=actor, actor_id=actor_id, note=note, public=public,
                        data=data or {}, created_at=now)
    session.add(event)
    await session.flush()
    if public and report.reporter_id is not None:
        publish_after_commit(session, f"user:{report.reporter_id}", live_event(report, event))
        # The reporter's phone too (`tasks.push_update`: once per step, outside their quiet hours).
        enqueue_after_commit(session, "reports.push_update", event_id=event.id)
    publish_after_commit(session, f"staff:{report.account_id}", staff_event(report, event_type))
    return event


def staff_event(report: Report | StoredReport, event_type: str) -> dict[str, Any]:
    """What the account's open console pages hear: which report moved (they reload it)."""
    return {"type": "report", "report_id": report.id, "code": report.code, "status": report.status,
            "event": event_type}


def event_view(event: ReportEvent | StoredEvent, *, staff: bool, actor_name: str | None = None) -> dict[str, Any]:
    """A timeline step. The citizen sees what happened and why; staff also see who did it."""
    action = ACTIONS.get(event.type)
    label = action.label if action else {
        "submitted": "Đã gửi phản ánh / Report submitted", "rated": "Người phản ánh đã đánh giá / Rated",
        "hidden": "Ẩn khỏi trang công khai / Hidden from the public page",
        "shown": "Hiện lại trên trang công khai / Shown on the public page",
        "reminded": "Sắp đến hạn xử lý / Deadline near",
        "escalated": "Quá hạn xử lý / Deadline passed"}.get(event.type, event.type)
    view: dict[str, Any] = {
        "id": event.id, "type": event.type, "label": label, "from_status": event.from_status,
        "to_status": event.to_status, "actor": event.actor, "note": event.note,
        "created_at": event.created_at.isoformat(), "data": _public_data(event.data) if not staff else event.data,
    }
    if staff:
        view["public"] = event.public
        view["actor_id"] = event.actor_id
        view["actor_name"] = actor_name
    return view


def _public_data(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key in ("deadline", "due_at", "to_account_name",
                                                                  "duplicate_of_code", "rating")}


def live_event(report: Report | StoredReport, event: ReportEvent | StoredEvent) -> dict[str, Any]:
    return {"id": event.id, "type": "report", "report_id": report.id, "code": report.code,
            "status": report.status, "event": event_view(event, staff=False)}


@replay_source("user")
async def replay_reports(runtime: Runtime, channel: str, after: int | None) -> list[tuple[int, str, dict[str, Any]]]:
    """A citizen's report events after `after` (the `user:{id}` channel carries only these)."""
    user_id = int(channel.split(":", 1)[1])
    async with runtime.read_session() as session:
        query = (select(ReportEvent, Report).join(Report, Report.id == ReportEvent.report_id)
                 .where(Report.reporter_id == user_id, ReportEvent.public.is_(True)))
        # No position yet: only the latest, whose id marks where the client starts.
        query = query.order_by(ReportEvent.id.desc()).limit(1) if after is None else \
            query.where(ReportEvent.id > after).order_by(ReportEvent.id).limit(REPLAY_PAGE)
        rows = (await session.execute(query)).all()
    return [(event.id, "report", live_event(report, event)) for event, report in rows]


# --- reading ---------------------------------------------------------------------------------------------


async def citizen_report(session: AsyncSession, citizen: User, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None or report.reporter_id != citizen.id:
        raise NotFound(NOT_FOUND, code="report_not_found")
    return report


async def staff_report(session: AsyncSession, actor: User, report_id: int,
                       roles: Sequence[str] = ("owner", "admin", "editor", "agent", "viewer")) -> tuple[Report, str]:
    """The report and the actor's role on its account; another account's report is "not found"."""
    report = await session.get(Report, report_id)
    role = await accounts.member_role(session, report.account_id, actor.id) if report is not None else None
    if report is None or role is None:
        raise NotFound(NOT_FOUND, code="report_not_found")
    if role not in roles:
        raise Forbidden("Vai trò của bạn không được làm việc này / Your role does not allow this", code="forbidden")
    return report, role


async def timeline(session: AsyncSession, report: Report, *, staff: bool) -> list[dict[str, Any]]:
    query = select(ReportEvent, User.display_name).outerjoin(User, User.id == ReportEvent.actor_id).where(
        ReportEvent.report_id == report.id).order_by(ReportEvent.id)
    if not staff:
        query = query.where(ReportEvent.public.is_(True))
    return [event_view(event, staff=staff, actor_name=name if staff else None)
            for event, name in (await session.execute(query)).all()]


async def documents_of(session: AsyncSession, report_id: int) -> list[ReportDocument]:
    return list((await session.scalars(select(ReportDocument).where(ReportDocument.report_id == report_id)
                                       .order_by(ReportDocument.id))).all())


async def photos_of(session: AsyncSession, report_id: int) -> list[ReportPhoto]:
    return list((await session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report_id)
                                       .order_by(ReportPhoto.id))).all())


def overdue(report: Report, now: datetime) -> bool:
    """Past its deadline and still being handled (a paused report is not overdue while it waits)."""
    return report.status in RUNNING_STATUSES and report.due_at < now


def late(report: Report) -> bool:
    """Resolved after its deadline."""
    return report.resolved_at is not None and report.resolved_at > report.due_at


async def my_reports(session: AsyncSession, citizen: User, *, cursor: str | None,
                     limit: int) -> tuple[list[Report], str | None]:
    position = decode_cursor(cursor)
    query = select(Report).where(Report.reporter_id == citizen.id).order_by(Report.id.desc()).limit(limit + 1)
    if position is not None:
        query = query.where(Report.id < cursor_int(position, "id"))
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor({"id": rows[-1].id}) if more and rows else None


async def queue(session: AsyncSession, actor: User, account_id: int, *, status: str | None, overdue_only: bool,
                assigned_to_me: bool, q: str | None, cursor: str | None, limit: int,
                now: datetime) -> tuple[list[Report], str | None]:
    """The account's reports for its staff: nearest deadline first (an overdue one is the nearest)."""
    await accounts.require_account_role(session, account_id, actor, ("owner", "admin", "editor", "agent", "viewer"))
    query: Select[tuple[Report]] = select(Report).where(Report.account_id == account_id)
    if status == "open":
        query = query.where(Report.status.in_((*RUNNING_STATUSES, "waiting")))
    elif status:
        query = query.where(Report.status == status)
    if overdue_only:
        query = query.where(Report.status.in_(RUNNING_STATUSES), Report.due_at < now)
    if assigned_to_me:
        query = query.where(Report.assigned_to == actor.id)
    if q:
        for word in fold(q).split():
            query = query.where(Report.search_folded.contains(word, autoescape=True))
    position = decode_cursor(cursor)
    if position is not None:
        try:
            due = datetime.fromisoformat(str(position.get("due")))
        except ValueError:
            raise Invalid("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor") from None
        last_id = cursor_int(position, "id")
        query = query.where(or_(Report.due_at > due, and_(Report.due_at == due, Report.id > last_id)))
    rows = list((await session.scalars(query.order_by(Report.due_at, Report.id).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor({"due": rows[-1].due_at.isoformat(), "id": rows[-1].id}) if more and rows else None
    return rows, next_cursor


# --- the workflow ----------------------------------------------------------------------------------------


def _refuse_transition(report: Report, action: Action) -> Conflict:
    return Conflict(f"Không thể “{action.label.split(' / ')[0]}” khi phản ánh đang ở trạng thái "
                    f"“{report.status}” / Cannot {action.name} a report that is {report.status}",
                    code="transition_not_allowed")


def _note(action: Action, note: str | None) -> str:
    text = (note or "").strip()
    if action.needs_note and not text:
        raise invalid("note", "Cần ghi lý do, câu hỏi hoặc nội dung trả lời / A reason, question or answer is "
                      "needed", "note_required")
    if len(text) > MAX_DESCRIPTION:
        raise invalid("note", "Nội dung quá dài / The text is too long", "note_too_long")
    return text


async def act(runtime: Runtime, *, actor: User, report_id: int, action_name: str, note: str | None = None,
              assignee_id: int | None = None, duplicate_of: str | None = None,
              to_account_id: int | None = None, public: bool = True, now: datetime | None = None) -> Report:
    """A staff member moves a report on (see `workflow.ACTIONS`)."""
    now = now or utcnow()
    action = ACTIONS.get(action_name)
    if action is None or action.by != "staff":
        raise invalid("action", f"Không có thao tác “{action_name}” / Unknown action", "unknown_action")
    async with runtime.session() as session:
        report, role = await staff_report(session, actor, report_id)
        check = await _check_of(session, report)
        if role not in action.roles:
            raise Forbidden("Vai trò của bạn không được làm việc này / Your role does not allow this",
                            code="forbidden")
        if report.status not in action.sources:
            raise _refuse_transition(report, action)
        text = _note(action, note)
        data: dict[str, Any] = {}
        work = await deadlines.calendar(session, now)
        previous = report.status
        if action.name == "assign":
            data.update(await _assign(session, report, assignee_id))
        elif action.name == "start" and report.assigned_to is None:
            report.assigned_to = actor.id
        elif action.name == "merge":
            data.update(await _merge(session, report, duplicate_of))
        elif action.name == "ask":
            report.paused_at = now
            check.check_at = None
        elif action.name == "resume":
            _resume(work, report, check, now)
        elif action.name == "transfer":
            data.update(await _transfer(session, report, check, to_account_id, text, now))
        report.status = action.target
        if action.name == "resolve":
            report.answer = text
            await _resolved(session, report, now)
        if action.name == "close":
            report.closed_at = now
        await _finish(session, report, check, action, previous, now)
        if report.first_response_at is None and action.name != "transfer":
            report.first_response_at = now
            await stats.add_duration(session, report.account_id, now, "first_response",
                                     (now - report.received_at).total_seconds())
        await _record(session, report, action.name, previous, report.status, actor="staff", actor_id=actor.id,
                      note=text, now=now, data=data, public=public or action.name in ("resolve", "reject", "ask"))
        if action.name == "reject":
            await stats.count(session, report.account_id, now, rejected=1)
        await commit(session)
        return report


async def _assign(session: AsyncSession, report: Report, assignee_id: int | None) -> dict[str, Any]:
    if assignee_id is None:
        raise invalid("assignee_id", "Cần chọn cán bộ xử lý / Choose who handles it", "assignee_required")
    role = await accounts.member_role(session, report.account_id, assignee_id)
    if role not in HANDLERS:
        raise invalid("assignee_id", "Người này không xử lý phản ánh của tài khoản / This person does not handle "
                      "the account's reports", "invalid_assignee")
    report.assigned_to = assignee_id
    return {"assignee_id": assignee_id}


async def _merge(session: AsyncSession, report: Report, duplicate_of: str | None) -> dict[str, Any]:
    original = None
    if duplicate_of:
        query = select(Report).where(Report.code == duplicate_of.strip().upper()) if not duplicate_of.isdigit() \
            else select(Report).where(Report.id == int(duplicate_of))
        original = await session.scalar(query)
    if original is None or original.id == report.id or original.account_id != report.account_id \
            or original.status in ("merged", "rejected"):
        raise invalid("duplicate_of", "Cần một phản ánh khác của cùng tài khoản, chưa bị gộp / Give another report "
                      "of this account that was not merged", "invalid_duplicate")
    report.duplicate_of = original.id
    await stats.count(session, report.account_id, utcnow(), merged=1)
    return {"duplicate_of": original.id, "duplicate_of_code": original.code}


async def _check_of(session: AsyncSession, report: Report) -> ReportCheck:
    """The report's deadline-sweep row (written with the report; made again if it is missing)."""
    check = await session.get(ReportCheck, report.id, with_for_update=True)
    if check is None:
        check = ReportCheck(report_id=report.id)
        session.add(check)
    return check


def _resume(work: Any, report: Report, check: ReportCheck, now: datetime) -> None:
    if report.paused_at is not None:
        if check.reminded_at is None and report.remind_at is not None:
            # The reminder moves with the deadline: still a fifth of the working time before it.
            report.remind_at = deadlines.after_pause(work, report.remind_at, report.paused_at, now)
        report.due_at = deadlines.after_pause(work, report.due_at, report.paused_at, now)
        report.paused_at = None
    _schedule_checks(report, check)


def _schedule_checks(report: Report, check: ReportCheck) -> None:
    """What the deadline sweep looks at next for a running report."""
    if report.status not in RUNNING_STATUSES:
        check.check_at = None
    elif check.reminded_at is None and report.remind_at is not None and report.remind_at < report.due_at:
        check.check_at = report.remind_at
    elif check.escalated_at is None:
        check.check_at = report.due_at
    else:
        check.check_at = None


async def _transfer(session: AsyncSession, report: Report, check: ReportCheck, to_account_id: int | None,
                    reason: str, now: datetime) -> dict[str, Any]:
    if to_account_id is None or to_account_id == report.account_id:
        raise invalid("to_account_id", "Cần chọn cơ quan khác để chuyển / Choose another agency", "invalid_target")
    target = await accounts.get_account(session, to_account_id)
    await stats.count(session, report.account_id, now, transferred_out=1)
    category = await session.get(ReportCategory, report.category_id)
    assert category is not None
    late = now > await deadlines.forward_by(session, report.received_at)
    work = await deadlines.calendar(session, now)
    deadline = await deadlines.deadline_of(session, target.id, category)
    source = report.account_id
    report.account_id = target.id
    report.assigned_to = None
    report.received_at = now
    report.due_at = deadline.due(work, now)
    report.remind_at = deadlines.remind_at(work, now, report.due_at)
    report.first_response_at = None
    check.reminded_at = check.escalated_at = None
    report.transfer_count += 1
    await stats.count(session, target.id, now, received=1)
    return {"from_account_id": source, "to_account_id": target.id, "to_account_name": target.name,
            "deadline": deadline.label, "due_at": report.due_at.isoformat(), "reason": reason,
            "forwarded_late": late}


async def _resolved(session: AsyncSession, report: Report, now: datetime) -> None:
    if report.resolved_at is not None:  # resolved again after a reopening: counted once
        report.resolved_at = now
        return
    report.resolved_at = now
    on_time = now <= report.due_at
    await stats.count(session, report.account_id, now, resolved=1, resolved_on_time=int(on_time),
                      resolved_late=int(not on_time))
    await stats.add_duration(session, report.account_id, now, "resolution", (now - report.received_at).total_seconds())


async def _finish(session: AsyncSession, report: Report, check: ReportCheck, action: Action, previous: str,
                  now: datetime) -> None:
    report.updated_at = now
    report.open = report.status not in FINISHED_STATUSES
    report.public_visible = report.public and not report.hidden and report.status not in ("rejected", "merged")
    if action.name != "ask":  # resumed: scheduled again now that the status runs (`_resume` saw "waiting")
        _schedule_checks(report, check)


async def citizen_act(runtime: Runtime, *, citizen: User, report_id: int, action_name: str,
                      note: str | None = None, now: datetime | None = None) -> Report:
    """The reporter adds information, disagrees with the answer (within the window) or accepts it."""
    now = now or utcnow()
    action = ACTIONS.get(action_name)
    if action is None or action.by != "citizen":
        raise invalid("action", f"Không có thao tác “{action_name}” / Unknown action", "unknown_action")
    async with runtime.session() as session:
        report = await citizen_report(session, citizen, report_id)
        check = await _check_of(session, report)
        if report.status not in action.sources:
            raise _refuse_transition(report, action)
        text = _note(action, note)
        if action.name == "reopen":
            if report.resolved_at is None or now - report.resolved_at > REOPEN_WINDOW:
                raise Conflict("Đã quá thời hạn để phản hồi kết quả / The time to disagree with the answer is over",
                               code="reopen_window_over")
            report.reopen_count += 1
            await stats.count(session, report.account_id, now, reopened=1)
        previous = report.status
        if action.name == "supplement":
            _resume(await deadlines.calendar(session, now), report, check, now)
        report.status = action.target
        if action.name == "confirm":
            report.closed_at = now
        await _finish(session, report, check, action, previous, now)
        await _record(session, report, action.name, previous, report.status, actor="citizen", actor_id=citizen.id,
                      note=text, now=now)
        await commit(session)
        return report


async def rate(runtime: Runtime, *, citizen: User, report_id: int, rating: int, comment: str | None,
               now: datetime | None = None) -> Report:
    """1–5 once the report is resolved; once only."""
    now = now or utcnow()
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise invalid("rating", "Đánh giá từ 1 đến 5 / A rating is 1 to 5", "invalid_rating")
    async with runtime.session() as session:
        report = await citizen_report(session, citizen, report_id)
        if report.resolved_at is None or report.status not in ("resolved", "closed"):
            raise Conflict("Chỉ đánh giá được khi đã có kết quả xử lý / You can rate once the report is resolved",
                           code="not_resolved")
        if report.rating is not None:
            raise Conflict("Phản ánh này đã được đánh giá / This report was already rated", code="already_rated")
        report.rating = rating
        report.rating_comment = (comment or "").strip()[:1000] or None
        report.rated_at = now
        report.updated_at = now
        await stats.count(session, report.account_id, now, ratings=1, rating_total=rating)
        await _record(session, report, "rated", report.status, report.status, actor="citizen", actor_id=citizen.id,
                      note=report.rating_comment or "", now=now, data={"rating": rating})
        await commit(session)
        return report


async def set_hidden(runtime: Runtime, *, actor: User, report_id: int, hidden: bool, reason: str | None) -> Report:
    """Staff take a report off (or back onto) the public page; the citizen keeps seeing it."""
    async with runtime.session() as session:
        report, _ = await staff_report(session, actor, report_id, MANAGERS)
        if report.hidden == hidden:
            return report
        now = utcnow()
        report.hidden = hidden
        report.public_visible = report.public and not hidden and report.status not in ("rejected", "merged")
        report.updated_at = now
        await _record(session, report, "hidden" if hidden else "shown", report.status, report.status, actor="staff",
                      actor_id=actor.id, note=(reason or "").strip()[:500], now=now, public=False)
        await commit(session)
        return report


async def nearby_open(session: AsyncSession, category: ReportCategory, latitude: float, longitude: float, *,
                      metres: float = NEARBY_METRES, limit: int = NEARBY_LIMIT) -> list[tuple[Any, float]]:
    """Open reports of the category within `metres`, nearest first: the duplicates to suggest. Each is a
    row with id, code, title, status, received_at, public_visible, latitude, longitude."""
    geo.check_point(latitude, longitude)
    # `WHERE open` as the partial index says it, so both databases use the index.
    rows = (await session.execute(select(
        Report.id, Report.code, Report.title, Report.status, Report.received_at, Report.public_visible,
        Report.latitude, Report.longitude).where(
        Report.category_id == category.id, Report.open, Report.cell.in_(neighbour_cells(latitude, longitude))))).all()
    found = [(row, distance_m(latitude, longitude, row.latitude, row.longitude)) for row in rows
             if row.latitude is not None and row.longitude is not None]
    return sorted((item for item in found if item[1] <= metres), key=lambda item: item[1])[:limit]


# --- personal data ---------------------------------------------------------------------------------------


async def export_reports(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """A citizen's reports as they see them: what they sent, where, the steps and the answer (no staff names).
    Erasure needs no hook: a deleted reporter's reports stay with the agencies, their reporter gone."""
    reports = (await session.scalars(select(Report).where(Report.reporter_id == user_id).order_by(Report.id))).all()
    categories = {row.id: row.code for row in (await session.execute(
        select(ReportCategory.id, ReportCategory.code))).all()}
    exported = []
    for report in reports:
        exported.append({
            "code": report.code, "category": categories.get(report.category_id), "status": report.status,
            "title": report.title, "description": report.description, "fields": report.fields,
            "latitude": report.latitude, "longitude": report.longitude, "address": report.address,
            "commune_code": report.commune_code, "public": report.public,
            "received_at": report.received_at.isoformat(), "answer": report.answer, "rating": report.rating,
            "rating_comment": report.rating_comment,
            "photos": len(await photos_of(session, report.id)),
            "timeline": await timeline(session, report, staff=False),
        })
    return exported


people.register_exporter("reports", export_reports)
