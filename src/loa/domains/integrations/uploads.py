"""Photos and documents an app uploads to send in messages: cleaned by the conversations domain's own upload
path (a photo re-encoded, so EXIF and GPS are gone; a document sniffed against the allow-list), kept under a
private key, and named by an opaque token (Zalo's `attachment_id` for images, `token` for files).

A message that uses an upload gets its own copy of the files: erasing one person's conversation (a PDP-law
request) deletes that copy and never another message's. Uploads expire after UPLOAD_TTL, as Zalo's do.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from loa.db.base import utcnow
from loa.domains.conversations.content import Content, clean_text, upload_content
from loa.domains.integrations.models import IntegrationUpload
from loa.kit.errors import Invalid, NotFound
from loa.kit.storage import MediaStorage

if TYPE_CHECKING:
    from loa.domains.integrations.service import AppContext
    from loa.runtime import Runtime

UPLOAD_TTL = timedelta(days=7)
TOKEN_SHAPE = re.compile(r"(image|file)_[A-Za-z0-9_-]{1,42}")
CAPTION_LIMIT = 500
NOT_FOUND = ("Không tìm thấy tệp đã tải lên, hoặc đã hết hạn / The uploaded attachment does not exist or has "
             "expired")


async def save(runtime: Runtime, storage: MediaStorage, context: AppContext, *, data: bytes, filename: str,
               kind: str | None = None) -> IntegrationUpload:
    """Clean and keep an upload; `kind` ("image" or "file") refuses the other kind."""
    content = await upload_content(storage, account_id=context.account_id, data=data, filename=filename)
    if kind is not None and content.kind != kind:
        await _delete(storage, content.stored_keys)
        wanted = "ảnh / an image" if kind == "image" else "tài liệu / a document"
        raise Invalid(f"Cần tải lên {wanted}", code="wrong_attachment_kind")
    now = utcnow()
    upload = IntegrationUpload(account_id=context.account_id, app_id=context.app.id,
                               token=f"{content.kind}_{secrets.token_urlsafe(24)}", kind=content.kind,
                               attachment=content.attachment or {}, created_at=now, expires_at=now + UPLOAD_TTL)
    try:
        async with runtime.session() as session:
            session.add(upload)
            await session.commit()
    except BaseException:
        await _delete(storage, content.stored_keys)
        raise
    return upload


async def content_of(runtime: Runtime, storage: MediaStorage, *, account_id: int, token: str,
                     caption: str = "") -> Content:
    """A message's content from an upload of this account, with its own copy of the files."""
    caption = clean_text(caption, limit=CAPTION_LIMIT, required=False)
    if not TOKEN_SHAPE.fullmatch(token):  # never a NUL or other oddity in a query
        raise NotFound(NOT_FOUND, code="attachment_not_found")
    async with runtime.read_session() as session:
        upload = await session.scalar(select(IntegrationUpload).where(IntegrationUpload.token == token))
    if upload is None or upload.account_id != account_id or upload.expires_at <= utcnow():
        raise NotFound(NOT_FOUND, code="attachment_not_found")
    attachment = dict(upload.attachment)
    copied: list[str] = []
    try:
        for name in ("key", "thumbnail_key"):
            if key := attachment.get(name):
                fresh = _fresh_key(key)
                data = await asyncio.to_thread(storage.path_of(key).read_bytes)
                await storage.save(fresh, data)
                copied.append(fresh)
                attachment[name] = fresh
    except FileNotFoundError:
        await _delete(storage, copied)
        raise NotFound(NOT_FOUND, code="attachment_not_found") from None
    return Content(kind=upload.kind, text=caption, attachment=attachment, stored_keys=tuple(copied))


def _fresh_key(key: str) -> str:
    folder, _, name = key.rpartition("/")
    return f"{folder}/{secrets.token_hex(16)}-{name}"


async def _delete(storage: MediaStorage, keys: tuple[str, ...] | list[str]) -> None:
    for key in keys:
        await storage.delete(key)


async def prune(runtime: Runtime, storage: MediaStorage, *, limit: int = 500) -> int:
    """Forget expired uploads and their files (messages keep their own copies)."""
    async with runtime.session() as session:
        expired = list(await session.scalars(select(IntegrationUpload).where(
            IntegrationUpload.expires_at <= utcnow()).limit(limit)))
        for upload in expired:
            await session.delete(upload)
        await session.commit()
    for upload in expired:
        await _delete(storage, [key for name in ("key", "thumbnail_key") if (key := upload.attachment.get(name))])
    return len(expired)
