"""The agency console's inbox and automatic answers: conversations by state (unread first), one conversation with
its messages live, replies (text, photo, file), assignment, internal notes, labels, canned replies, search; the
welcome message, keyword answers and office hours.

Live: the pages listen to `/console/{id}/live` (htmx SSE extension); an inbox event makes the list, or the open
conversation's messages, load again from the server (rendered here, as the page itself was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.conversations import automation, service
from loa.domains.conversations.content import text_content, upload_content
from loa.domains.conversations.models import CannedReply, Conversation, KeywordRuleRow
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError, NotFound
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.i18n import N_
from loa.kit.storage import media_storage
from loa.web.console import (
    INBOX_ROLES,
    MANAGERS,
    AccountId,
    Desk,
    back_to,
    console_page,
    open_desk,
    rolled_back,
)
from loa.web.deps import Read, Staff, Write, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate

router = page_router()

Text = Annotated[str, Form()]
STATES = {"open": N_("Open"), "waiting": N_("Waiting for the citizen"), "closed": N_("Closed")}
VIEWS = {"all": N_("All"), "mine": N_("Assigned to me"), "unassigned": N_("Unassigned")}
PAGE = 30
MESSAGES_SHOWN = 50
# Inbox events that change what a list row shows.
LIST_EVENTS = ("message", "assigned", "state", "seen", "labels")


@dataclass
class InboxFilter:
    state: str = "open"
    view: str = "all"
    label: str = ""

    def query(self, **changes: str) -> str:
        values = {"state": self.state, "view": self.view, "label": self.label, **changes}
        return "&".join(f"{key}={value}" for key, value in values.items() if value and value != "all")


def _filter(state: str, view: str, label: str) -> InboxFilter:
    return InboxFilter(state if state in STATES else "open", view if view in VIEWS else "all", label.strip()[:40])


async def _list(session: AsyncSession, user: User, desk: Desk, chosen: InboxFilter,
                cursor: str | None = None) -> tuple[list[service.InboxRow], str | None]:
    return await service.inbox(session, actor=user, account_id=desk.account.id, state=chosen.state,
                               view=chosen.view, label=chosen.label or None, cursor=cursor, limit=PAGE)


def _labels(request: Request) -> dict[str, dict[str, str]]:
    return {"states": {key: translate(request, label) for key, label in STATES.items()},
            "views": {key: translate(request, label) for key, label in VIEWS.items()}}


@router.get("/console/{account_id}/inbox", response_class=HTMLResponse)
async def inbox(request: Request, account_id: AccountId, user: Staff, session: Read,
                state: str = "open", view: str = "all", label: Annotated[str, Query(max_length=200)] = "",
                q: Annotated[str, Query(max_length=2000)] = "",
                cursor: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    chosen = _filter(state, view, label)
    hits: list[tuple[dict[str, Any], str]] | None = None
    search_error = None
    rows: list[service.InboxRow] = []
    next_cursor = None
    if q.strip():
        try:
            hits, next_cursor = await service.search(session, actor=user, account_id=account_id, q=q, cursor=cursor,
                                                     limit=PAGE)
        except AppError as exc:
            search_error = pick(request, exc.message)
    else:
        rows, next_cursor = await _list(session, user, desk, chosen, cursor)
    return console_page(request, "console/inbox.html", desk, {
        "filter": chosen, "rows": rows, "next_cursor": next_cursor, "q": q[:200], "hits": hits,
        "search_error": search_error, "current": None, "list_events": LIST_EVENTS, **_labels(request),
    }, status_code=422 if search_error else 200)


@router.get("/console/{account_id}/inbox/list", response_class=HTMLResponse)
async def inbox_list(request: Request, account_id: AccountId, user: Staff, session: Read, state: str = "open",
                     view: str = "all", label: Annotated[str, Query(max_length=200)] = "",
                     current: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> HTMLResponse:
    """The list alone, for the live refresh of an open inbox."""
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    chosen = _filter(state, view, label)
    rows, next_cursor = await _list(session, user, desk, chosen)
    return render(request, "console/_conversation_list.html", {
        "desk": desk, "filter": chosen, "rows": rows, "next_cursor": next_cursor, "current": current,
        **_labels(request)})


async def _conversation(session: AsyncSession, user: User, desk: Desk, conversation_id: int) -> Conversation:
    conversation = await service.staff_conversation(session, user, conversation_id)
    if conversation.account_id != desk.account.id:  # the address names another account: as if it did not exist
        raise NotFound(service.CONVERSATION_NOT_FOUND, code="conversation_not_found")
    return conversation


async def _messages(session: AsyncSession, user: User, conversation: Conversation) -> list[dict[str, Any]]:
    views, _ = await service.staff_messages(session, actor=user, conversation_id=conversation.id, cursor=None,
                                            limit=MESSAGES_SHOWN)
    return [view | {"at": datetime.fromisoformat(view["created_at"])} for view in reversed(views)]


async def _seen(session: AsyncSession, user: User, conversation: Conversation) -> None:
    """Staff have the conversation open: the citizen's messages are read (the citizen sees "seen")."""
    if conversation.staff_seen_message_id < conversation.last_message_id:
        await service.staff_mark_seen(session, actor=user, conversation_id=conversation.id)
        await commit(session)


