"""A citizen's conversations with accounts: the list (`/me/messages`) and one conversation (`/a/{handle}/messages`),
live, where they write, send a photo or a document, or share a place.

Sending goes through the same service calls as the API (rate limit, upload checks, blocks). The forms work without
scripts (each answered by going back to the conversation); with htmx only the composer is swapped, and the
messages refresh when the live stream says something happened. A refusal is said next to what caused it.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.conversations import service
from loa.domains.conversations.content import (
    MAX_CAPTION,
    MAX_TEXT,
    Content,
    location_content,
    text_content,
    upload_content,
)
from loa.domains.conversations.models import Conversation
from loa.domains.conversations.views import chat_channel
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.kit import i18n
from loa.kit.effects import commit
from loa.kit.errors import AppError, Forbidden, NotFound, TooMany
from loa.kit.files import MAX_FILE_BYTES
from loa.kit.images import TooLarge
from loa.kit.pagination import CursorParam
from loa.kit.sessions import read_session, write_session
from loa.kit.storage import media_storage
from loa.runtime import Runtime
from loa.web.deps import page_router, page_user
from loa.web.forms import Form as FormState
from loa.web.pages import account_out, is_htmx, live_url, office_hours
from loa.web.render import pick, render, translate

router = page_router()

SHOWN = 50
CONVERSATIONS = 50
_CLIENT_REF = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
Handle = Annotated[str, Path(min_length=1, max_length=60)]
Citizen = Annotated[User, Depends(page_user)]
FormText = Annotated[str, Form(max_length=MAX_TEXT * 2)]
ACCEPTED = ("image/jpeg,image/png,image/webp,image/gif,.pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp")


@dataclass(frozen=True)
class Shown:
    """A message as the citizen's page shows it."""

    view: dict[str, Any]
    at: datetime | None
    mine: bool
    size: str
    seen: bool


def _size(request: Request, size: int | None) -> str:
    if not size:
        return ""
    lang = request.state.viewer.lang
    if size < 1024 * 1024:
        return f"{i18n.format_number(max(1, round(size / 1024)), lang)} KB"
    return f"{i18n.format_number(round(size / 1024 / 1024, 1), lang)} MB"


async def _conversation(session: AsyncSession, user: User, account_id: int) -> Conversation | None:
    try:
        return await service.citizen_conversation(session, user, account_id)
    except NotFound:  # nobody has written yet: an empty conversation, not an error
        return None


async def _messages(request: Request, session: AsyncSession, user: User, account: Account,
                    conversation: Conversation | None, cursor: str | None) -> tuple[list[Shown], str | None]:
    if conversation is None:
        return [], None
    views, older = await service.citizen_messages(session, citizen=user, account_id=account.id, cursor=cursor,
                                                  limit=SHOWN)
    views.reverse()  # oldest first, as a conversation reads
    mine = [view["id"] for view in views if view["direction"] == "in"]
    last_mine = mine[-1] if mine else None
    return [Shown(view, datetime.fromisoformat(view["created_at"]) if view.get("created_at") else None,
                  view["direction"] == "in", _size(request, (view.get("attachment") or {}).get("size")),
                  view["id"] == last_mine and view["id"] <= conversation.staff_seen_message_id)
            for view in views], older


async def _mark_seen(session: AsyncSession, user: User, conversation: Conversation | None) -> None:
    """The citizen has the conversation in front of them: the account's messages are read."""
    if conversation is not None and conversation.last_message_id > conversation.citizen_seen_message_id:
        await service.citizen_mark_seen(session, citizen=user, account_id=conversation.account_id)
        await commit(session)


def _new_ref() -> str:
    """A reference for the message the composer will send: sent twice (a double tap), it is stored once."""
    return uuid.uuid4().hex


def _composer_context(account: Account, form: FormState | None, panel: str = "") -> dict[str, Any]:
    return {"form": form or FormState(), "panel": panel, "client_ref": _new_ref(), "accepted": ACCEPTED,
            "handle": account.handle}


