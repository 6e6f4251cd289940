"""`/api/v1`: the citizen's conversations with accounts, and the account staff's inbox."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.conversations import service
from loa.domains.conversations.automation import AutomationSettingsIn, KeywordRuleIn
from loa.domains.conversations.content import (
    Content,
    link_content,
    location_content,
    text_content,
    upload_content,
)
from loa.domains.conversations.models import (
    CannedReply,
    Conversation,
    ConversationNote,
    KeywordRuleRow,
    MessageReport,
)
from loa.domains.conversations.schemas import (
    CLIENT_REF_HELP,
    CLIENT_REF_PATTERN,
    AccountBrief,
    AccountReportIn,
    AssignIn,
    AutomationOut,
    CannedEdit,
    CannedIn,
    CannedOut,
    ConversationOut,
    LabelsIn,
    LabelsOut,
    LinkMessageIn,
    LocationMessageIn,
    MessageIn,
    MessageOut,
    MyConversationOut,
    NoteIn,
    NoteOut,
    ReportOut,
    RuleOut,
    SearchHit,
    SeenIn,
    SentBy,
    SpamIn,
    StaffMessageOut,
    StartConversationIn,
    StateIn,
)
from loa.domains.conversations.writer import Stored
from loa.domains.people.models import User
from loa.kit.auth import require_operator, require_user
from loa.kit.effects import commit
from loa.kit.errors import NotFound
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.images import TooLarge
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session
from loa.kit.storage import MediaStorage, media_storage
from loa.runtime import Runtime

router = APIRouter(tags=["conversations"])

Id = Annotated[int, Path(ge=1, le=2**62)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]
Operator = Annotated[User, Depends(require_operator)]
UploadFileParam = Annotated[UploadFile, File(description="A photo (JPEG, PNG, WebP, GIF; 10 MB) or a document "
                                                         "(PDF, Word, Excel, PowerPoint, OpenDocument; 20 MB)")]
Caption = Annotated[str, Form(max_length=1000)]
ClientRefForm = Annotated[str | None, Form(min_length=1, max_length=64, pattern=CLIENT_REF_PATTERN,
                                           description=CLIENT_REF_HELP)]


class SeenOut(BaseModel):
    seen_up_to: int
    unread: int


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def storage(request: Request) -> MediaStorage:
    return media_storage(_runtime(request).settings)


async def _content(runtime: Runtime, body: MessageIn) -> Content:
    if isinstance(body, LinkMessageIn):
        return link_content(body.url, body.text)
    if isinstance(body, LocationMessageIn):
        async with runtime.read_session() as session:
            return await location_content(session, body.latitude, body.longitude, body.text)
    return text_content(body.text)


async def _upload(request: Request, account_id: int, file: UploadFile, caption: str) -> Content:
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge("Tệp quá lớn (tối đa 20 MB) / The file is too large (20 MB at most)")
    return await upload_content(storage(request), account_id=account_id, data=data, filename=file.filename or "",
                                caption=caption)


def _answer(response: Response, stored: Stored) -> None:
    if stored.duplicate:  # a retry: the message was stored the first time
        response.status_code = 200


# --- the citizen's side -------------------------------------------------------------------------------------


@router.get("/me/conversations", response_model=Page[MyConversationOut], summary="My conversations with accounts")
async def my_conversations(session: Read, user: CurrentUser, cursor: CursorParam = None,
                           limit: LimitParam = 30) -> Page[MyConversationOut]:
    rows, next_cursor = await service.citizen_conversations(session, citizen=user, cursor=cursor, limit=limit)
    return Page(items=[_mine(conversation, account) for conversation, account in rows], next_cursor=next_cursor)


def _mine(conversation: Conversation, account: Account) -> MyConversationOut:
    return MyConversationOut(
        id=conversation.id,
        account=AccountBrief(id=account.id, name=account.name, handle=account.handle,
                             verified=account.verification_status == "verified"),
        last_message_id=conversation.last_message_id, last_message_at=conversation.last_message_at,
        preview=conversation.last_message_preview, unread=conversation.citizen_unread,
        seen_by_account_up_to=conversation.staff_seen_message_id)


@router.post("/accounts/{account_id}/conversation/messages", response_model=MessageOut, status_code=201,
             summary="Write to an account (text, link or place)",
             responses={200: {"description": "Already sent with this client_ref: the stored message"}})
async def send_to_account(request: Request, response: Response, account_id: Id, body: MessageIn,
                          user: CurrentUser) -> MessageOut:
    runtime = _runtime(request)
    await service.check_citizen_rate(runtime, user)
    content = await _content(runtime, body)
    stored = await service.send_as_citizen(runtime, citizen=user, account_id=account_id, content=content,
                                           client_ref=body.client_ref)
    _answer(response, stored)
    return MessageOut.model_validate(stored.view(staff=False))


@router.post("/accounts/{account_id}/conversation/uploads", response_model=MessageOut, status_code=201,
             summary="Send a photo or a document to an account (photos lose their EXIF/GPS metadata)")
async def upload_to_account(request: Request, response: Response, account_id: Id, file: UploadFileParam,
                            user: CurrentUser, caption: Caption = "",
                            client_ref: ClientRefForm = None) -> MessageOut:
    runtime = _runtime(request)
    await service.check_citizen_rate(runtime, user)
    async with runtime.read_session() as session:
        await accounts.get_account(session, account_id)
    content = await _upload(request, account_id, file, caption)
    stored = await service.send_as_citizen(runtime, citizen=user, account_id=account_id, content=content,
                                           client_ref=client_ref, storage=storage(request))
    _answer(response, stored)
    return MessageOut.model_validate(stored.view(staff=False))


@router.get("/accounts/{account_id}/conversation/messages", response_model=Page[MessageOut],
            summary="My conversation with an account, newest first")
async def my_messages(account_id: Id, session: Read, user: CurrentUser, cursor: CursorParam = None,
                      limit: LimitParam = 50) -> Page[MessageOut]:
    views, next_cursor = await service.citizen_messages(session, citizen=user, account_id=account_id, cursor=cursor,
                                                        limit=limit)
    return Page(items=[MessageOut.model_validate(view) for view in views], next_cursor=next_cursor)


@router.post("/accounts/{account_id}/conversation/seen", response_model=SeenOut,
             summary="I have read the account's messages (up to one, or all)")
async def i_have_seen(account_id: Id, body: SeenIn, session: Write, user: CurrentUser) -> SeenOut:
    conversation = await service.citizen_mark_seen(session, citizen=user, account_id=account_id,
                                                   message_id=body.message_id)
    await commit(session)
    return SeenOut(seen_up_to=conversation.citizen_seen_message_id, unread=conversation.citizen_unread)


@router.post("/accounts/{account_id}/conversation/report", response_model=ReportOut, status_code=201,
             summary="Report an account's messages as spam or abuse (to the platform's operators)")
async def report_account(account_id: Id, body: AccountReportIn, session: Write, user: CurrentUser) -> ReportOut:
    report = await service.report_account(session, citizen=user, account_id=account_id, reason=body.reason)
    await commit(session)
    return _report(report)


# --- attachments ------------------------------------------------------------------------------------------------


async def _serve(request: Request, session: AsyncSession, user: User, message_id: int, key_name: str) -> FileResponse:
    message = await service.message_for(session, user, message_id)
    attachment = message.attachment or {}
    key = attachment.get(key_name) if message.kind in ("image", "file") else None
    path = storage(request).path_of(key) if key else None
    if path is None or not path.is_file():
        raise NotFound("Tin nhắn không có tệp đính kèm / The message has no attachment", code="attachment_not_found")
    inline = message.kind == "image"
    content_type = "image/jpeg" if key_name == "thumbnail_key" and str(key).endswith(".jpg") else \
        attachment.get("content_type") or "application/octet-stream"
    return FileResponse(path, media_type=content_type, filename=attachment.get("name") or path.name,
                        content_disposition_type="inline" if inline else "attachment",
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.get("/messages/{message_id}/attachment", response_class=FileResponse, response_model=None,
            summary="The photo or document of a message (its citizen and the account's inbox staff)")
async def attachment(request: Request, message_id: Id, session: Read, user: CurrentUser) -> FileResponse:
    return await _serve(request, session, user, message_id, "key")


@router.get("/messages/{message_id}/thumbnail", response_class=FileResponse, response_model=None,
            summary="The thumbnail of a message's photo")
async def thumbnail(request: Request, message_id: Id, session: Read, user: CurrentUser) -> FileResponse:
    return await _serve(request, session, user, message_id, "thumbnail_key")


# --- the staff's inbox ------------------------------------------------------------------------------------------


def _row(row: service.InboxRow) -> ConversationOut:
    conversation = row.conversation
    assignee = SentBy(id=conversation.assigned_to, name=row.assignee_name or "") if conversation.assigned_to else None
    return ConversationOut(
        id=conversation.id, account_id=conversation.account_id,
        citizen=SentBy(id=conversation.citizen_id, name=row.citizen_name), state=conversation.state,
        assigned_to=assignee, labels=row.labels, has_unread=conversation.has_unread,
        unread=conversation.staff_unread, last_message_id=conversation.last_message_id,
        last_message_at=conversation.last_message_at, last_direction=conversation.last_direction,
        preview=conversation.last_message_preview, seen_by_citizen_up_to=conversation.citizen_seen_message_id,
        first_response_seconds=conversation.first_response_seconds, created_at=conversation.created_at)


async def _conversation_out(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    return _row(await service.inbox_row(session, conversation))


@router.get("/accounts/{account_id}/inbox", response_model=Page[ConversationOut],
            summary="The account's conversations in one state, unread first (inbox staff)")
async def inbox(account_id: Id, session: Read, user: CurrentUser,
                state: Literal["open", "waiting", "closed"] = "open",
                view: Literal["all", "mine", "unassigned"] = "all",
                label: Annotated[str | None, Query(max_length=40)] = None,
                cursor: CursorParam = None, limit: LimitParam = 30) -> Page[ConversationOut]:
    rows, next_cursor = await service.inbox(session, actor=user, account_id=account_id, state=state, view=view,
                                            label=label, cursor=cursor, limit=limit)
    return Page(items=[_row(row) for row in rows], next_cursor=next_cursor)


@router.get("/accounts/{account_id}/inbox/search", response_model=Page[SearchHit],
            summary="Search the account's messages (diacritics ignored)")
async def search(account_id: Id, session: Read, user: CurrentUser,
                 q: Annotated[str, Query(min_length=1, max_length=200)],
                 cursor: CursorParam = None, limit: LimitParam = 30) -> Page[SearchHit]:
    hits, next_cursor = await service.search(session, actor=user, account_id=account_id, q=q, cursor=cursor,
                                             limit=limit)
    return Page(items=[SearchHit(citizen_name=name, message=StaffMessageOut.model_validate(view))
                       for view, name in hits], next_cursor=next_cursor)


@router.post("/accounts/{account_id}/conversations", response_model=StaffMessageOut, status_code=201,
             summary="Write first to a citizen who follows the account or has written to it (inbox staff)")
async def start(request: Request, response: Response, account_id: Id, body: StartConversationIn,
                user: CurrentUser) -> StaffMessageOut:
    runtime = _runtime(request)
    content = await _content(runtime, body.message)
    stored = await service.start_conversation(runtime, actor=user, account_id=account_id,
                                              citizen_id=body.citizen_id, content=content,
                                              client_ref=body.message.client_ref)
    _answer(response, stored)
    return StaffMessageOut.model_validate(stored.view(staff=True))


@router.get("/conversations/{conversation_id}", response_model=ConversationOut, summary="One conversation (staff)")
async def conversation(conversation_id: Id, session: Read, user: CurrentUser) -> ConversationOut:
    return await _conversation_out(session, await service.staff_conversation(session, user, conversation_id))


@router.get("/conversations/{conversation_id}/messages", response_model=Page[StaffMessageOut],
            summary="A conversation's messages, newest first (staff)")
async def messages(conversation_id: Id, session: Read, user: CurrentUser, cursor: CursorParam = None,
                   limit: LimitParam = 50) -> Page[StaffMessageOut]:
    views, next_cursor = await service.staff_messages(session, actor=user, conversation_id=conversation_id,
                                                      cursor=cursor, limit=limit)
    return Page(items=[StaffMessageOut.model_validate(view) for view in views], next_cursor=next_cursor)


@router.post("/conversations/{conversation_id}/messages", response_model=StaffMessageOut, status_code=201,
             summary="Reply in the account's name (text, link or place)")
async def reply(request: Request, response: Response, conversation_id: Id, body: MessageIn,
                user: CurrentUser) -> StaffMessageOut:
    runtime = _runtime(request)
    async with runtime.read_session() as session:
        found = await service.staff_conversation(session, user, conversation_id)
    content = await _content(runtime, body)
    stored = await service.send_as_staff(runtime, actor=user, conversation=found, content=content,
                                         client_ref=body.client_ref)
    _answer(response, stored)
    return StaffMessageOut.model_validate(stored.view(staff=True))


@router.post("/conversations/{conversation_id}/uploads", response_model=StaffMessageOut, status_code=201,
             summary="Reply with a photo or a document")
async def reply_upload(request: Request, response: Response, conversation_id: Id, file: UploadFileParam,
                       user: CurrentUser, caption: Caption = "",
                       client_ref: ClientRefForm = None) -> StaffMessageOut:
    runtime = _runtime(request)
    async with runtime.read_session() as session:
        found = await service.staff_conversation(session, user, conversation_id)
    content = await _upload(request, found.account_id, file, caption)
    stored = await service.send_as_staff(runtime, actor=user, conversation=found, content=content,
                                         client_ref=client_ref, storage=storage(request))
    _answer(response, stored)
    return StaffMessageOut.model_validate(stored.view(staff=True))


@router.post("/conversations/{conversation_id}/seen", response_model=SeenOut,
             summary="The account has read the citizen's messages (the citizen sees it)")
async def staff_seen(conversation_id: Id, body: SeenIn, session: Write, user: CurrentUser) -> SeenOut:
    found = await service.staff_mark_seen(session, actor=user, conversation_id=conversation_id,
                                          message_id=body.message_id)
    await commit(session)
    return SeenOut(seen_up_to=found.staff_seen_message_id, unread=found.staff_unread)


@router.put("/conversations/{conversation_id}/assignee", response_model=ConversationOut,
            summary="Assign the conversation to a member of the inbox staff, or unassign it")
async def assign(conversation_id: Id, body: AssignIn, session: Write, user: CurrentUser) -> ConversationOut:
    found = await service.assign(session, actor=user, conversation_id=conversation_id, assignee_id=body.assignee_id)
    await commit(session)
    return await _conversation_out(session, found)


@router.put("/conversations/{conversation_id}/state", response_model=ConversationOut,
            summary="Open, set waiting for the citizen, or close")
async def set_state(conversation_id: Id, body: StateIn, session: Write, user: CurrentUser) -> ConversationOut:
    found = await service.set_state(session, actor=user, conversation_id=conversation_id, state=body.state)
    await commit(session)
    return await _conversation_out(session, found)


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteOut],
            summary="Internal notes (never shown to the citizen)")
async def notes(conversation_id: Id, session: Read, user: CurrentUser) -> list[NoteOut]:
    rows = await service.list_notes(session, actor=user, conversation_id=conversation_id)
    return [_note(note, name) for note, name in rows]


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201,
             summary="Add an internal note")
async def add_note(conversation_id: Id, body: NoteIn, session: Write, user: CurrentUser) -> NoteOut:
    note = await service.add_note(session, actor=user, conversation_id=conversation_id, text=body.text)
    await commit(session)
    return _note(note, user.display_name)


def _note(note: ConversationNote, author_name: str | None) -> NoteOut:
    author = SentBy(id=note.author_id, name=author_name or "") if note.author_id else None
    return NoteOut(id=note.id, text=note.text, author=author, created_at=note.created_at)


@router.put("/conversations/{conversation_id}/labels", response_model=LabelsOut, summary="Set the labels")
async def set_labels(conversation_id: Id, body: LabelsIn, session: Write, user: CurrentUser) -> LabelsOut:
    labels = await service.set_labels(session, actor=user, conversation_id=conversation_id, labels=body.labels)
    await commit(session)
    return LabelsOut(labels=labels)


@router.post("/conversations/{conversation_id}/spam", response_model=ReportOut, status_code=201,
             summary="Mark as spam: closed, reported to the operators, the citizen blocked if asked")
async def spam(conversation_id: Id, body: SpamIn, session: Write, user: CurrentUser) -> ReportOut:
    report = await service.report_spam(session, actor=user, conversation_id=conversation_id, reason=body.reason,
                                       block=body.block)
    await commit(session)
    return _report(report)


def _report(report: MessageReport) -> ReportOut:
    return ReportOut(id=report.id, conversation_id=report.conversation_id, account_id=report.account_id,
                     side=report.side, reason=report.reason, status=report.status, created_at=report.created_at)


# --- canned replies ------------------------------------------------------------------------------------------


def _canned(reply: CannedReply) -> CannedOut:
    return CannedOut(id=reply.id, title=reply.title, text=reply.text, updated_at=reply.updated_at)


@router.get("/accounts/{account_id}/canned-replies", response_model=list[CannedOut], summary="Canned replies")
async def canned(account_id: Id, session: Read, user: CurrentUser) -> list[CannedOut]:
    return [_canned(reply) for reply in await service.list_canned(session, actor=user, account_id=account_id)]


@router.post("/accounts/{account_id}/canned-replies", response_model=CannedOut, status_code=201,
             summary="Add a canned reply")
async def add_canned(account_id: Id, body: CannedIn, session: Write, user: CurrentUser) -> CannedOut:
    reply = await service.create_canned(session, actor=user, account_id=account_id, title=body.title, text=body.text)
    await commit(session)
    return _canned(reply)


@router.patch("/canned-replies/{reply_id}", response_model=CannedOut, summary="Edit a canned reply")
async def edit_canned(reply_id: Id, body: CannedEdit, session: Write, user: CurrentUser) -> CannedOut:
    reply = await service.update_canned(session, actor=user, reply_id=reply_id, title=body.title, text=body.text)
    await commit(session)
    return _canned(reply)


@router.delete("/canned-replies/{reply_id}", status_code=204, summary="Delete a canned reply")
async def remove_canned(reply_id: Id, session: Write, user: CurrentUser) -> Response:
    await service.delete_canned(session, actor=user, reply_id=reply_id)
    await commit(session)
    return Response(status_code=204)


# --- automation ------------------------------------------------------------------------------------------------


@router.get("/accounts/{account_id}/automation", response_model=AutomationOut,
            summary="Automatic answers: welcome, out of office hours (inbox staff)")
async def automation_settings(account_id: Id, session: Read, user: CurrentUser) -> AutomationOut:
    return AutomationOut.of(await service.get_automation(session, actor=user, account_id=account_id))


@router.put("/accounts/{account_id}/automation", response_model=AutomationOut,
            summary="Set the automatic answers (account owner or admin)")
async def set_automation(account_id: Id, body: AutomationSettingsIn, session: Write,
                         user: CurrentUser) -> AutomationOut:
    settings = await service.set_automation(session, actor=user, account_id=account_id, settings=body)
    await commit(session)
    return AutomationOut.of(settings)


def _rule(row: KeywordRuleRow) -> RuleOut:
    return RuleOut(id=row.id, priority=row.priority, keywords=row.keywords, match=row.match, reply=row.reply,
                   enabled=row.enabled)


@router.get("/accounts/{account_id}/automation/rules", response_model=list[RuleOut],
            summary="Keyword answers, in the order they are tried")
async def rules(account_id: Id, session: Read, user: CurrentUser) -> list[RuleOut]:
    return [_rule(row) for row in await service.list_rules(session, actor=user, account_id=account_id)]


@router.post("/accounts/{account_id}/automation/rules", response_model=RuleOut, status_code=201,
             summary="Add a keyword answer (account owner or admin)")
async def add_rule(account_id: Id, body: KeywordRuleIn, session: Write, user: CurrentUser) -> RuleOut:
    row = await service.create_rule(session, actor=user, account_id=account_id, rule=body)
    await commit(session)
    return _rule(row)


@router.put("/automation/rules/{rule_id}", response_model=RuleOut, summary="Replace a keyword answer")
async def replace_rule(rule_id: Id, body: KeywordRuleIn, session: Write, user: CurrentUser) -> RuleOut:
    row = await service.replace_rule(session, actor=user, rule_id=rule_id, rule=body)
    await commit(session)
    return _rule(row)


@router.delete("/automation/rules/{rule_id}", status_code=204, summary="Delete a keyword answer")
async def remove_rule(rule_id: Id, session: Write, user: CurrentUser) -> Response:
    await service.delete_rule(session, actor=user, rule_id=rule_id)
    await commit(session)
    return Response(status_code=204)


# --- operators -------------------------------------------------------------------------------------------------


@router.get("/admin/message-reports", response_model=Page[ReportOut],
            summary="Spam and abuse reports about conversations (platform operators)")
async def reports(session: Read, operator: Operator, status: Literal["open", "reviewed"] | None = "open",
                  cursor: CursorParam = None, limit: LimitParam = 50) -> Page[ReportOut]:
    rows, next_cursor = await service.list_reports(session, status=status, cursor=cursor, limit=limit)
    return Page(items=[_report(row) for row in rows], next_cursor=next_cursor)


@router.post("/admin/message-reports/{report_id}/review", response_model=ReportOut,
             summary="Mark a report as reviewed")
async def review(report_id: Id, session: Write, operator: Operator) -> ReportOut:
    report = await service.review_report(session, report_id)
    await commit(session)
    return _report(report)
