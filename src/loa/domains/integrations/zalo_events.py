"""Webhook bodies in Zalo OA's event shape, for receivers written for Zalo (reference/zalo-oa-api.md, "Webhook").

A delivery keeps Loa's own payload (the delivery log shows it); a `zalo` endpoint is sent this translation of
it, computed again identically on every retry, signed the Zalo way:
`X-ZEvent-Signature: mac=<hex SHA-256 of app_id + body + timestamp + secret>`, where `app_id` and `timestamp`
are the body's own fields and the secret is the endpoint's. Only the events Zalo has a name for can be chosen
by a `zalo` endpoint (ZALO_EVENT_TYPES).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

ZALO_EVENT_TYPES = ("follow", "unfollow", "message.received", "message.sent", "message.seen")
# Loa's message kinds → the suffix of Zalo's event names (`user_send_…`, `oa_send_…`).
_USER_SENDS = {"text": "text", "image": "image", "file": "file", "location": "location", "link": "link"}
_OA_SENDS = {"text": "text", "image": "image", "file": "file"}  # a place or a link the OA sends: a text echo


def _ms(iso: str) -> str:
    return str(int(datetime.fromisoformat(iso).timestamp() * 1000))


def _attachments(message: dict[str, Any], base_url: str) -> list[dict[str, Any]]:
    kind = message.get("kind")
    attachment = message.get("attachment") or {}
    if kind in ("image", "file") and attachment:
        # The app's own download route (its token opens it), not the console's (a staff session does).
        url = f"{base_url}/api/v1/oa/messages/{message.get('id')}/attachment"
        return [{"type": kind, "payload": {"url": url, "name": attachment.get("name"),
                                           "size": attachment.get("size")}}]
    if kind == "location" and message.get("location"):
        place = message["location"]
        return [{"type": "location", "payload": {"coordinates": {"latitude": place.get("latitude"),
                                                                 "longitude": place.get("longitude")}}}]
    if kind == "link" and message.get("url"):
        return [{"type": "link", "payload": {"url": message["url"]}}]
    return []


def _message_event(payload: dict[str, Any], base: dict[str, Any], base_url: str) -> dict[str, Any]:
    data = payload["data"]
    message = data.get("message") or {}
    oa, user = {"id": payload["account_id"]}, {"id": data["user_id"]}
    inbound = payload["type"] == "message.received"
    kind = str(message.get("kind"))
    name = f"user_send_{_USER_SENDS.get(kind, 'text')}" if inbound else f"oa_send_{_OA_SENDS.get(kind, 'text')}"
    shown: dict[str, Any] = {"msg_id": str(message.get("id")), "text": message.get("text") or ""}
    if attachments := _attachments(message, base_url):
        shown["attachments"] = attachments
    return base | {"event_name": name, "sender": user if inbound else oa, "recipient": oa if inbound else user,
                   "user_id_by_app": data["user_id"], "message": shown}


def zalo_event(payload: dict[str, Any], *, app_id: str, base_url: str = "") -> dict[str, Any]:
    """Loa's webhook payload (`{"id","type","created_at","account_id","data"}`) in Zalo's shape."""
    base = {"app_id": app_id, "timestamp": _ms(payload["created_at"])}
    kind, data = payload["type"], payload["data"]
    if kind in ("follow", "unfollow"):
        return base | {"oa_id": payload["account_id"], "event_name": kind, "follower": {"id": data["user_id"]},
                       "user_id_by_app": data["user_id"]}
    if kind == "message.seen":
        return base | {"event_name": "user_seen_message", "sender": {"id": data["user_id"]},
                       "recipient": {"id": payload["account_id"]}, "user_id_by_app": data["user_id"],
                       "message": {"msg_ids": [data["message_id"]]}}
    if kind in ("message.received", "message.sent"):
        return _message_event(payload, base, base_url)
    raise ValueError(f"no Zalo event for {kind}")  # endpoints cannot choose these (ZALO_EVENT_TYPES)


def zalo_signature(app_id: str, body: str, timestamp: str, secret: str) -> str:
    digest = hashlib.sha256((app_id + body + timestamp + secret).encode()).hexdigest()
    return f"mac={digest}"


def zalo_request(payload: dict[str, Any], *, app_id: str, secret: str,
                 base_url: str = "") -> tuple[str, dict[str, str]]:
    """The body and headers of one Zalo-format delivery."""
    event = zalo_event(payload, app_id=app_id, base_url=base_url)
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return body, {"X-ZEvent-Signature": zalo_signature(app_id, body, event["timestamp"], secret),
                  "content-type": "application/json", "user-agent": "Loa-Webhooks/1"}
