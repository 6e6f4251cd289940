"""Zalo-format webhooks: an endpoint that chose `format: "zalo"` gets Zalo OA's event shape, signed the way
Zalo signs (`X-ZEvent-Signature: mac=` + SHA-256 of app_id + body + timestamp + OA secret key). The signature
is recomputed here from that description with hashlib, not with Loa's code."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from httpx import AsyncClient
from PIL import Image
from tests.domains.integrations.helpers import Receiver, Tenant, bearer, eventually, get_tokens, make_app, make_tenant
from tests.factories import make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime

CHAT_EVENTS = ["follow", "unfollow", "message.received", "message.sent", "message.seen"]


async def _zalo_endpoint(tenant: Tenant, url: str, events: list[str]) -> dict[str, Any]:
    response = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/webhooks",
                                          json={"url": url, "events": events, "format": "zalo"})
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "zalo"
    return response.json()


def _verified(received: Any, secret: str) -> dict[str, Any]:
    """What a Zalo receiver does: parse, take app_id and timestamp from the body, recompute the mac."""
    body = received.body.decode()
    event = json.loads(body)
    expected = hashlib.sha256((event["app_id"] + body + event["timestamp"] + secret).encode()).hexdigest()
    assert received.headers["x-zevent-signature"] == f"mac={expected}"
    return event


def _photo() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (21.0, 1.0, 30.0)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 30)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


async def test_a_zalo_endpoint_gets_zalo_events_signed_the_zalo_way(runtime: Runtime, client_as,
                                                                    receiver: Receiver, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _zalo_endpoint(tenant, receiver.url, CHAT_EVENTS)
    citizen = await make_user(runtime, name="Trần Thị Bình")
    oa_id, user_id = str(tenant.account.id), str(citizen.id)
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=tenant.account.id)
        await commit(session)
    await conversations.send_as_citizen(runtime, citizen=citizen, account_id=tenant.account.id,
                                        content=Content(kind="text", text="Xin chào"))
    as_citizen = await client_as(citizen)
    photo = await as_citizen.post(f"/api/v1/accounts/{tenant.account.id}/conversation/uploads",
                                  files={"file": ("nha.jpg", _photo(), "image/jpeg")})
    assert photo.status_code == 201, photo.text
    await eventually(lambda: _count(receiver, 3))

    follow, text, image = (_verified(item, endpoint["secret"]) for item in receiver.received)
    assert follow["event_name"] == "follow" and follow["app_id"] == endpoint["id"]
    assert follow["oa_id"] == oa_id and follow["follower"] == {"id": user_id}
    assert follow["timestamp"].isdigit() and len(follow["timestamp"]) == 13  # milliseconds
    assert text["event_name"] == "user_send_text"
    assert text["sender"] == {"id": user_id} and text["recipient"] == {"id": oa_id}
    assert text["message"]["text"] == "Xin chào" and text["message"]["msg_id"]
    assert image["event_name"] == "user_send_image"
    [attachment] = image["message"]["attachments"]
    assert attachment["type"] == "image"
    assert attachment["payload"]["url"].endswith(f"/api/v1/oa/messages/{photo.json()['id']}/attachment")
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]  # the receiver's app fetches it
    fetched = await client.get(attachment["payload"]["url"], headers=bearer(token))
    assert fetched.status_code == 200 and not Image.open(io.BytesIO(fetched.content)).getexif()  # no GPS

    tampered = receiver.received[1]
    body = tampered.body.replace("Xin chào".encode(), "Tạm biệt".encode())
    event = json.loads(body)
    forged = hashlib.sha256((event["app_id"] + body.decode() + event["timestamp"] + endpoint["secret"])
                            .encode()).hexdigest()
    assert tampered.headers["x-zevent-signature"] != f"mac={forged}"


async def test_oa_replies_and_read_receipts_in_zalo_shape(runtime: Runtime, client_as, receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _zalo_endpoint(tenant, receiver.url, ["message.sent", "message.seen"])
    citizen = await make_user(runtime)
    stored = await conversations.send_as_citizen(runtime, citizen=citizen, account_id=tenant.account.id,
                                                 content=Content(kind="text", text="Hỏi giờ làm việc"))
    async with runtime.read_session() as session:
        conversation = await conversations.staff_conversation(session, tenant.owner, stored.row["conversation_id"])
    reply = await conversations.send_as_staff(runtime, actor=tenant.owner, conversation=conversation,
                                              content=Content(kind="text", text="Từ 7 giờ 30."))
    async with runtime.session() as session:
        await conversations.citizen_mark_seen(session, citizen=citizen, account_id=tenant.account.id)
        await commit(session)
    await eventually(lambda: _count(receiver, 2))
    sent, seen = (_verified(item, endpoint["secret"]) for item in receiver.received)
    assert sent["event_name"] == "oa_send_text" and sent["sender"] == {"id": str(tenant.account.id)}
    assert sent["recipient"] == {"id": str(citizen.id)} and sent["message"]["text"] == "Từ 7 giờ 30."
    assert seen["event_name"] == "user_seen_message"
    assert seen["message"] == {"msg_ids": [str(reply.row["id"])]}


async def test_the_format_is_checked_against_the_events(runtime: Runtime, client_as) -> None:
    tenant = await make_tenant(runtime, client_as)
    url = f"/api/v1/accounts/{tenant.account.id}/webhooks"
    for body in ({"url": "https://example.vn/h", "events": ["report.created"], "format": "zalo"},
                 {"url": "https://example.vn/h", "events": ["follow"], "format": "xml"},
                 {"url": "https://example.vn/h", "events": ["follow"], "format": "zalo\x00"}):
        response = await tenant.as_owner.post(url, json=body)
        assert response.status_code == 422, body
        assert "error" in response.json()
    assert (await tenant.as_owner.get(url)).json() == []

    loa = (await tenant.as_owner.post(url, json={"url": "https://example.vn/h",
                                                  "events": ["follow", "report.created"]})).json()
    assert loa["format"] == "loa"
    refused = await tenant.as_owner.patch(f"{url}/{loa['id']}", json={"format": "zalo"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_events"
    [unchanged] = (await tenant.as_owner.get(url)).json()
    assert unchanged["format"] == "loa" and unchanged["events"] == ["follow", "report.created"]
    changed = await tenant.as_owner.patch(f"{url}/{loa['id']}", json={"format": "zalo", "events": ["follow"]})
    assert changed.status_code == 200 and changed.json()["format"] == "zalo"
    bad_url = await tenant.as_owner.patch(f"{url}/{loa['id']}", json={"url": "https://example.vn/h\x00x"})
    assert bad_url.status_code == 422


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n
