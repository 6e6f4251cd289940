"""The Zalo-OA-compatible surface at `/zalo`: an existing Zalo OA client works against Loa by changing its base
URL to `http://host/zalo` and using a Loa access token or API key as its `access_token`.

Zalo's own conventions, not ours: the token in the `access_token` header (or query parameter), GET parameters
as one JSON `data` query parameter, every answer HTTP 200 with `{"error": 0, "message": "Success", "data": …}`
and Zalo's negative error codes on failure (see docs/api.md). The work is done by the same services as the
native API, as the app's staff identity, so the same access rules hold.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from loa.domains.accounts import service as accounts
from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content, clean_text
from loa.domains.conversations.models import Message
from loa.domains.follows import service as follows
from loa.domains.integrations import service, uploads
from loa.domains.integrations.access import AuditedRoute
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError, Forbidden, NotFound, TooMany, Unauthorized
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.images import MAX_UPLOAD_BYTES, clean_image
from loa.kit.storage import MediaStorage, media_storage

router = APIRouter(route_class=AuditedRoute)

# Zalo's error codes (reference/zalo-oa-api.md).
RATE_LIMITED, INVALID_PARAM, NOT_REGISTERED, NOT_FOLLOWER, INVALID_TOKEN, BAD_TYPE = -32, -201, -212, -213, -216, -233
OUT_OF_QUOTA, NOT_VERIFIED = -211, -221


class ZaloError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"error": 0, "message": "Success", "data": data})


def refusal(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message})


def _code_of(exc: AppError) -> int:
    if isinstance(exc, TooMany):
        return OUT_OF_QUOTA if exc.code == "quota_exceeded" else RATE_LIMITED
    if isinstance(exc, Unauthorized):
        return INVALID_TOKEN
    if isinstance(exc, Forbidden) and exc.code == "account_not_verified":
        return NOT_VERIFIED
    if isinstance(exc, Forbidden):
        return NOT_FOLLOWER if exc.code in ("cannot_start_conversation", "blocked") else NOT_REGISTERED
    return INVALID_PARAM


def _status_of(code: int) -> int:
    """The HTTP status the native API would have answered, for the call log."""
    return {INVALID_TOKEN: 401, NOT_REGISTERED: 403, NOT_FOLLOWER: 403, NOT_VERIFIED: 403, RATE_LIMITED: 429,
            OUT_OF_QUOTA: 429}.get(code, 422)


async def _context(request: Request, scope: str | None) -> service.AppContext:
    raw = request.headers.get("access_token") or request.query_params.get("access_token") or ""
    if not raw or len(raw) > 256:
        raise ZaloError(INVALID_TOKEN, "Access token is invalid")
    context = await service.authenticate(request.app.state.runtime, raw)
    if context is None:
        raise ZaloError(INVALID_TOKEN, "Access token is invalid or has expired")
    request.state.integration_app = context  # the call log
    if scope is not None and scope not in context.scopes:
        raise ZaloError(NOT_REGISTERED, f"The access token lacks the '{scope}' permission")
    return context


def _data(request: Request) -> dict[str, Any]:
    raw = request.query_params.get("data")
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ZaloError(INVALID_PARAM, "data is not valid JSON") from None
    if not isinstance(data, dict):
        raise ZaloError(INVALID_PARAM, "data must be a JSON object")
    return data


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ZaloError(INVALID_PARAM, "The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ZaloError(INVALID_PARAM, "The body must be a JSON object")
    return body


def _int(value: Any, name: str, *, default: int | None = None, low: int = 0, high: int = 2**62) -> int:
    if value is None and default is not None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ZaloError(INVALID_PARAM, f"{name} is invalid") from None
    if not low <= number <= high:
        raise ZaloError(INVALID_PARAM, f"{name} is out of range")
    return number


def zalo_route(method: str, path: str, scope: str | None) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """A Zalo endpoint: authenticated, every refusal in Zalo's envelope (HTTP 200), as Zalo answers."""

    def register(fn: Callable[..., Awaitable[Any]]) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                context = await _context(request, scope)
                return ok(await fn(request, context))
            except ZaloError as exc:
                request.state.refused_with = _status_of(exc.code)
                return refusal(exc.code, exc.message)
            except AppError as exc:
                request.state.refused_with = exc.status_code
                return refusal(_code_of(exc), exc.message)

        endpoint.__name__ = fn.__name__
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
        return fn

    return register


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


