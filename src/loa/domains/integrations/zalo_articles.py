"""Zalo's articles on `/zalo`, mapped onto Loa's broadcasts (see docs/api.md, "Articles").

An article is a broadcast of kind `article`: `v2.0/article/create` writes a **draft** (nobody sees it yet), and
Zalo's broadcast of an article (`POST v2.0/oa/message` with `media_type: "article"`) publishes it to the account's
followers, through the same approval rules as the console (verified accounts only, the daily quota). Zalo's
`status` "show"/"hide" is read back as published or not. `remove` deletes a draft and withdraws a published article
(followers see that it was withdrawn). Zalo's article body (text and image blocks) becomes Markdown; the author
and description, which broadcasts do not have, are folded into the body.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import Request

from loa.domains.broadcasts import service as broadcasts
from loa.domains.broadcasts.models import Broadcast
from loa.domains.integrations import service
from loa.domains.integrations.zalo import BAD_TYPE, INVALID_PARAM, ZaloError, _body, _data, _int, zalo_route
from loa.kit.effects import commit

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_BLOCKS = 200
REMOVED = "Gỡ qua API / Removed through the API"


def _text(value: Any, name: str, limit: int, *, required: bool = False, lines: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ZaloError(INVALID_PARAM, f"{name} must be a string")
    value = value.strip()
    if (_CONTROL.search(value) if lines else any(ord(char) < 32 or ord(char) == 127 for char in value)):
        raise ZaloError(INVALID_PARAM, f"{name} contains control characters")
    if required and not value:
        raise ZaloError(INVALID_PARAM, f"{name} is required")
    if len(value) > limit:
        raise ZaloError(INVALID_PARAM, f"{name} is too long ({limit} characters at most)")
    return value


def _url(value: Any, name: str) -> str:
    url = _text(value, name, 500, required=True)
    if not (url.startswith(("https://", "http://", "/media/")) and not any(char.isspace() for char in url)
            and ")" not in url):
        raise ZaloError(INVALID_PARAM, f"{name} must be an http(s) address or an uploaded image's url")
    return url


def _block(item: Any) -> str:
    if not isinstance(item, dict):
        raise ZaloError(INVALID_PARAM, "body items must be objects")
    if item.get("type") == "text":
        return _text(item.get("content"), "body.content", 50_000, required=True, lines=True)
    if item.get("type") == "image":
        caption = _text(item.get("caption"), "body.caption", 300).replace("]", "")
        return f"![{caption}]({_url(item.get('url'), 'body.url')})"
    raise ZaloError(INVALID_PARAM, "Only text and image blocks are supported")


def _article(body: dict[str, Any]) -> dict[str, Any]:
    """The broadcast fields of a Zalo article body."""
    if body.get("type", "normal") != "normal":
        raise ZaloError(INVALID_PARAM, "Only normal articles are supported (no video)")
    blocks = body.get("body", [])
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise ZaloError(INVALID_PARAM, f"body must be a list of at most {MAX_BLOCKS} blocks")
    description = _text(body.get("description"), "description", 500)
    author = _text(body.get("author"), "author", 100)
    parts = [description] if description else []
    parts += [_block(item) for item in blocks]
    if author:
        parts.append(f"— {author}")
    cover = body.get("cover")
    cover_url = None
    if cover is not None:
        if not isinstance(cover, dict):
            raise ZaloError(INVALID_PARAM, "cover must be an object")
        cover_url = _url(cover.get("photo_url"), "cover.photo_url") if cover.get("photo_url") else None
    return {"title": _text(body.get("title"), "title", 200, required=True), "body": "\n\n".join(parts),
            "cover_url": cover_url}


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _status(broadcast: Broadcast) -> str:
    return "show" if broadcast.status == "published" else "hide"


def _link(request: Request, broadcast: Broadcast) -> str:
    base = (request.app.state.runtime.settings.public_url or "").rstrip("/")
    return f"{base}/broadcasts/{broadcast.id}"


def _summary(request: Request, broadcast: Broadcast) -> dict[str, Any]:
    return {"id": str(broadcast.id), "type": "normal", "title": broadcast.title, "status": _status(broadcast),
            "thumb": broadcast.cover_url or "", "link": _link(request, broadcast),
            "create_date": _ms(broadcast.created_at), "update_date": _ms(broadcast.updated_at)}


async def _article_of(session: Any, context: service.AppContext, raw: Any) -> Broadcast:
    broadcast = await broadcasts.staff_broadcast(session, _int(raw, "id", low=1), context.bot)
    if broadcast.kind != "article":
        raise ZaloError(INVALID_PARAM, "id is not an article")
    return broadcast


def _param(request: Request, name: str) -> Any:
    """Zalo's article GETs take ordinary query parameters; the OA API's JSON `data` is accepted too."""
    value = request.query_params.get(name)
    return value if value is not None else _data(request).get(name)


@zalo_route("POST", "/v2.0/article/create", "broadcasts")
async def create(request: Request, context: service.AppContext) -> dict[str, Any]:
    fields = _article(await _body(request))
    async with request.app.state.runtime.session() as session:
        article = await broadcasts.create_draft(session, account_id=context.account_id, actor=context.bot,
                                                kind="article", **fields)
        await commit(session)
    # Zalo processes an article asynchronously and answers a token to verify; Loa's is ready at once.
    return {"token": str(article.id), "id": str(article.id)}


@zalo_route("POST", "/v2.0/article/verify", "broadcasts")
async def verify(request: Request, context: service.AppContext) -> dict[str, Any]:
    token = (await _body(request)).get("token")
    async with request.app.state.runtime.read_session() as session:
        article = await _article_of(session, context, token)
    return {"id": str(article.id)}


@zalo_route("POST", "/v2.0/article/update", "broadcasts")
async def update(request: Request, context: service.AppContext) -> dict[str, Any]:
    body = await _body(request)
    fields = _article(body)
    async with request.app.state.runtime.session() as session:
        article = await _article_of(session, context, body.get("id"))
        await broadcasts.edit_draft(session, broadcast_id=article.id, actor=context.bot, changes=fields)
        await commit(session)
    return {"token": str(article.id), "id": str(article.id)}


@zalo_route("POST", "/v2.0/article/remove", "broadcasts")
async def remove(request: Request, context: service.AppContext) -> None:
    raw = (await _body(request)).get("id")
    async with request.app.state.runtime.session() as session:
        article = await _article_of(session, context, raw)
        if article.status in ("published", "scheduled"):
            await broadcasts.withdraw(session, broadcast_id=article.id, actor=context.bot, reason=REMOVED)
            if article.status == "draft":  # a scheduled one went back to draft: it goes too
                await broadcasts.delete_draft(session, broadcast_id=article.id, actor=context.bot)
        else:
            await broadcasts.delete_draft(session, broadcast_id=article.id, actor=context.bot)
        await commit(session)


@zalo_route("GET", "/v2.0/article/getslice", "broadcasts")
async def getslice(request: Request, context: service.AppContext) -> dict[str, Any]:
    offset = _int(_param(request, "offset"), "offset", default=0, high=1_000_000)
    limit = _int(_param(request, "limit"), "limit", default=10, low=1, high=50)
    kind = _param(request, "type") or "normal"
    if kind not in ("normal", "video"):
        raise ZaloError(INVALID_PARAM, "type must be normal or video")
    async with request.app.state.runtime.read_session() as session:
        total, rows = await broadcasts.article_slice(session, account_id=context.account_id, actor=context.bot,
                                                     offset=offset, limit=limit)
    if kind == "video":  # Loa has no videos
        total, rows = 0, []
    return {"medias": [_summary(request, row) for row in rows], "total": total}


@zalo_route("GET", "/v2.0/article/getdetail", "broadcasts")
async def getdetail(request: Request, context: service.AppContext) -> dict[str, Any]:
    async with request.app.state.runtime.read_session() as session:
        article = await _article_of(session, context, _param(request, "id"))
    return _summary(request, article) | {
        "author": "", "description": "", "comment": "hide",
        "cover": {"cover_type": "photo", "photo_url": article.cover_url or "", "status": "show"},
        "body": [{"type": "text", "content": article.body_html}]}


def _article_id(body: dict[str, Any]) -> Any:
    """The article a Zalo broadcast names, after refusing targeting Loa cannot honour."""
    recipient, message = body.get("recipient"), body.get("message")
    if not isinstance(recipient, dict) or not isinstance(message, dict):
        raise ZaloError(INVALID_PARAM, "recipient and message are required")
    target = recipient.get("target") or {}
    if not isinstance(target, dict) or any(value not in (None, "", []) for value in target.values()):
        # Zalo's age, gender, telco and old city codes have no meaning in Loa: sending to everyone instead
        # would reach people the agency did not mean to reach.
        raise ZaloError(INVALID_PARAM, "Targeting by Zalo codes is not supported: use Loa's native API "
                                       "(provinces, communes, tags)")
    attachment = message.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    elements = payload.get("elements") if isinstance(payload, dict) else None
    if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict) \
            or elements[0].get("media_type") != "article":
        raise ZaloError(BAD_TYPE, "Only articles can be broadcast")
    return elements[0].get("attachment_id")


@zalo_route("POST", "/v2.0/oa/message", "broadcasts")
async def broadcast(request: Request, context: service.AppContext) -> dict[str, Any]:
    raw = _article_id(await _body(request))
    async with request.app.state.runtime.session() as session:
        article = await _article_of(session, context, raw)
        await broadcasts.approve(session, broadcast_id=article.id, actor=context.bot)
        await commit(session)
    return {"message_id": str(article.id)}
