"""Photos and documents in messages, sent by an app: uploaded once (a photo loses its EXIF/GPS), sent through the
native API or Zalo's `v3.0/oa/message/cs` with `attachment_id` / file `token`, seen by the citizen, and
downloadable by the app. Another account's upload, an unknown one or a bad shape is refused and sends nothing."""

from __future__ import annotations

import io
from typing import Any

from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from tests.domains.integrations.helpers import Tenant, bearer, get_tokens, make_app, make_tenant
from tests.factories import make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.conversations.models import Message
from loa.domains.people.models import User
from loa.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (21.0, 1.0, 30.0)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 30, 30)).save(buffer, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif().get_ifd(0x8825)
    return buffer.getvalue()


async def _token(client: AsyncClient, tenant: Tenant, scopes: list[str] | None = None) -> str:
    return (await get_tokens(client, await make_app(tenant, scopes)))["access_token"]


async def _conversation(runtime: Runtime, citizen: User, account_id: int) -> int:
    stored = await conversations.send_as_citizen(runtime, citizen=citizen, account_id=account_id,
                                                 content=Content(kind="text", text="Xin gửi mẫu đơn"))
    return int(stored.row["conversation_id"])


async def _messages(runtime: Runtime) -> int:
    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_an_app_sends_a_photo_and_a_document(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    citizen = await make_user(runtime)
    conversation_id = await _conversation(runtime, citizen, tenant.account.id)
    headers = bearer(await _token(client, tenant))

    photo = await client.post("/api/v1/oa/media/attachments", headers=headers,
                              files={"file": ("so-do.jpg", _photo_with_gps(), "image/jpeg")})
    assert photo.status_code == 201, photo.text
    assert photo.json()["kind"] == "image" and photo.json()["width"] == 80
    document = await client.post("/api/v1/oa/media/attachments", headers=headers,
                                 files={"file": ("Mẫu đơn.pdf", PDF, "application/pdf")})
    assert document.status_code == 201 and document.json()["kind"] == "file"

    url = f"/api/v1/oa/conversations/{conversation_id}/messages"
    sent_photo = await client.post(url, headers=headers, json={"attachment_id": photo.json()["attachment_id"],
                                                               "text": "Sơ đồ đường đi"})
    assert sent_photo.status_code == 201, sent_photo.text
    assert sent_photo.json()["kind"] == "image" and sent_photo.json()["text"] == "Sơ đồ đường đi"
    sent_document = await client.post(url, headers=headers, json={"attachment_id": document.json()["attachment_id"]})
    assert sent_document.status_code == 201 and sent_document.json()["kind"] == "file"
    assert sent_document.json()["attachment"]["name"] == "Mẫu đơn.pdf"

    # The citizen gets both; the photo carries no EXIF (so no GPS); the app can download what it sent.
    as_citizen = await client_as(citizen)
    mine = (await as_citizen.get(f"/api/v1/accounts/{tenant.account.id}/conversation/messages")).json()["items"]
    assert [item["kind"] for item in mine[:2]] == ["file", "image"]
    served = await as_citizen.get(mine[1]["attachment"]["url"])
    assert served.status_code == 200 and not Image.open(io.BytesIO(served.content)).getexif()
    downloaded = await client.get(f"/api/v1/oa/messages/{sent_document.json()['id']}/attachment", headers=headers)
    assert downloaded.status_code == 200 and downloaded.content == PDF


async def test_bad_attachments_are_refused_and_send_nothing(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    citizen = await make_user(runtime)
    conversation_id = await _conversation(runtime, citizen, tenant.account.id)
    headers = bearer(await _token(client, tenant))
    foreign = await client.post("/api/v1/oa/media/attachments", headers=bearer(await _token(client, other)),
                                files={"file": ("a.pdf", PDF, "application/pdf")})
    assert foreign.status_code == 201
    before = await _messages(runtime)

    url = f"/api/v1/oa/conversations/{conversation_id}/messages"
    for body, status in (({"attachment_id": foreign.json()["attachment_id"]}, 404),
                         ({"attachment_id": "file_unknown"}, 404),
                         ({"attachment_id": "file_\x00bad"}, 404),
                         ({"text": ""}, 422),
                         ({"text": "xin\x00chào"}, 201)):  # control characters are removed, not stored
        response = await client.post(url, headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
        if status != 201:
            assert "error" in response.json()
    assert await _messages(runtime) == before + 1
    for name, data in (("virus.exe", b"MZ\x90\x00" * 10), ("anh.jpg", PDF), ("rong.pdf", b"")):
        refused = await client.post("/api/v1/oa/media/attachments", headers=headers,
                                    files={"file": (name, data, "application/octet-stream")})
        assert refused.status_code in (413, 415, 422), (name, refused.text)
    no_scope = bearer(await _token(client, tenant, ["followers"]))
    assert (await client.post("/api/v1/oa/media/attachments", headers=no_scope,
                              files={"file": ("a.pdf", PDF, "application/pdf")})).status_code == 403


async def _zalo(client: AsyncClient, token: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(f"/zalo/{path}", headers={"access_token": token}, **kwargs)
    assert response.status_code == 200
    return response.json()


async def test_zalo_clients_send_images_and_files(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    citizen = await make_user(runtime)
    await _conversation(runtime, citizen, tenant.account.id)
    token = await _token(client, tenant)

    image = await _zalo(client, token, "v2.0/oa/upload/image",
                        files={"file": ("anh.jpg", _photo_with_gps(), "image/jpeg")})
    assert image["error"] == 0, image
    document = await _zalo(client, token, "v2.0/oa/upload/file", files={"file": ("don.pdf", PDF, "application/pdf")})
    assert document["error"] == 0 and document["data"]["token"]
    recipient = {"user_id": str(citizen.id)}
    media = {"type": "template", "payload": {"template_type": "media", "elements": [
        {"media_type": "image", "attachment_id": image["data"]["attachment_id"]}]}}
    sent = await _zalo(client, token, "v3.0/oa/message/cs",
                       json={"recipient": recipient, "message": {"text": "Ảnh hiện trường", "attachment": media}})
    assert sent["error"] == 0, sent
    sent_file = await _zalo(client, token, "v3.0/oa/message/cs", json={"recipient": recipient, "message": {
        "attachment": {"type": "file", "payload": {"token": document["data"]["token"]}}}})
    assert sent_file["error"] == 0, sent_file

    as_citizen = await client_as(citizen)
    mine = (await as_citizen.get(f"/api/v1/accounts/{tenant.account.id}/conversation/messages")).json()["items"]
    assert [(item["kind"], item["text"]) for item in mine[:2]] == [("file", ""), ("image", "Ảnh hiện trường")]
    served = await as_citizen.get(mine[1]["attachment"]["url"])
    assert not Image.open(io.BytesIO(served.content)).getexif()

    before = await _messages(runtime)
    for message, code in (
            ({"attachment": {"type": "file", "payload": {"token": "file_nope"}}}, -201),
            ({"attachment": {"type": "file", "payload": {"token": "file_\x00"}}}, -201),
            ({"attachment": {"type": "template", "payload": {"template_type": "media", "elements": [
                {"media_type": "image", "url": "http://169.254.169.254/"}]}}}, -201),
            ({"attachment": {"type": "template", "payload": {"template_type": "media", "elements": [
                {"media_type": "sticker", "attachment_id": "x"}]}}}, -233),
            ({"attachment": {"type": "template", "payload": {"template_type": "list", "elements": []}}}, -233),
            ({"attachment": "image"}, -201),
            ({"text": 5}, -201)):
        refused = await _zalo(client, token, "v3.0/oa/message/cs", json={"recipient": recipient, "message": message})
        assert refused["error"] == code, (message, refused)
    assert await _messages(runtime) == before
    not_image = await _zalo(client, token, "v2.0/oa/upload/image", files={"file": ("a.pdf", PDF, "application/pdf")})
    assert not_image["error"] == -201
    not_file = await _zalo(client, token, "v2.0/oa/upload/file",
                           files={"file": ("a.jpg", _photo_with_gps(), "image/jpeg")})
    assert not_file["error"] == -201
    assert (await _zalo(client, token, "v2.0/oa/upload/file", content=b"nope"))["error"] == -201
