"""What a message carries, checked before anything is stored: text, an image, a file, a place or a link.

Images are re-encoded (EXIF/GPS gone) with a thumbnail; files are sniffed against an allow-list; both are
stored under `private/` keys, served only to the conversation's two sides. A place is resolved to its
commune. Anything wrong is refused with a clear 4xx and nothing is kept.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import filetype
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo import service as geo
from loa.kit.errors import Invalid
from loa.kit.files import clean_file, display_name
from loa.kit.images import clean_image, make_thumbnail
from loa.kit.storage import MediaStorage
from loa.kit.text import fold, nfc

MAX_TEXT = 2000
MAX_CAPTION = 500
MAX_URL = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
IMAGE_NAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


@dataclass(frozen=True)
class Content:
    kind: str
    text: str = ""
    attachment: dict[str, Any] | None = None
    latitude: float | None = None
    longitude: float | None = None
    commune_code: str | None = None
    url: str | None = None
    # Keys written to storage for this content: removed again if the message is refused.
    stored_keys: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def text_folded(self) -> str:
        return fold(self.text) if self.text else ""

    @property
    def preview(self) -> str:
        """One line for the inbox list."""
        if self.kind == "text":
            return _one_line(self.text)[:120]
        label = {"image": "[Ảnh]", "file": "[Tệp]", "location": "[Vị trí]", "link": "[Liên kết]"}[self.kind]
        detail = self.text or (self.attachment or {}).get("name") or (self.attachment or {}).get("commune_name") \
            or self.url or ""
        return f"{label} {_one_line(detail)}".strip()[:120]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def clean_text(text: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
    """NFC, control characters out (newlines and tabs kept), trimmed; empty or too long refused."""
    cleaned = _CONTROL.sub("", nfc(text)).strip()
    if required and not cleaned:
        raise Invalid("Tin nhắn không được để trống / The message is empty", code="empty_message")
    if len(cleaned) > limit:
        raise Invalid(f"Tin nhắn quá dài (tối đa {limit} ký tự) / The message is too long ({limit} characters at most)",
                      code="message_too_long")
    return cleaned


def text_content(text: str) -> Content:
    return Content(kind="text", text=clean_text(text))


def link_content(url: str, text: str = "") -> Content:
    url = url.strip()
    parts = urlsplit(url) if len(url) <= MAX_URL else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise Invalid("Liên kết phải là địa chỉ http(s) hợp lệ / The link must be a valid http(s) address",
                      code="invalid_url")
    return Content(kind="link", url=url, text=clean_text(text, limit=MAX_CAPTION, required=False))


async def location_content(session: AsyncSession, latitude: float, longitude: float, text: str = "") -> Content:
    """A place in Vietnam, with the commune whose centre is nearest."""
    nearest = await geo.nearest_commune(session, latitude, longitude)
    commune = nearest.commune
    place = {"commune_code": commune.code, "commune_name": commune.name, "province_code": commune.province_code,
             "province_name": commune.province_name}
    return Content(kind="location", latitude=round(latitude, 6), longitude=round(longitude, 6),
                   commune_code=commune.code, attachment=place,
                   text=clean_text(text, limit=MAX_CAPTION, required=False))


def _private_key(account_id: int, extension: str, suffix: str = "") -> str:
    return f"private/conversations/{account_id}/{uuid.uuid4().hex}{suffix}.{extension}"


async def upload_content(storage: MediaStorage, *, account_id: int, data: bytes, filename: str,
                         caption: str = "") -> Content:
    """An uploaded photo (by its name or its bytes) becomes an image message, anything else a file message."""
    caption = clean_text(caption, limit=MAX_CAPTION, required=False)
    if filename.lower().endswith(IMAGE_NAME_SUFFIXES) or filetype.image_match(data) is not None:
        return await _image_content(storage, account_id=account_id, data=data, filename=filename, caption=caption)
    cleaned = clean_file(data, filename)
    key = _private_key(account_id, cleaned.extension)
    await storage.save(key, cleaned.data)
    attachment = {"key": key, "content_type": cleaned.content_type, "size": cleaned.size, "name": cleaned.name}
    return Content(kind="file", text=caption, attachment=attachment, stored_keys=(key,))


async def _image_content(storage: MediaStorage, *, account_id: int, data: bytes, filename: str,
                         caption: str) -> Content:
    image = clean_image(data)
    thumbnail = make_thumbnail(image)
    key = _private_key(account_id, image.extension)
    thumbnail_key = key.rsplit(".", 1)[0] + f"-thumb.{thumbnail.extension}"
    await storage.save(key, image.data)
    await storage.save(thumbnail_key, thumbnail.data)
    attachment = {"key": key, "thumbnail_key": thumbnail_key, "content_type": image.content_type,
                  "size": len(image.data), "width": image.width, "height": image.height,
                  "name": display_name(filename, image.extension)}
    return Content(kind="image", text=caption, attachment=attachment, stored_keys=(key, thumbnail_key))
