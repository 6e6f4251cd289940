"""The agency console's reports: the queue (nearest deadline first, overdue in red and near in amber, filters by
status, overdue, mine and words), and one report with its photos, timeline and the steps the workflow allows the
staff member's role (accept, reject, merge, assign, start, ask, resume, resolve, close, transfer), hide and show.

The pages offer only what `workflow.allowed_actions` gives the role; the service decides again, so a step another
person took meanwhile is refused with a readable message and the report as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.domains.reports import deadlines, service
from loa.domains.reports.models import REPORT_STATUSES, RUNNING_STATUSES, Report, ReportCategory
from loa.domains.reports.public import STATUS_LABELS
from loa.domains.reports.workflow import ACTIONS, HANDLERS, MANAGERS, allowed_actions
from loa.kit.errors import AppError, NotFound
from loa.kit.i18n import N_
from loa.web.console import AccountId, Desk, back_to, console_page, open_desk
from loa.web.deps import Read, Staff, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, translate

router = page_router()

PAGE = 30
# What each step's button says (the timeline keeps the workflow's own words for what happened).
STEP_BUTTONS = {"accept": N_("Accept"), "reject": N_("Reject"), "merge": N_("Merge as a duplicate"),
                "assign": N_("Assign"), "start": N_("Start handling"), "ask": N_("Ask the citizen"),
                "resume": N_("Resume handling"), "resolve": N_("Send the answer"), "close": N_("Close"),
                "transfer": N_("Transfer")}


def deadline_state(report: Report, now: datetime) -> str | None:
    """"late" past the deadline, "near" once the reminder's moment (a fifth of the working time left) has come,
    while the report is being handled; None otherwise (finished, or paused for the citizen)."""
    if report.status not in RUNNING_STATUSES:
        return None
    if report.due_at < now:
        return "late"
    if report.remind_at is not None and report.remind_at <= now:
        return "near"
    return None


def status_label(request: Request, status: str) -> str:
    return pick(request, STATUS_LABELS.get(status, status))


async def _names(session: AsyncSession, user: User, desk: Desk) -> dict[int, str]:
    members = await accounts.list_members(session, account_id=desk.account.id, actor=user)
    return {person.id: person.display_name or person.email or "" for _, person in members}


@dataclass
class QueueFilter:
    status: str = "open"
    overdue: bool = False
    mine: bool = False
    q: str = ""

    def query(self) -> str:
        parts = [f"status={self.status}"]
        if self.overdue:
            parts.append("overdue=1")
        if self.mine:
            parts.append("mine=1")
        return "&".join(parts)


@router.get("/console/{account_id}/reports", response_class=HTMLResponse)
async def queue(request: Request, account_id: AccountId, user: Staff, session: Read,
                status: Annotated[str, Query(max_length=20)] = "open", overdue: str = "", mine: str = "",
                q: Annotated[str, Query(max_length=2000)] = "",
                cursor: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    chosen = QueueFilter(status if status in ("open", "all", *REPORT_STATUSES) else "open", bool(overdue),
                         bool(mine), q.strip()[:100])
    error = translate(request, "Please shorten your search to at most 100 characters.") if len(q) > 100 else None
    now = utcnow()
    rows, next_cursor = await service.queue(
        session, user, account_id, status=None if chosen.status == "all" else chosen.status,
        overdue_only=chosen.overdue, assigned_to_me=chosen.mine, q=chosen.q or None, cursor=cursor, limit=PAGE,
        now=now)
    categories = {category.id: pick(request, f"{category.name} / {category.name_en}")
                  for category in await service.list_categories(session)}
    statuses = [("open", translate(request, "Being handled")), ("all", translate(request, "All"))] + [
        (key, status_label(request, key)) for key in REPORT_STATUSES]
    return console_page(request, "console/reports.html", desk, {
        "rows": [(report, deadline_state(report, now), status_label(request, report.status)) for report in rows],
        "filter": chosen, "next_cursor": next_cursor, "statuses": statuses, "categories": categories,
        "names": await _names(session, user, desk), "error": error,
    }, status_code=422 if error else 200)


async def _report(session: AsyncSession, user: User, desk: Desk, report_id: int) -> tuple[Report, str]:
    report, role = await service.staff_report(session, user, report_id)
    if report.account_id != desk.account.id:  # another account's (or transferred away): not here
        raise NotFound(service.NOT_FOUND, code="report_not_found")
    return report, role


async def _report_page(request: Request, session: AsyncSession, user: User, desk: Desk, report: Report, role: str,
                       *, form: FormState | None = None, refused: str | None = None,
                       status_code: int = 200) -> HTMLResponse:
    now = utcnow()
    category = await session.get(ReportCategory, report.category_id)
    reporter = await session.get(User, report.reporter_id) if report.reporter_id else None
    original = await session.get(Report, report.duplicate_of) if report.duplicate_of else None
    members = await accounts.list_members(session, account_id=desk.account.id, actor=user)
    targets = [account for account in (await accounts.local_accounts(session, commune_code=report.commune_code)
                                       if report.commune_code else []) if account.id != report.account_id]
    actions = allowed_actions(report.status, role=role)
    timeline = await service.timeline(session, report, staff=True)
    for step in timeline:
        step["at"] = datetime.fromisoformat(step["created_at"])
        step["what"] = pick(request, step["label"])
    fields = {field["code"]: pick(request, f"{field['label']} / {field['label_en']}")
              for field in (category.fields if category else [])}
    return console_page(request, "console/report.html", desk, {
        "report": report, "category": pick(request, f"{category.name} / {category.name_en}") if category else "",
        "fields": [(fields.get(code, code), value) for code, value in (report.fields or {}).items()],
        "reporter": reporter, "original": original, "status_name": status_label(request, report.status),
        "deadline": deadline_state(report, now), "forward_by": await deadlines.forward_by(session, report.received_at),
        "photos": await service.photos_of(session, report.id), "documents": await service.documents_of(session,
                                                                                                       report.id),
        "timeline": timeline, "actions": actions,
        "action_labels": {name: translate(request, STEP_BUTTONS[name]) for name in actions},
        "assignees": [person for member, person in members if member.role in HANDLERS],
        "assignee": next((person for _, person in members if person.id == report.assigned_to), None),
        "targets": targets, "can_hide": role in MANAGERS, "form": form or FormState(), "refused": refused,
    }, status_code=status_code)


@router.get("/console/{account_id}/reports/{report_id}", response_class=HTMLResponse)
async def report_page(request: Request, account_id: AccountId, report_id: AccountId, user: Staff,
                      session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id)
    report, role = await _report(session, user, desk, report_id)
    return await _report_page(request, session, user, desk, report, role)


def _error_field(action: str, exc: AppError) -> str:
    """Where a refusal goes: next to the field the service named, in the form of that step."""
    field = exc.details[0].get("field") if isinstance(exc.details, list) and exc.details else None
    known = {"note": "note", "assignee_id": "assignee", "duplicate_of": "duplicate_of",
             "to_account_id": "to_account"}
    return f"{action}_{known[field]}" if field in known else "__all__"


async def _target(session: AsyncSession, request: Request, form: FormState, values: dict[str, str]) -> int | None:
    """The account to transfer to: chosen in the list, or given by its handle (e.g. "csgt-hanoi")."""
    chosen, handle = values.get("transfer_to_account", ""), values.get("transfer_handle", "").strip().lower()
    if handle:
        try:
            return (await accounts.get_account_by_handle(session, handle)).id
        except NotFound:
            form.fail("transfer_handle", translate(request, "No account has this short name."))
            return None
    return int(chosen) if chosen.isdigit() else None


@router.post("/console/{account_id}/reports/{report_id}/act", response_class=HTMLResponse)
async def act(request: Request, account_id: AccountId, report_id: AccountId, user: Staff,
              session: Read) -> Response:
    desk = await open_desk(session, user, account_id)
    report, role = await _report(session, user, desk, report_id)
    raw = await request.form()
    values = {key: str(value)[:10_000] for key, value in raw.items() if isinstance(value, str)}
    action = values.get("action", "")
    form = FormState(values={key: value for key, value in values.items() if key != "csrf_token"})
    if action not in ACTIONS or ACTIONS[action].by != "staff":
        form.fail("__all__", translate(request, "This step does not exist."))
        return await _report_page(request, session, user, desk, report, role, form=form, status_code=422)
    extra: dict[str, Any] = {}
    if action == "assign":
        assignee = values.get("assign_assignee", "")
        extra["assignee_id"] = user.id if assignee == "me" else int(assignee) if assignee.isdigit() else None
    elif action == "merge":
        extra["duplicate_of"] = values.get("merge_duplicate_of", "").strip() or None
    elif action == "transfer":
        extra["to_account_id"] = await _target(session, request, form, values)
    note = values.get(f"{action}_note") or None
    if not form.ok:
        return await _report_page(request, session, user, desk, report, role, form=form, status_code=422)
    await session.close()  # the service acts in its own transaction
    try:
        await service.act(request.app.state.runtime, actor=user, report_id=report.id, action_name=action,
                          note=note, **extra)
    except AppError as exc:
        report, role = await _report(session, user, desk, report_id)
        if exc.code == "transition_not_allowed":
            refused = translate(request, "This step is not possible any more: the report is now “%(status)s”. "
                                         "The page shows what can be done now.") % {
                "status": status_label(request, report.status)}
            return await _report_page(request, session, user, desk, report, role, refused=refused,
                                      status_code=exc.status_code)
        form.fail(_error_field(action, exc), pick(request, exc.message))
        return await _report_page(request, session, user, desk, report, role, form=form, status_code=exc.status_code)
    if action == "transfer":  # the report is another agency's now
        return back_to(f"/console/{account_id}/reports", "sent")
    return back_to(f"/console/{account_id}/reports/{report.id}", "saved")


@router.post("/console/{account_id}/reports/{report_id}/hidden", response_class=HTMLResponse)
async def hide(request: Request, account_id: AccountId, report_id: AccountId, user: Staff,
               session: Read) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    report, _ = await _report(session, user, desk, report_id)
    raw = await request.form()
    hidden = raw.get("hidden") == "1"
    reason = str(raw.get("reason", ""))[:500]
    await session.close()
    await service.set_hidden(request.app.state.runtime, actor=user, report_id=report.id, hidden=hidden,
                             reason=reason)
    return back_to(f"/console/{account_id}/reports/{report.id}", "saved")