# --- the OA ------------------------------------------------------------------------------------------------


@zalo_route("GET", "/v2.0/oa/getoa", None)
async def getoa(request: Request, context: service.AppContext) -> dict[str, Any]:
    async with request.app.state.runtime.read_session() as session:
        account = await accounts.get_account(session, context.account_id)
    return {"oa_id": str(account.id), "name": account.name, "description": account.description,
            "avatar": account.avatar_url or "", "cover": "", "is_verified": account.verified, "oa_type": 2,
            "num_follower": account.follower_count, "package_name": ""}


# --- messages ----------------------------------------------------------------------------------------------


@zalo_route("POST", "/v3.0/oa/message/cs", "messages")
async def message_cs(request: Request, context: service.AppContext) -> dict[str, Any]:
    body = await _body(request)
    recipient, message = body.get("recipient"), body.get("message")
    if not isinstance(recipient, dict) or not isinstance(message, dict):
        raise ZaloError(INVALID_PARAM, "recipient and message are required")
    runtime = request.app.state.runtime
    storage = media_storage(runtime.settings)
    async with runtime.read_session() as session:
        if recipient.get("message_id") is not None:  # a reply to a given inbound message
            conversation = await conversations.conversation_of_message(
                session, account_id=context.account_id,
                message_id=_int(recipient["message_id"], "message_id", low=1))
            if conversation is None:
                raise ZaloError(INVALID_PARAM, "message_id is invalid")
            user_id = conversation.citizen_id
        else:
            user_id = _int(recipient.get("user_id"), "user_id", low=1)
            conversation = await conversations.conversation_with(session, account_id=context.account_id,
                                                                 citizen_id=user_id)
    content = await _cs_content(runtime, storage, context, message)  # copies an upload: after the checks
    if conversation is not None:
        stored = await conversations.send_as_staff(runtime, actor=context.bot, conversation=conversation,
                                                   content=content, storage=storage)
    else:
        try:
            stored = await conversations.start_conversation(runtime, actor=context.bot,
                                                            account_id=context.account_id, citizen_id=user_id,
                                                            content=content)
        except AppError:
            for key in content.stored_keys:  # a refused message keeps no copy of its attachment
                await storage.delete(key)
            raise
    return {"message_id": str(stored.row["id"]), "user_id": str(user_id)}


def _upload_token(attachment: Any) -> str:
    """The upload a CS message's `attachment` names: an image (`template`/`media`, `attachment_id`) or a file
    (`file`, `token`). Anything else is a type Loa does not send (-233); an image by `url` is refused, since
    fetching an address the caller chose would let it reach the server's own network."""
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        raise ZaloError(INVALID_PARAM, "attachment.payload is required")
    payload = attachment["payload"]
    if attachment.get("type") == "file":
        token = payload.get("token")
    elif attachment.get("type") == "template" and payload.get("template_type") == "media":
        elements = payload.get("elements")
        if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
            raise ZaloError(INVALID_PARAM, "attachment.payload.elements must hold one element")
        if elements[0].get("media_type") != "image":
            raise ZaloError(BAD_TYPE, "Only image media is supported")
        token = elements[0].get("attachment_id")
        if token is None and "url" in elements[0]:
            raise ZaloError(INVALID_PARAM, "Upload the image with v2.0/oa/upload/image and send its attachment_id")
    else:
        raise ZaloError(BAD_TYPE, "Only text, image and file messages are supported")
    if not isinstance(token, str) or not 1 <= len(token) <= 48:
        raise ZaloError(INVALID_PARAM, "attachment_id or token is invalid")
    return token


async def _cs_content(runtime: Any, storage: MediaStorage, context: service.AppContext,
                      message: dict[str, Any]) -> Content:
    text = message.get("text", "")
    if not isinstance(text, str):
        raise ZaloError(INVALID_PARAM, "message.text must be a string")
    if "attachment" not in message:
        return Content(kind="text", text=clean_text(text))
    token = _upload_token(message["attachment"])
    try:
        return await uploads.content_of(runtime, storage, account_id=context.account_id, token=token, caption=text)
    except NotFound:
        raise ZaloError(INVALID_PARAM, "attachment_id or token is invalid or has expired") from None