async def _page(request: Request, session: AsyncSession, user: User, account: Account, *, form: FormState | None = None,
                panel: str = "", cursor: str | None = None, status_code: int = 200,
                headers: dict[str, str] | None = None) -> HTMLResponse:
    conversation = await _conversation(session, user, account.id)
    shown, older = await _messages(request, session, user, account, conversation, cursor)
    if cursor is None:
        await _mark_seen(session, user, conversation)
    blocked = await follows.is_blocked(session, account.id, user.id)
    latest, _ = await service.citizen_conversations(session, citizen=user, cursor=None, limit=1)
    position = latest[0][0].last_message_id if latest else 0  # the newest message of all the citizen's conversations
    return render(request, "citizen/conversation.html", {
        "account": account_out(request, account), "messages": shown, "older": older, "earlier_page": bool(cursor),
        "blocked": blocked, "hours": office_hours(request, account.office_hours or []),
        "live": live_url("/api/v1/live", {chat_channel(user.id): position}),
        **_composer_context(account, form, panel)}, status_code=status_code, headers=headers)


@router.get("/me/messages", response_class=HTMLResponse)
async def my_conversations(request: Request, user: Citizen,
                           session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    rows, _ = await service.citizen_conversations(session, citizen=user, cursor=None, limit=CONVERSATIONS)
    return render(request, "citizen/conversations.html", {
        "conversations": [(conversation, account_out(request, account)) for conversation, account in rows]})


@router.get("/a/{handle}/messages", response_class=HTMLResponse)
async def conversation_page(request: Request, handle: Handle, user: Citizen,
                            session: Annotated[AsyncSession, Depends(write_session)],
                            cursor: CursorParam = None) -> HTMLResponse:
    account = await accounts.get_account_by_handle(session, handle)
    return await _page(request, session, user, account, cursor=cursor)


@router.get("/a/{handle}/messages/list", response_class=HTMLResponse)
async def message_list(request: Request, handle: Handle, user: Citizen,
                       session: Annotated[AsyncSession, Depends(write_session)]) -> HTMLResponse:
    """The messages alone: the open page refreshes them when the live stream says something changed."""
    account = await accounts.get_account_by_handle(session, handle)
    conversation = await _conversation(session, user, account.id)
    shown, older = await _messages(request, session, user, account, conversation, None)
    await _mark_seen(session, user, conversation)
    return render(request, "citizen/_messages.html", {"messages": shown, "older": older, "earlier_page": False,
                                                      "account": account_out(request, account)})


# --- sending ------------------------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def _account(request: Request, handle: str) -> Account:
    async with _runtime(request).read_session() as session:
        return await accounts.get_account_by_handle(session, handle)


async def _sent(request: Request, account: Account) -> Response:
    """After a message is stored: a fresh composer for htmx (the messages refresh on `loa:chat`), or back to
    the conversation for a plain form."""
    if is_htmx(request):
        return render(request, "citizen/_composer.html", _composer_context(account, None),
                      headers={"HX-Trigger": "loa:chat"})
    return RedirectResponse(f"/a/{account.handle}/messages#composer", status_code=303)


async def _refused(request: Request, user: User, account: Account, form: FormState, field: str, panel: str,
                   exc: AppError) -> Response:
    """The composer again with the refusal next to what caused it; a block or a rate limit concerns the whole."""
    form.fail("__all__" if isinstance(exc, Forbidden | TooMany) else field, pick(request, exc.message))
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
    if is_htmx(request):
        return render(request, "citizen/_composer.html", _composer_context(account, form, panel),
                      status_code=exc.status_code, headers=headers)
    async with _runtime(request).session() as session:
        return await _page(request, session, user, account, form=form, panel=panel, status_code=exc.status_code,
                           headers=headers)


async def _deliver(request: Request, user: User, account: Account, content: Content, client_ref: str) -> None:
    storage = media_storage(_runtime(request).settings) if content.stored_keys else None
    await service.send_as_citizen(_runtime(request), citizen=user, account_id=account.id, content=content,
                                  client_ref=client_ref if _CLIENT_REF.match(client_ref) else None, storage=storage)


@router.post("/a/{handle}/messages", response_class=HTMLResponse)
async def send_text(request: Request, handle: Handle, user: Citizen, text: FormText = "",
                    client_ref: Annotated[str, Form(max_length=64)] = "") -> Response:
    account = await _account(request, handle)
    form = FormState.of(text=text)
    try:
        await service.check_citizen_rate(_runtime(request), user)
        await _deliver(request, user, account, text_content(text), client_ref)
    except AppError as exc:
        return await _refused(request, user, account, form, "text", "", exc)
    return await _sent(request, account)


@router.post("/a/{handle}/messages/upload", response_class=HTMLResponse)
async def send_upload(request: Request, handle: Handle, user: Citizen,
                      file: Annotated[UploadFile | None, File()] = None,
                      caption: Annotated[str, Form(max_length=MAX_CAPTION * 2)] = "",
                      client_ref: Annotated[str, Form(max_length=64)] = "") -> Response:
    account = await _account(request, handle)
    form = FormState.of(caption=caption)
    try:
        await service.check_citizen_rate(_runtime(request), user)
        data = await file.read(MAX_FILE_BYTES + 1) if file is not None else b""
        if not data:
            form.fail("file", translate(request, "Choose a photo or a document to send."))
            return await _refused_form(request, user, account, form, "file")
        if len(data) > MAX_FILE_BYTES:
            raise TooLarge("Tệp quá lớn (tối đa 20 MB) / The file is too large (20 MB at most)")
        content = await upload_content(media_storage(_runtime(request).settings), account_id=account.id, data=data,
                                       filename=(file.filename or "") if file is not None else "",
                                       caption=caption)
        await _deliver(request, user, account, content, client_ref)
    except AppError as exc:
        return await _refused(request, user, account, form, "caption" if exc.code == "message_too_long" else "file",
                              "file", exc)
    return await _sent(request, account)


async def _refused_form(request: Request, user: User, account: Account, form: FormState, panel: str) -> Response:
    """A form the page itself refuses (nothing was sent to the service)."""
    if is_htmx(request):
        return render(request, "citizen/_composer.html", _composer_context(account, form, panel), status_code=422)
    async with _runtime(request).session() as session:
        return await _page(request, session, user, account, form=form, panel=panel, status_code=422)


def _coordinate(value: str) -> float | None:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@router.post("/a/{handle}/messages/location", response_class=HTMLResponse)
async def send_location(request: Request, handle: Handle, user: Citizen,
                        latitude: Annotated[str, Form(max_length=40)] = "",
                        longitude: Annotated[str, Form(max_length=40)] = "",
                        note: Annotated[str, Form(max_length=MAX_CAPTION * 2)] = "",
                        client_ref: Annotated[str, Form(max_length=64)] = "") -> Response:
    account = await _account(request, handle)
    form = FormState.of(latitude=latitude, longitude=longitude, note=note)
    lat, lon = _coordinate(latitude), _coordinate(longitude)
    if lat is None or lon is None:
        form.fail("latitude", translate(request, "Place the pin on the map, use your location, or type the "
                                                 "coordinates."))
        return await _refused_form(request, user, account, form, "location")
    try:
        await service.check_citizen_rate(_runtime(request), user)
        async with _runtime(request).read_session() as session:
            content = await location_content(session, lat, lon, note)
        await _deliver(request, user, account, content, client_ref)
    except AppError as exc:
        return await _refused(request, user, account, form, "note" if exc.code == "message_too_long" else "latitude",
                              "location", exc)
    return await _sent(request, account)
