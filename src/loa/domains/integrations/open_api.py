"""The native Open API for an account's own systems, under `/api/v1/oa/…`: the account is the token's.

Every call acts as the app's staff identity through the domains' own services, so their access rules hold
unchanged (another account's conversation, report or broadcast is "not found"). Every POST takes an
`Idempotency-Key`. Every call is written to the app's call log.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.broadcasts import service as broadcasts
from loa.domains.broadcasts.models import Broadcast
from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content, clean_text
from loa.domains.conversations.writer import Stored
from loa.domains.follows import service as follows
from loa.domains.integrations import uploads
from loa.domains.integrations.access import AuditedRoute, Idem, require_app
from loa.domains.integrations.models import IntegrationUpload
from loa.domains.integrations.schemas import (
    AttachmentOut,
    BroadcastCreate,
    BroadcastOut,
    ConversationOut,
    FollowerOut,
    MediaOut,
    OaOut,
    ReportAction,
    ReportOut,
    SendMessage,
    TagIn,
)
from loa.domains.integrations.service import AppContext
from loa.domains.reports import service as reports
from loa.domains.reports.models import Report
from loa.domains.stats import service as stats
from loa.domains.stats.schemas import Figures
from loa.kit.effects import commit
from loa.kit.errors import NotFound
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.groupcommit import Guard
from loa.kit.images import MAX_UPLOAD_BYTES, TooLarge, clean_image
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.storage import media_storage

router = APIRouter(prefix="/oa", tags=["open api"], route_class=AuditedRoute)

Id = Annotated[int, Path(ge=1, le=2**62)]
AnyScope = Annotated[AppContext, Depends(require_app(None))]
Messages = Annotated[AppContext, Depends(require_app("messages"))]
Followers = Annotated[AppContext, Depends(require_app("followers"))]
Broadcasts = Annotated[AppContext, Depends(require_app("broadcasts"))]
Reports = Annotated[AppContext, Depends(require_app("reports"))]
Stats = Annotated[AppContext, Depends(require_app("stats"))]


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def _broadcast_out(broadcast: Broadcast) -> dict[str, Any]:
    return BroadcastOut(id=str(broadcast.id), kind=broadcast.kind, status=broadcast.status, title=broadcast.title,
                        publish_at=broadcast.publish_at, published_at=broadcast.published_at,
                        created_at=broadcast.created_at).model_dump(mode="json")


def _report_out(report: Report, now: datetime) -> ReportOut:
    return ReportOut(id=str(report.id), code=report.code, status=report.status, title=report.title,
                     description=report.description, address=report.address, commune_code=report.commune_code,
                     received_at=report.received_at, due_at=report.due_at, overdue=reports.overdue(report, now))


# --- the account ---------------------------------------------------------------------------------------------


@router.get("", response_model=OaOut, summary="The account the token belongs to")
async def get_oa(request: Request, context: AnyScope) -> OaOut:
    async with _runtime(request).read_session() as session:
        account = await accounts.get_account(session, context.account_id)
    return OaOut(id=str(account.id), handle=account.handle, name=account.name, verified=account.verified,
                 follower_count=account.follower_count, scopes=sorted(context.scopes))


# --- conversations and messages ------------------------------------------------------------------------------


@router.get("/conversations", response_model=Page[ConversationOut], summary="Conversations, unread first")
async def list_conversations(request: Request, context: Messages,
                             state: Literal["open", "waiting", "closed"] = "open", cursor: CursorParam = None,
                             limit: LimitParam = 30) -> Page[ConversationOut]:
    async with _runtime(request).read_session() as session:
        rows, next_cursor = await conversations.inbox(session, actor=context.bot, account_id=context.account_id,
                                                      state=state, cursor=cursor, limit=limit)
    return Page(items=[ConversationOut(
        id=str(row.conversation.id), user_id=str(row.conversation.citizen_id), user_name=row.citizen_name,
        state=row.conversation.state, has_unread=row.conversation.has_unread,
        last_message_at=row.conversation.last_message_at, preview=row.conversation.last_message_preview)
        for row in rows], next_cursor=next_cursor)


@router.get("/conversations/{conversation_id}/messages", summary="A conversation's messages, newest first")
async def list_messages(request: Request, conversation_id: Id, context: Messages, cursor: CursorParam = None,
                        limit: LimitParam = 50) -> dict[str, Any]:
    async with _runtime(request).read_session() as session:
        items, next_cursor = await conversations.staff_messages(session, actor=context.bot,
                                                                conversation_id=conversation_id, cursor=cursor,
                                                                limit=limit)
    return {"items": [_message(item) for item in items], "next_cursor": next_cursor}


def _message(view: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in view.items() if key != "sent_by"}
    for key in ("id", "conversation_id", "account_id"):
        shown[key] = str(shown[key])
    return shown


@router.post("/conversations/{conversation_id}/messages", status_code=201,
             summary="Send a message in a conversation: text, or a photo or document with a caption "
                     "(Idempotency-Key accepted)")
async def send_message(request: Request, conversation_id: Id, body: SendMessage, context: Messages,
                       idem: Idem) -> Response:
    runtime = _runtime(request)
    storage = media_storage(runtime.settings)

    async def write(guard: Guard | None) -> Stored:
        if body.attachment_id is not None:
            content = await uploads.content_of(runtime, storage, account_id=context.account_id,
                                               token=body.attachment_id, caption=body.text)
        else:
            content = Content(kind="text", text=clean_text(body.text))
        return await conversations.reply_in_conversation(
            runtime, actor=context.bot, account_id=context.account_id, conversation_id=conversation_id,
            content=content, storage=storage, guard=guard)

    # The key is claimed, and its answer kept, in the message's own write: one transaction per call. (So a
    # retry can never store the message twice, and the message needs no reference of its own.)
    return await idem.run_guarded(write, lambda stored: (201, _message(stored.view(staff=True))))


def attachment_out(upload: IntegrationUpload) -> AttachmentOut:
    shown = upload.attachment
    return AttachmentOut(attachment_id=upload.token, kind=upload.kind,  # type: ignore[arg-type]
                         name=shown.get("name"), content_type=shown.get("content_type"), size=shown.get("size"),
                         width=shown.get("width"), height=shown.get("height"), expires_at=upload.expires_at)


@router.post("/media/attachments", response_model=AttachmentOut, status_code=201,
             summary="Upload a photo or document to send in messages (photos re-encoded: EXIF and GPS removed)")
async def upload_attachment(request: Request, file: Annotated[UploadFile, File()], context: Messages,
                            idem: Idem) -> Response:
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge("Tệp quá lớn (tối đa 20 MB) / The file is too large (20 MB at most)")
    runtime = _runtime(request)

    async def handler() -> tuple[int, Any]:
        upload = await uploads.save(runtime, media_storage(runtime.settings), context, data=data,
                                    filename=file.filename or "")
        return 201, attachment_out(upload).model_dump(mode="json")

    return await idem.run(handler, fingerprint=hashlib.sha256(data).digest())


@router.get("/messages/{message_id}/attachment", response_class=FileResponse, response_model=None,
            summary="Download the photo or document of a message of the account")
async def message_attachment(request: Request, message_id: Id, context: Messages) -> FileResponse:
    async with _runtime(request).read_session() as session:
        message = await conversations.message_for(session, context.bot, message_id)
    attachment = message.attachment or {}
    key = attachment.get("key") if message.kind in ("image", "file") else None
    path = media_storage(_runtime(request).settings).path_of(key) if key else None
    if path is None or not path.is_file():
        raise NotFound("Tin nhắn không có tệp đính kèm / The message has no attachment", code="attachment_not_found")
    return FileResponse(path, media_type=attachment.get("content_type") or "application/octet-stream",
                        filename=attachment.get("name") or path.name, content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff"})


# --- followers -------------------------------------------------------------------------------------------------


@router.get("/followers", response_model=Page[FollowerOut], summary="The account's followers")
async def list_followers(request: Request, context: Followers,
                         tag: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
                         commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
                         cursor: CursorParam = None, limit: LimitParam = 50) -> Page[FollowerOut]:
    async with _runtime(request).read_session() as session:
        rows, next_cursor = await follows.list_followers(session, account_id=context.account_id, actor=context.bot,
                                                         tag=tag, commune_code=commune_code, cursor=cursor,
                                                         limit=limit)
    return Page(items=[_follower_out(follower) for follower in rows], next_cursor=next_cursor)


@router.get("/followers/{user_id}", response_model=FollowerOut, summary="One follower")
async def get_follower(request: Request, user_id: Id, context: Followers) -> FollowerOut:
    async with _runtime(request).read_session() as session:
        return await _follower(session, context, user_id)


async def _follower(session: Any, context: AppContext, user_id: int) -> FollowerOut:
    return _follower_out(await follows.get_follower(session, account_id=context.account_id, actor=context.bot,
                                                    user_id=user_id))


def _follower_out(follower: follows.Follower) -> FollowerOut:
    return FollowerOut(user_id=str(follower.user_id), display_name=follower.display_name,
                       commune_code=follower.commune_code, followed_at=follower.followed_at, tags=follower.tags)


@router.post("/followers/{user_id}/tags", response_model=FollowerOut, summary="Tag a follower")
async def tag_follower(request: Request, user_id: Id, body: TagIn, context: Followers, idem: Idem) -> Response:
    async def handler() -> tuple[int, Any]:
        async with _runtime(request).session() as session:
            await follows.tag_follower(session, account_id=context.account_id, actor=context.bot, user_id=user_id,
                                       tag=body.tag)
            await commit(session)
            return 200, (await _follower(session, context, user_id)).model_dump(mode="json")

    return await idem.run(handler)


@router.delete("/followers/{user_id}/tags/{tag}", status_code=204, summary="Remove a follower's tag")
async def untag_follower(request: Request, user_id: Id, tag: Annotated[str, Path(min_length=1, max_length=40)],
                         context: Followers) -> Response:
    async with _runtime(request).session() as session:
        await follows.untag_follower(session, account_id=context.account_id, actor=context.bot, user_id=user_id,
                                     tag=tag)
        await commit(session)
    return Response(status_code=204)


# --- broadcasts ------------------------------------------------------------------------------------------------


@router.post("/broadcasts", response_model=BroadcastOut, status_code=201, summary="Write a broadcast (a draft)")
async def create_broadcast(request: Request, body: BroadcastCreate, context: Broadcasts, idem: Idem) -> Response:
    async def handler() -> tuple[int, Any]:
        async with _runtime(request).session() as session:
            broadcast = await broadcasts.create_draft(
                session, account_id=context.account_id, actor=context.bot, kind=body.kind, title=body.title,
                body=body.body, cover_url=body.cover_url, publish_at=body.publish_at,
                targeting=broadcasts.TargetingInput(provinces=body.provinces, communes=body.communes,
                                                    tags=body.tags))
            await commit(session)
            return 201, _broadcast_out(broadcast)

    return await idem.run(handler)


@router.post("/broadcasts/{broadcast_id}/publish", response_model=BroadcastOut,
             summary="Publish a broadcast now (or at its publish_at)")
async def publish_broadcast(request: Request, broadcast_id: Id, context: Broadcasts, idem: Idem) -> Response:
    async def handler() -> tuple[int, Any]:
        async with _runtime(request).session() as session:
            broadcast = await broadcasts.approve(session, broadcast_id=broadcast_id, actor=context.bot)
            await commit(session)
            return 200, _broadcast_out(broadcast)

    return await idem.run(handler)


# --- reports ---------------------------------------------------------------------------------------------------


@router.get("/reports", response_model=Page[ReportOut], summary="The account's reports, nearest deadline first")
async def list_reports(request: Request, context: Reports,
                       status: Annotated[str | None, Query(max_length=20)] = None, cursor: CursorParam = None,
                       limit: LimitParam = 50) -> Page[ReportOut]:
    now = utcnow()
    async with _runtime(request).read_session() as session:
        rows, next_cursor = await reports.queue(session, context.bot, context.account_id, status=status,
                                                overdue_only=False, assigned_to_me=False, q=None, cursor=cursor,
                                                limit=limit, now=now)
    return Page(items=[_report_out(report, now) for report in rows], next_cursor=next_cursor)


@router.post("/reports/{report_id}/actions", response_model=ReportOut,
             summary="Move a report on: start, ask, resolve, reject, close… (as the console does)")
async def act_on_report(request: Request, report_id: Id, body: ReportAction, context: Reports,
                        idem: Idem) -> Response:
    async def handler() -> tuple[int, Any]:
        report = await reports.act(_runtime(request), actor=context.bot, report_id=report_id,
                                   action_name=body.action, note=body.note, public=body.public)
        return 200, _report_out(report, utcnow()).model_dump(mode="json")

    return await idem.run(handler)


# --- media -----------------------------------------------------------------------------------------------------


@router.post("/media/images", response_model=MediaOut, status_code=201,
             summary="Upload an image for a broadcast (re-encoded; EXIF and GPS removed)")
async def upload_image(request: Request, file: Annotated[UploadFile, File()], context: Broadcasts,
                       idem: Idem) -> Response:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge("Ảnh quá lớn (tối đa 10 MB) / Image too large (10 MB at most)")

    async def handler() -> tuple[int, Any]:
        image = clean_image(data)
        key = f"accounts/{context.account_id}/{uuid.uuid4().hex}.{image.extension}"
        media = media_storage(_runtime(request).settings)
        await media.save(key, image.data)
        return 201, MediaOut(url=media.url_of(key), width=image.width, height=image.height, bytes=len(image.data),
                             content_type=image.content_type).model_dump()

    return await idem.run(handler, fingerprint=hashlib.sha256(data).digest())


# --- statistics ------------------------------------------------------------------------------------------------


@router.get("/stats", response_model=Figures, response_model_by_alias=True,
            summary="The account's own figures over a period (as the public statistics compute them)")
async def account_stats(
    request: Request, context: Stats,
    year: Annotated[int | None, Query(description="A whole calendar year (instead of from/to)")] = None,
    start: Annotated[date | None, Query(alias="from", description="First day, included")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day, included (default: today in Vietnam)")]
    = None,
) -> Figures:
    period = stats.resolve(year=year, start=start, end=end)
    async with _runtime(request).read_session() as session:
        scope = await stats.resolve_scope(session, account=str(context.account_id))
        return await stats.figures(session, scope, period)