def _chat_item(message: Message, account_id: int, citizen: tuple[int, str], account_name: str) -> dict[str, Any]:
    inbound = message.direction == "in"
    oa, user = (str(account_id), account_name), (str(citizen[0]), citizen[1])
    source, target = (user, oa) if inbound else (oa, user)
    return {"src": 1 if inbound else 0, "time": _ms(message.created_at), "type": message.kind,
            "message": message.text or "", "message_id": str(message.id), "from_id": source[0],
            "from_display_name": source[1], "to_id": target[0], "to_display_name": target[1]}


@zalo_route("GET", "/v2.0/oa/listrecentchat", "messages")
async def listrecentchat(request: Request, context: service.AppContext) -> list[dict[str, Any]]:
    data = _data(request)
    offset, count = _int(data.get("offset"), "offset", default=0), _int(data.get("count"), "count", default=10,
                                                                         low=1, high=10)
    async with request.app.state.runtime.read_session() as session:
        rows = await conversations.recent_chats(session, actor=context.bot, account_id=context.account_id,
                                                offset=offset, limit=count)
        account = await accounts.get_account(session, context.account_id)
    return [_chat_item(message, context.account_id, (user_id, name), account.name) for message, user_id, name in rows]


@zalo_route("GET", "/v2.0/oa/conversation", "messages")
async def conversation(request: Request, context: service.AppContext) -> list[dict[str, Any]]:
    data = _data(request)
    user_id = _int(data.get("user_id"), "user_id", low=1)
    offset, count = _int(data.get("offset"), "offset", default=0), _int(data.get("count"), "count", default=10,
                                                                         low=1, high=10)
    async with request.app.state.runtime.read_session() as session:
        found = await conversations.messages_with(session, actor=context.bot, account_id=context.account_id,
                                                  citizen_id=user_id, offset=offset, limit=count)
        if found is None:
            raise ZaloError(INVALID_PARAM, "No conversation with this user_id")
        account = await accounts.get_account(session, context.account_id)
    name, messages = found
    return [_chat_item(message, context.account_id, (user_id, name), account.name) for message in messages]


# --- users and tags ------------------------------------------------------------------------------------------


@zalo_route("GET", "/v3.0/oa/user/detail", "followers")
async def user_detail(request: Request, context: service.AppContext) -> dict[str, Any]:
    user_id = _int(_data(request).get("user_id"), "user_id", low=1)
    async with request.app.state.runtime.read_session() as session:
        await accounts.require_role(session, context.account_id, context.bot, follows.FOLLOWER_STAFF)
        user = await session.get(User, user_id)
        following = await follows.is_following(session, user_id=user_id, account_id=context.account_id)
        chat = await conversations.conversation_with(session, account_id=context.account_id, citizen_id=user_id)
        if user is None or (not following and chat is None):  # a stranger to this OA is unknown to it
            raise ZaloError(INVALID_PARAM, "user_id is invalid")
        tags = await follows.follower_tags(session, account_id=context.account_id, user_id=user_id)
    last = chat.last_inbound_at if chat is not None else None
    return {"user_id": str(user.id), "user_id_by_app": str(user.id), "user_alias": "",
            "display_name": user.display_name, "avatar": "", "avatars": {"120": "", "240": ""}, "is_sensitive": False,
            "user_is_follower": following,
            "user_last_interaction_date": last.strftime("%d/%m/%Y") if last else "",
            "tags_and_notes_info": {"tag_names": tags, "notes": []}}


async def _followers(request: Request, context: service.AppContext) -> tuple[int, int, list[int]]:
    data = _data(request)
    offset = _int(data.get("offset"), "offset", default=0, high=1_000_000)
    count = _int(data.get("count"), "count", default=50, low=1, high=50)
    async with request.app.state.runtime.read_session() as session:
        total, ids = await follows.follower_ids(session, account_id=context.account_id, actor=context.bot,
                                                tag=str(data["tag_name"]) if data.get("tag_name") else None,
                                                offset=offset, limit=count)
    return total, offset, ids


@zalo_route("GET", "/v3.0/oa/user/getlist", "followers")
async def user_getlist(request: Request, context: service.AppContext) -> dict[str, Any]:
    total, offset, ids = await _followers(request, context)
    return {"total": total, "count": len(ids), "offset": offset, "users": [{"user_id": str(i)} for i in ids]}


@zalo_route("GET", "/v2.0/oa/getfollowers", "followers")
async def getfollowers(request: Request, context: service.AppContext) -> dict[str, Any]:
    total, _, ids = await _followers(request, context)
    return {"total": total, "followers": [{"user_id": str(i)} for i in ids]}