async def _conversation_page(request: Request, session: AsyncSession, user: User, desk: Desk,
                             conversation: Conversation, *, form: FormState | None = None,
                             status_code: int = 200) -> HTMLResponse:
    chosen = _filter(conversation.state, "all", "")
    rows, next_cursor = await _list(session, user, desk, chosen)
    members = await accounts.list_members(session, account_id=desk.account.id, actor=user)
    row = await service.inbox_row(session, conversation)
    form = form or FormState()
    form.values.setdefault("labels", ", ".join(row.labels))
    return console_page(request, "console/conversation.html", desk, {
        "filter": chosen, "rows": rows, "next_cursor": next_cursor, "current": conversation.id,
        "conversation": conversation, "row": row, "messages": await _messages(session, user, conversation),
        "notes": await service.list_notes(session, actor=user, conversation_id=conversation.id),
        "canned": await service.list_canned(session, actor=user, account_id=desk.account.id),
        "assignees": [person for member, person in members if member.role in INBOX_ROLES],
        "citizen_name": row.citizen_name, "form": form, "list_events": LIST_EVENTS, **_labels(request),
    }, status_code=status_code)


@router.get("/console/{account_id}/inbox/{conversation_id}", response_class=HTMLResponse)
async def conversation_page(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff,
                            session: Write) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    await _seen(session, user, conversation)
    return await _conversation_page(request, session, user, desk, conversation)


@router.get("/console/{account_id}/inbox/{conversation_id}/messages", response_class=HTMLResponse)
async def messages_fragment(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff,
                            session: Write) -> HTMLResponse:
    """The conversation's latest messages, for the live refresh of an open conversation."""
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    await _seen(session, user, conversation)
    row = await service.inbox_row(session, conversation)
    return render(request, "console/_messages.html", {"messages": await _messages(session, user, conversation),
                                                      "conversation": conversation, "citizen_name": row.citizen_name})


@router.post("/console/{account_id}/inbox/{conversation_id}/reply", response_class=HTMLResponse)
async def reply(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff, session: Read,
                text: Text = "", file: Annotated[UploadFile | None, File()] = None) -> Response:
    """A reply in the account's name: text, or a photo or file with the text as its caption (the message goes
    through the writer's own transaction)."""
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    runtime = request.app.state.runtime
    storage = media_storage(runtime.settings)
    form = FormState.of(text=text)
    has_file = file is not None and bool(file.filename)
    try:
        if has_file and file is not None:
            data = await file.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                form.fail("file", translate(request, "The file is too large: 20 MB at most."))
                return await _conversation_page(request, session, user, desk, conversation, form=form,
                                                status_code=413)
            content = await upload_content(storage, account_id=account_id, data=data, filename=file.filename or "",
                                           caption=text)
        else:
            content = text_content(text)
        await service.send_as_staff(runtime, actor=user, conversation=conversation, content=content,
                                    storage=storage if has_file else None)
    except AppError as exc:
        form.fail("file" if has_file and exc.code != "message_too_long" else "text", pick(request, exc.message))
        return await _conversation_page(request, session, user, desk, conversation, form=form,
                                        status_code=exc.status_code)
    return back_to(f"/console/{account_id}/inbox/{conversation_id}")


