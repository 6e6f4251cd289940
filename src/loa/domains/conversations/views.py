"""How messages and conversation events look to each side.

Staff see who of them wrote a reply; the citizen sees the account only. Live events are stored in the
staff's form; `citizen_event` derives the citizen's, for live delivery and replay alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

ATTACHMENT_PATH = "/api/v1/messages/{id}/attachment"
THUMBNAIL_PATH = "/api/v1/messages/{id}/thumbnail"


def inbox_channel(account_id: int) -> str:
    """The live channel of an account's inbox (staff who answer it)."""
    return f"inbox:{account_id}"


def chat_channel(citizen_id: int) -> str:
    """The live channel of one citizen's conversations with every account."""
    return f"chat:{citizen_id}"


@lru_cache(maxsize=1024)  # a batch of messages shares one moment
def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_view(row: Mapping[str, Any], *, sent_by_name: str | None = None, staff: bool) -> dict[str, Any]:
    """A message as the API and live events give it. `row` has the messages table's columns."""
    message_id = row["id"]
    attachment = row.get("attachment")
    shown_attachment = None
    location = None
    if row["kind"] in ("image", "file") and attachment:
        shown_attachment = {
            "url": ATTACHMENT_PATH.format(id=message_id),
            "thumbnail_url": THUMBNAIL_PATH.format(id=message_id) if attachment.get("thumbnail_key") else None,
            "name": attachment.get("name"),
            "content_type": attachment.get("content_type"),
            "size": attachment.get("size"),
            "width": attachment.get("width"),
            "height": attachment.get("height"),
        }
    elif row["kind"] == "location":
        place = attachment or {}
        location = {"latitude": row.get("latitude"), "longitude": row.get("longitude"),
                    "commune_code": row.get("commune_code"), "commune_name": place.get("commune_name"),
                    "province_name": place.get("province_name")}
    view: dict[str, Any] = {
        "id": message_id,
        "conversation_id": row["conversation_id"],
        "account_id": row["account_id"],
        "direction": row["direction"],
        "kind": row["kind"],
        "text": row.get("text") or "",
        "attachment": shown_attachment,
        "location": location,
        "url": row.get("url"),
        "auto": row.get("auto"),
        "client_ref": row.get("client_ref"),
        "created_at": _iso(row["created_at"]),
    }
    if staff:
        sent_by = row.get("sent_by")
        view["sent_by"] = {"id": sent_by, "name": sent_by_name or ""} if sent_by is not None else None
    return view


def conversation_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """What an inbox row shows, carried by live events so that open inboxes update in place."""
    return {
        "id": row["id"],
        "state": row["state"],
        "assigned_to": row["assigned_to"],
        "has_unread": bool(row["has_unread"]),
        "staff_unread": row["staff_unread"],
        "citizen_unread": row["citizen_unread"],
        "last_message_id": row["last_message_id"],
        "last_message_at": _iso(row["last_message_at"]),
        "preview": row["last_message_preview"],
    }


def message_event(row: Mapping[str, Any], summary: Mapping[str, Any], *,
                  sent_by_name: str | None) -> dict[str, Any]:
    """The body of a `message` event (staff's form): the message and its conversation's inbox row."""
    return {"conversation_id": row["conversation_id"], "account_id": row["account_id"],
            "message": message_view(row, sent_by_name=sent_by_name, staff=True), "conversation": dict(summary)}


def live_payload(event_id: int, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event as sent on the inbox channel: its id is the SSE id."""
    return {"id": event_id, "type": event_type, **payload}


_STAFF_ONLY = frozenset({"conversation", "sent_by", "actor"})


def citizen_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The citizen's form of an inbox event: no staff identities, no internal conversation state."""
    shown = {key: value for key, value in event.items() if key not in _STAFF_ONLY}
    message = event.get("message")
    if isinstance(message, dict):
        shown["message"] = message.copy()
        shown["message"].pop("sent_by", None)
    conversation = event.get("conversation")
    if isinstance(conversation, dict):
        shown["unread"] = conversation.get("citizen_unread", 0)
    return shown
