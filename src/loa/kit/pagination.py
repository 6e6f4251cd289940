"""Cursor pagination for list endpoints: `?cursor=&limit=` in, `{"items": [...], "next_cursor": ...}` out."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from loa.kit.errors import Invalid

T = TypeVar("T")

MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor stands for; a cursor we did not make is refused with 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise Invalid("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor") from exc
    if not isinstance(position, dict):
        raise Invalid("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor")
    return position


def cursor_int(position: dict[str, Any] | None, key: str, *, minimum: int = 0) -> int | None:
    """An integer field of a decoded cursor, validated."""
    if position is None:
        return None
    value = position.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise Invalid("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor")
    return value


CursorParam = Annotated[str | None, Query(max_length=500, description="Opaque cursor from `next_cursor`.")]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