async def _inbox_action(request: Request, session: AsyncSession, user: User, desk: Desk, conversation: Conversation,
                        action: Any, field: str, value: str) -> Response:
    conversation_id = conversation.id
    try:
        await action
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        conversation = await _conversation(session, user, desk, conversation_id)
        form = FormState.of(**{field: value})
        form.fail(field, pick(request, exc.message))
        return await _conversation_page(request, session, user, desk, conversation, form=form,
                                        status_code=exc.status_code)
    await commit(session)
    return back_to(f"{desk.base}/inbox/{conversation_id}", "saved")


@router.post("/console/{account_id}/inbox/{conversation_id}/assign", response_class=HTMLResponse)
async def assign(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff, session: Write,
                 assignee: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    assignee_id = user.id if assignee == "me" else int(assignee) if assignee.isdigit() else None
    return await _inbox_action(request, session, user, desk, conversation, service.assign(
        session, actor=user, conversation_id=conversation.id, assignee_id=assignee_id), "assignee", assignee)


@router.post("/console/{account_id}/inbox/{conversation_id}/state", response_class=HTMLResponse)
async def set_state(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff,
                    session: Write, state: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    if state not in STATES:
        form = FormState()
        form.fail("state", translate(request, "Choose open, waiting or closed."))
        return await _conversation_page(request, session, user, desk, conversation, form=form, status_code=422)
    return await _inbox_action(request, session, user, desk, conversation, service.set_state(
        session, actor=user, conversation_id=conversation.id, state=state), "state", state)


@router.post("/console/{account_id}/inbox/{conversation_id}/labels", response_class=HTMLResponse)
async def set_labels(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff,
                     session: Write, labels: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    wanted = [label for label in (part.strip() for part in labels.split(",")) if label]
    return await _inbox_action(request, session, user, desk, conversation, service.set_labels(
        session, actor=user, conversation_id=conversation.id, labels=wanted), "labels", labels)


@router.post("/console/{account_id}/inbox/{conversation_id}/notes", response_class=HTMLResponse)
async def add_note(request: Request, account_id: AccountId, conversation_id: AccountId, user: Staff,
                   session: Write, note: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    conversation = await _conversation(session, user, desk, conversation_id)
    if not note.strip():
        form = FormState.of(note=note)
        form.fail("note", translate(request, "Write the note first."))
        return await _conversation_page(request, session, user, desk, conversation, form=form, status_code=422)
    return await _inbox_action(request, session, user, desk, conversation, service.add_note(
        session, actor=user, conversation_id=conversation.id, text=note), "note", note)


# --- canned replies ----------------------------------------------------------------------------------------


async def _canned_page(request: Request, session: AsyncSession, user: User, desk: Desk,
                       form: FormState | None = None, status_code: int = 200, *,
                       editing: CannedReply | None = None) -> HTMLResponse:
    """The list with the form to add one, or (`editing`) the form to change one."""
    return console_page(request, "console/canned.html", desk, {
        "replies": await service.list_canned(session, actor=user, account_id=desk.account.id),
        "form": form or FormState(), "editing": editing}, status_code=status_code)


async def _canned_of(session: AsyncSession, user: User, desk: Desk, reply_id: int) -> CannedReply:
    """One of this account's canned replies (another account's, under this address, is not found)."""
    for reply in await service.list_canned(session, actor=user, account_id=desk.account.id):
        if reply.id == reply_id:
            return reply
    raise NotFound("Không tìm thấy câu trả lời mẫu / Canned reply not found", code="canned_reply_not_found")


def _canned_field(exc: AppError) -> str:
    return "title" if exc.code in ("invalid_title", "too_many_canned_replies") else "text"


@router.get("/console/{account_id}/inbox-replies", response_class=HTMLResponse)
async def canned(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    return await _canned_page(request, session, user, desk)


@router.post("/console/{account_id}/inbox-replies", response_class=HTMLResponse)
async def add_canned(request: Request, account_id: AccountId, user: Staff, session: Write, title: Text = "",
                     text: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    form = FormState.of(title=title, text=text)
    try:
        await service.create_canned(session, actor=user, account_id=account_id, title=title, text=text)
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form.fail(_canned_field(exc), pick(request, exc.message))
        return await _canned_page(request, session, user, desk, form, exc.status_code)
    await commit(session)
    return back_to(f"/console/{account_id}/inbox-replies", "added")


@router.get("/console/{account_id}/inbox-replies/{reply_id}/edit", response_class=HTMLResponse)
async def edit_canned_page(request: Request, account_id: AccountId, reply_id: AccountId, user: Staff,
                           session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    reply = await _canned_of(session, user, desk, reply_id)
    return await _canned_page(request, session, user, desk, FormState.of(title=reply.title, text=reply.text),
                              editing=reply)


@router.post("/console/{account_id}/inbox-replies/{reply_id}/edit", response_class=HTMLResponse)
async def edit_canned(request: Request, account_id: AccountId, reply_id: AccountId, user: Staff, session: Write,
                      title: Text = "", text: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    await _canned_of(session, user, desk, reply_id)
    form = FormState.of(title=title, text=text)
    if not title.strip():
        form.fail("title", translate(request, "Give the reply a short title."))
    if not text.strip():
        form.fail("text", translate(request, "Write the text of the reply."))
    if form.ok:
        try:
            await service.update_canned(session, actor=user, reply_id=reply_id, title=title, text=text)
        except AppError as exc:
            form.fail(_canned_field(exc), pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        reply = await _canned_of(session, user, desk, reply_id)
        return await _canned_page(request, session, user, desk, form, 422, editing=reply)
    await commit(session)
    return back_to(f"/console/{account_id}/inbox-replies", "saved")


@router.post("/console/{account_id}/inbox-replies/{reply_id}/delete")
async def delete_canned(account_id: AccountId, reply_id: AccountId, user: Staff, session: Write) -> Response:
    await open_desk(session, user, account_id, INBOX_ROLES)
    await service.delete_canned(session, actor=user, reply_id=reply_id)
    await commit(session)
    return back_to(f"/console/{account_id}/inbox-replies", "deleted")


# --- automatic answers ---------------------------------------------------------------------------------------

WEEKDAY_LABELS = {"mon": N_("Monday"), "tue": N_("Tuesday"), "wed": N_("Wednesday"), "thu": N_("Thursday"),
                  "fri": N_("Friday"), "sat": N_("Saturday"), "sun": N_("Sunday")}
RANGES_SHOWN = 2  # a morning and an afternoon, as offices work
MATCHES = {"contains": N_("the message contains a keyword"), "exact": N_("the message is exactly a keyword")}


def _settings_form(settings: automation.AutomationSettings) -> FormState:
    values: dict[str, str] = {
        "welcome_enabled": "1" if settings.welcome_enabled else "", "welcome_text": settings.welcome_text,
        "out_of_hours_enabled": "1" if settings.out_of_hours_enabled else "",
        "out_of_hours_text": settings.out_of_hours_text,
        "closed_on_holidays": "1" if settings.office_hours.closed_on_holidays else ""}
    for day in automation.WEEKDAYS:
        for index, (start, end) in enumerate(settings.office_hours.days.get(day, [])[:RANGES_SHOWN]):
            values[f"{day}_{index}_start"] = automation.format_hhmm(start)
            values[f"{day}_{index}_end"] = automation.format_hhmm(end)
    return FormState(values=values)


async def _automation_page(request: Request, session: AsyncSession, user: User, desk: Desk, *,
                           form: FormState | None = None, rule_form: FormState | None = None,
                           editing: KeywordRuleRow | None = None, status_code: int = 200) -> HTMLResponse:
    settings = await service.get_automation(session, actor=user, account_id=desk.account.id)
    return console_page(request, "console/automation.html", desk, {
        "form": form or _settings_form(settings),
        "rule_form": rule_form or FormState.of(priority="100", match="contains"),
        "rules": await service.list_rules(session, actor=user, account_id=desk.account.id),
        "weekdays": [(day, translate(request, WEEKDAY_LABELS[day])) for day in automation.WEEKDAYS],
        "ranges": range(RANGES_SHOWN), "matches": {key: translate(request, label) for key, label in MATCHES.items()},
        "editable": desk.manager, "editing": editing,
    }, status_code=status_code)


@router.get("/console/{account_id}/automation", response_class=HTMLResponse)
async def automation_page(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, INBOX_ROLES)
    return await _automation_page(request, session, user, desk)


def _validation_message(request: Request, exc: ValidationError) -> str:
    """The first problem pydantic found, in the viewer's language (our validators speak both)."""
    message = str(exc.errors()[0].get("msg", ""))
    return pick(request, message.removeprefix("Value error, "))


@router.post("/console/{account_id}/automation", response_class=HTMLResponse)
async def save_automation(request: Request, account_id: AccountId, user: Staff, session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    raw = await request.form()
    values = {key: str(value)[:5000] for key, value in raw.items() if isinstance(value, str) and key != "csrf_token"}
    form = FormState(values=values)
    welcome, out_of_hours = bool(values.get("welcome_enabled")), bool(values.get("out_of_hours_enabled"))
    if welcome and not values.get("welcome_text", "").strip():
        form.fail("welcome_text", translate(request, "Write the welcome message, or turn it off."))
    if out_of_hours and not values.get("out_of_hours_text", "").strip():
        form.fail("out_of_hours_text", translate(request, "Write the out-of-hours answer, or turn it off."))
    for name in ("welcome_text", "out_of_hours_text"):
        if len(values.get(name, "")) > automation.MAX_TEXT:
            form.fail(name, translate(request, "This is too long: at most %(limit)s characters.")
                      % {"limit": automation.MAX_TEXT})
    days: dict[str, list[dict[str, str]]] = {}
    for day in automation.WEEKDAYS:
        for index in range(RANGES_SHOWN):
            start, end = values.get(f"{day}_{index}_start", ""), values.get(f"{day}_{index}_end", "")
            if not start and not end:
                continue
            if not (start and end) or start >= end:
                form.fail(f"{day}_{index}_start", translate(request, "Give a start and a later end time."))
                continue
            days.setdefault(day, []).append({"start": start, "end": end})
    if form.ok:
        try:
            settings = automation.AutomationSettingsIn(
                welcome_enabled=welcome, welcome_text=values.get("welcome_text", ""),
                out_of_hours_enabled=out_of_hours, out_of_hours_text=values.get("out_of_hours_text", ""),
                office_hours=automation.OfficeHoursIn(days=days,
                                                      closed_on_holidays=bool(values.get("closed_on_holidays"))))
            await service.set_automation(session, actor=user, account_id=account_id, settings=settings)
        except ValidationError as exc:
            form.fail("__all__", _validation_message(request, exc))
        except AppError as exc:
            form.fail("__all__", pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        return await _automation_page(request, session, user, desk, form=form, status_code=422)
    await commit(session)
    return back_to(f"/console/{account_id}/automation", "saved")


def _rule_in(request: Request, form: FormState) -> automation.KeywordRuleIn | None:
    """The keyword answer the form describes, or None with the problems recorded next to their fields."""
    words = [word.strip() for word in form.value("keywords").split(",") if word.strip()]
    if not words:
        form.fail("keywords", translate(request, "Give at least one keyword; separate several with commas."))
    if not form.value("reply").strip():
        form.fail("reply", translate(request, "Write the answer to send."))
    if not form.value("priority").strip().isdigit():
        form.fail("priority", translate(request, "Give a number from 1 to 1000."))
    if not form.ok:
        return None
    try:
        return automation.KeywordRuleIn(keywords=words, reply=form.value("reply"),
                                        match="exact" if form.value("match") == "exact" else "contains",
                                        priority=int(form.value("priority")), enabled=form.value("enabled") != "")
    except ValidationError as exc:
        field = str(exc.errors()[0].get("loc", ("keywords",))[0])
        form.fail(field if field in ("keywords", "reply", "priority") else "keywords",
                  _validation_message(request, exc))
        return None


@router.post("/console/{account_id}/automation/rules", response_class=HTMLResponse)
async def add_rule(request: Request, account_id: AccountId, user: Staff, session: Write, keywords: Text = "",
                   reply: Text = "", match: Text = "contains", priority: Text = "100") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    form = FormState.of(keywords=keywords, reply=reply, match=match, priority=priority, enabled="1")
    rule = _rule_in(request, form)
    if rule is not None:
        try:
            await service.create_rule(session, actor=user, account_id=account_id, rule=rule)
        except AppError as exc:
            form.fail("keywords", pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        return await _automation_page(request, session, user, desk, rule_form=form, status_code=422)
    await commit(session)
    return back_to(f"/console/{account_id}/automation", "added")


async def _rule_of(session: AsyncSession, user: User, desk: Desk, rule_id: int) -> KeywordRuleRow:
    """One of this account's keyword answers (another account's, under this address, is not found)."""
    for rule in await service.list_rules(session, actor=user, account_id=desk.account.id):
        if rule.id == rule_id:
            return rule
    raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")


@router.get("/console/{account_id}/automation/rules/{rule_id}/edit", response_class=HTMLResponse)
async def edit_rule_page(request: Request, account_id: AccountId, rule_id: AccountId, user: Staff,
                         session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, MANAGERS)
    rule = await _rule_of(session, user, desk, rule_id)
    form = FormState.of(keywords=", ".join(rule.keywords), reply=rule.reply, match=rule.match,
                        priority=str(rule.priority), enabled="1" if rule.enabled else "")
    return await _automation_page(request, session, user, desk, rule_form=form, editing=rule)


@router.post("/console/{account_id}/automation/rules/{rule_id}/edit", response_class=HTMLResponse)
async def edit_rule(request: Request, account_id: AccountId, rule_id: AccountId, user: Staff, session: Write,
                    keywords: Text = "", reply: Text = "", match: Text = "contains", priority: Text = "",
                    enabled: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    await _rule_of(session, user, desk, rule_id)
    form = FormState.of(keywords=keywords, reply=reply, match=match, priority=priority, enabled=enabled)
    rule = _rule_in(request, form)
    if rule is not None:
        try:
            await service.replace_rule(session, actor=user, rule_id=rule_id, rule=rule)
        except AppError as exc:
            form.fail("keywords", pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        editing = await _rule_of(session, user, desk, rule_id)
        return await _automation_page(request, session, user, desk, rule_form=form, editing=editing,
                                      status_code=422)
    await commit(session)
    return back_to(f"/console/{account_id}/automation", "saved")


@router.post("/console/{account_id}/automation/rules/{rule_id}/delete")
async def delete_rule(account_id: AccountId, rule_id: AccountId, user: Staff, session: Write) -> Response:
    await open_desk(session, user, account_id, MANAGERS)
    await service.delete_rule(session, actor=user, rule_id=rule_id)
    await commit(session)
    return back_to(f"/console/{account_id}/automation", "deleted")