async def _tag_body(request: Request) -> tuple[int, str]:
    body = await _body(request)
    if not isinstance(body.get("tag_name"), str):
        raise ZaloError(INVALID_PARAM, "tag_name is required")
    return _int(body.get("user_id"), "user_id", low=1), body["tag_name"]


@zalo_route("POST", "/v2.0/oa/tag/tagfollower", "followers")
async def tagfollower(request: Request, context: service.AppContext) -> None:
    user_id, tag = await _tag_body(request)
    async with request.app.state.runtime.session() as session:
        await follows.tag_follower(session, account_id=context.account_id, actor=context.bot, user_id=user_id, tag=tag)
        await commit(session)


@zalo_route("POST", "/v2.0/oa/tag/rmfollowerfromtag", "followers")
async def rmfollowerfromtag(request: Request, context: service.AppContext) -> None:
    user_id, tag = await _tag_body(request)
    async with request.app.state.runtime.session() as session:
        await follows.untag_follower(session, account_id=context.account_id, actor=context.bot, user_id=user_id,
                                     tag=tag)
        await commit(session)


@zalo_route("GET", "/v2.0/oa/tag/gettagsofoa", "followers")
async def gettagsofoa(request: Request, context: service.AppContext) -> list[str]:
    async with request.app.state.runtime.read_session() as session:
        return [tag for tag, _ in await follows.tag_counts(session, account_id=context.account_id, actor=context.bot)]


@zalo_route("POST", "/v2.0/oa/tag/rmtag", "followers")
async def rmtag(request: Request, context: service.AppContext) -> None:
    body = await _body(request)
    if not isinstance(body.get("tag_name"), str):
        raise ZaloError(INVALID_PARAM, "tag_name is required")
    async with request.app.state.runtime.session() as session:
        await follows.remove_tag(session, account_id=context.account_id, actor=context.bot, tag=body["tag_name"])
        await commit(session)


# --- uploads -------------------------------------------------------------------------------------------------


async def _uploaded(request: Request, limit: int) -> tuple[bytes, str]:
    try:
        form = await request.form(max_part_size=limit + 1)
    except HTTPException:  # a malformed multipart body (Starlette answers it with a 400)
        raise ZaloError(INVALID_PARAM, "The body must be multipart/form-data with a file field") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ZaloError(INVALID_PARAM, "The file field is required")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ZaloError(INVALID_PARAM, "The file is too large")
    return data, upload.filename or ""


def _require_any(context: service.AppContext, *scopes: str) -> None:
    if not context.scopes.intersection(scopes):
        raise ZaloError(NOT_REGISTERED, f"The access token lacks the '{scopes[0]}' permission")


@zalo_route("POST", "/v2.0/oa/upload/image", None)
async def upload_image(request: Request, context: service.AppContext) -> dict[str, Any]:
    """`attachment_id` for a CS image message; `url`, a public copy, for an article's cover or body."""
    _require_any(context, "messages", "broadcasts")
    data, filename = await _uploaded(request, MAX_UPLOAD_BYTES)
    runtime = request.app.state.runtime
    media = media_storage(runtime.settings)
    try:
        image = clean_image(data)
        upload = await uploads.save(runtime, media, context, data=data, filename=filename or "image.jpg",
                                    kind="image")
    except AppError as exc:
        raise ZaloError(INVALID_PARAM, exc.message) from None
    key = f"accounts/{context.account_id}/{uuid.uuid4().hex}.{image.extension}"
    await media.save(key, image.data)
    return {"attachment_id": upload.token, "url": media.url_of(key)}


@zalo_route("POST", "/v2.0/oa/upload/file", "messages")
async def upload_file(request: Request, context: service.AppContext) -> dict[str, Any]:
    """A document (PDF, Office…, as conversations accept) for a CS file message: its `token`."""
    data, filename = await _uploaded(request, MAX_FILE_BYTES)
    runtime = request.app.state.runtime
    try:
        upload = await uploads.save(runtime, media_storage(runtime.settings), context, data=data,
                                    filename=filename, kind="file")
    except AppError as exc:
        raise ZaloError(INVALID_PARAM, exc.message) from None
    return {"token": upload.token}




# Articles and their broadcast register their routes on this router (a module of their own, imported last).
from loa.domains.integrations import zalo_articles  # noqa: E402, F401
