"""Who may see a conversation: the citizen and the inbox staff of its own account, nobody else. A citizen's
export holds their conversations as they saw them; erasing the citizen erases them, not the statistics."""

from __future__ import annotations

import asyncio
import io
import json

from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from tests.domains.conversations.helpers import (
    answer,
    assert_error,
    citizen_view,
    daily_counts,
    inbox,
    make_scene,
    private_files,
    staff_of,
    staff_view,
    tabs,
    uploads_url,
    write,
)
from tests.factories import make_account, make_user

from loa.domains.conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationNote,
    Message,
    MessageReport,
)
from loa.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


async def _rows(runtime: Runtime, model, *conditions) -> int:  # type: ignore[no-untyped-def]
    async with runtime.read_session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


# --- tenant isolation ---------------------------------------------------------------------------------------------


async def test_staff_of_another_account_cannot_reach_a_conversation(runtime: Runtime, client_as) -> None:
    ours = await make_scene(runtime, client_as)
    theirs = await make_scene(runtime, client_as, account_name="Sở Giáo dục Hà Nội", citizen_name="Trần Thị Bình",
                              agent_name="Cán bộ Hùng")
    conversation_id = (await write(theirs.as_citizen, theirs.account.id, "Hỏi về tuyển sinh lớp 10"))[
        "conversation_id"]
    message_id = (await citizen_view(theirs.as_citizen, theirs.account.id))[0]["id"]
    outsider = ours.as_agent
    base = f"/api/v1/conversations/{conversation_id}"

    refusals = [
        await outsider.get(base),
        await outsider.get(f"{base}/messages"),
        await outsider.post(f"{base}/messages", json={"text": "Chen ngang"}),
        await outsider.post(f"{base}/uploads", files={"file": ("don.pdf", PDF, "application/pdf")}),
        await outsider.post(f"{base}/seen", json={}),
        await outsider.post(f"{base}/seen", json={"message_id": message_id}),
        await outsider.put(f"{base}/assignee", json={"assignee_id": ours.agent.id}),
        await outsider.put(f"{base}/assignee", json={"assignee_id": None}),
        await outsider.put(f"{base}/state", json={"state": "closed"}),
        await outsider.get(f"{base}/notes"),
        await outsider.post(f"{base}/notes", json={"text": "Ghi chú lạ"}),
        await outsider.put(f"{base}/labels", json={"labels": ["lạ"]}),
        await outsider.post(f"{base}/spam", json={"reason": "x", "block": True}),
    ]
    for refused in refusals:
        assert_error(refused, 404, "conversation_not_found")
    # Unknown and foreign look the same.
    assert_error(await outsider.get("/api/v1/conversations/987654321"), 404, "conversation_not_found")

    account = f"/api/v1/accounts/{theirs.account.id}"
    rule = await (await staff_of(runtime, client_as, theirs.account, "owner"))[1].post(
        f"{account}/automation/rules", json={"keywords": ["tuyển sinh"], "reply": "Xem thông báo tuyển sinh."})
    assert rule.status_code == 201, rule.text
    for refused in (
        await outsider.get(f"{account}/inbox"),
        await outsider.get(f"{account}/inbox", params={"state": "closed", "view": "mine"}),
        await outsider.get(f"{account}/inbox/search", params={"q": "tuyen sinh"}),
        await outsider.get(f"{account}/automation"),
        await outsider.put(f"{account}/automation", json={"welcome_enabled": False, "out_of_hours_enabled": False,
                                                          "office_hours": {"days": {}}}),
        await outsider.get(f"{account}/automation/rules"),
        await outsider.post(f"{account}/automation/rules", json={"keywords": ["a1"], "reply": "b"}),
        await outsider.get(f"{account}/canned-replies"),
        await outsider.post(f"{account}/canned-replies", json={"title": "t", "text": "x"}),
        await outsider.post(f"{account}/conversations", json={"citizen_id": theirs.citizen.id,
                                                              "message": {"text": "Chào"}}),
    ):
        assert_error(refused, 403, "not_permitted")
    for refused in (await outsider.put(f"/api/v1/automation/rules/{rule.json()['id']}",
                                       json={"keywords": ["x1"], "reply": "y"}),
                    await outsider.delete(f"/api/v1/automation/rules/{rule.json()['id']}")):
        assert_error(refused, 404, "rule_not_found")

    # Nothing of theirs changed.
    row = (await theirs.as_agent.get(base)).json()
    assert (row["state"], row["assigned_to"], row["labels"], row["unread"]) == ("open", None, [], 1)
    assert (await theirs.as_agent.get(f"{base}/notes")).json() == []
    assert [m["text"] for m in await staff_view(theirs.as_agent, conversation_id)] == ["Hỏi về tuyển sinh lớp 10"]
    assert await _rows(runtime, MessageReport) == 0
    rules = (await theirs.as_agent.get(f"{account}/automation/rules")).json()
    assert [r["keywords"] for r in rules] == [["tuyển sinh"]]


async def test_editors_and_viewers_do_not_read_the_inbox(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account = f"/api/v1/accounts/{scene.account.id}"
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tin riêng tư"))["conversation_id"]
    for role in ("editor", "viewer"):
        _, as_member = await staff_of(runtime, client_as, scene.account, role)
        for refused in (await as_member.get(f"{account}/inbox"),
                        await as_member.get(f"{account}/inbox/search", params={"q": "rieng tu"}),
                        await as_member.get(f"{account}/canned-replies"),
                        await as_member.get(f"{account}/automation")):
            assert_error(refused, 403, "not_permitted")
        for refused in (await as_member.get(f"/api/v1/conversations/{conversation_id}"),
                        await as_member.get(f"/api/v1/conversations/{conversation_id}/messages"),
                        await as_member.post(f"/api/v1/conversations/{conversation_id}/messages",
                                             json={"text": "Trả lời thay"})):
            assert_error(refused, 404, "conversation_not_found")
    assert [m["text"] for m in await citizen_view(scene.as_citizen, scene.account.id)] == ["Tin riêng tư"]


async def test_attachments_are_served_to_the_two_sides_only(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    other = await make_scene(runtime, client_as, account_name="Sở Tư pháp Hà Nội", citizen_name="Lê Văn Cường",
                             agent_name="Cán bộ Dũng")
    document = await scene.as_citizen.post(uploads_url(scene.account.id),
                                           files={"file": ("don-de-nghi.pdf", PDF, "application/pdf")})
    assert document.status_code == 201, document.text
    photo = await scene.as_citizen.post(uploads_url(scene.account.id),
                                        files={"file": ("giay-to.jpg", jpeg(), "image/jpeg")})
    assert photo.status_code == 201, photo.text
    _, as_editor = await staff_of(runtime, client_as, scene.account, "editor")
    urls = [document.json()["attachment"]["url"], photo.json()["attachment"]["url"],
            photo.json()["attachment"]["thumbnail_url"]]

    for url in urls:
        for allowed in (scene.as_citizen, scene.as_agent):
            served = await allowed.get(url)
            assert served.status_code == 200, served.text
            assert served.headers["cache-control"].startswith("private")
        for refused in (other.as_citizen, other.as_agent, as_editor):
            assert_error(await refused.get(url), 404, "message_not_found")
    served = await scene.as_agent.get(urls[0])
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment")

    # A text message has no attachment; an unknown message is not found.
    text_id = (await write(scene.as_citizen, scene.account.id, "Tôi đã gửi đơn"))["id"]
    assert_error(await scene.as_citizen.get(f"/api/v1/messages/{text_id}/attachment"), 404, "attachment_not_found")
    assert_error(await scene.as_citizen.get(f"/api/v1/messages/{document.json()['id']}/thumbnail"), 404,
                 "attachment_not_found")
    assert_error(await scene.as_citizen.get("/api/v1/messages/987654321/attachment"), 404, "message_not_found")


# --- personal data ------------------------------------------------------------------------------------------------


async def _busy_conversation(runtime: Runtime, client_as):  # type: ignore[no-untyped-def]
    """A conversation with everything staff may add to it: a reply, a note, labels, an assignee."""
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "Tôi muốn hỏi về hộ khẩu"))["conversation_id"]
    await answer(scene.as_agent, conversation_id, "Anh mang căn cước đến phường.")
    staff = f"/api/v1/conversations/{conversation_id}"
    assert (await scene.as_agent.post(f"{staff}/notes", json={"text": "Ghi chú nội bộ: hồ sơ thiếu giấy tờ"})
            ).status_code == 201
    assert (await scene.as_agent.put(f"{staff}/labels", json={"labels": ["Hộ tịch"]})).status_code == 200
    assert (await scene.as_agent.put(f"{staff}/assignee", json={"assignee_id": scene.agent.id})).status_code == 200
    return scene, conversation_id


async def test_the_export_holds_the_conversations_as_the_citizen_saw_them(runtime: Runtime, client_as) -> None:
    scene, _ = await _busy_conversation(runtime, client_as)
    exported = await scene.as_citizen.get("/api/v1/me/export")
    assert exported.status_code == 200, exported.text
    conversations = exported.json()["conversations"]
    assert [(c["account_id"], c["account_name"]) for c in conversations] == [(scene.account.id, "Sở Y tế Hà Nội")]
    messages = conversations[0]["messages"]
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "Tôi muốn hỏi về hộ khẩu"), ("out", "Anh mang căn cước đến phường.")]
    assert all("sent_by" not in m for m in messages)
    everything = json.dumps(exported.json(), ensure_ascii=False)
    for internal in ("Cán bộ Lan", "Ghi chú nội bộ", "hộ tịch", "Hộ tịch"):
        assert internal not in everything

    # Another citizen's export has none of it.
    other = await client_as(await make_user(runtime))
    assert (await other.get("/api/v1/me/export")).json()["conversations"] == []


async def test_erasing_a_citizen_erases_their_conversations_but_not_the_statistics(runtime: Runtime,
                                                                                   client_as) -> None:
    scene, conversation_id = await _busy_conversation(runtime, client_as)
    report = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/spam", json={"reason": "thử"})
    assert report.status_code == 201
    neighbour: AsyncClient = await client_as(await make_user(runtime, name="Hàng xóm"))
    kept = (await write(neighbour, scene.account.id, "Tôi cũng hỏi về hộ khẩu"))["conversation_id"]
    counts = await daily_counts(runtime, scene.account.id)
    assert counts["messages_in"] == 2 and counts["responses"] == 1

    erased = await scene.as_citizen.delete("/api/v1/me")
    assert erased.status_code == 204, erased.text

    assert_error(await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}"), 404, "conversation_not_found")
    assert await tabs(scene.as_agent, scene.account.id) == {"open": [kept], "waiting": [], "closed": []}
    found = await scene.as_agent.get(f"/api/v1/accounts/{scene.account.id}/inbox/search", params={"q": "ho khau"})
    assert [hit["message"]["text"] for hit in found.json()["items"]] == ["Tôi cũng hỏi về hộ khẩu"]
    for model in (Message, ConversationEvent, ConversationNote, MessageReport):
        assert await _rows(runtime, model, model.conversation_id == conversation_id) == 0
    assert await _rows(runtime, Conversation, Conversation.citizen_id == scene.citizen.id) == 0
    assert await daily_counts(runtime, scene.account.id) == counts
    # The staff member who was assigned is still there, and so is the rest of the inbox.
    assert (await inbox(scene.as_agent, scene.account.id))[0]["citizen"]["name"] == "Hàng xóm"


async def test_erasing_a_staff_member_keeps_the_account_s_conversations(runtime: Runtime, client_as) -> None:
    scene, conversation_id = await _busy_conversation(runtime, client_as)
    _, as_admin = await staff_of(runtime, client_as, scene.account, "admin")
    erased = await scene.as_agent.delete("/api/v1/me")
    assert erased.status_code == 204, erased.text

    row = (await as_admin.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert row["assigned_to"] is None and row["labels"] == ["hộ tịch"]
    messages = await staff_view(as_admin, conversation_id)
    assert [(m["text"], m["sent_by"]) for m in messages] == [
        ("Anh mang căn cước đến phường.", None), ("Tôi muốn hỏi về hộ khẩu", None)]
    notes = (await as_admin.get(f"/api/v1/conversations/{conversation_id}/notes")).json()
    assert [(n["text"], n["author"]) for n in notes] == [("Ghi chú nội bộ: hồ sơ thiếu giấy tờ", None)]
    assert [m["text"] for m in await citizen_view(scene.as_citizen, scene.account.id)] == [
        "Anh mang căn cước đến phường.", "Tôi muốn hỏi về hộ khẩu"]


async def test_an_unknown_account_is_not_written_to(runtime: Runtime, client_as) -> None:
    citizen = await client_as(await make_user(runtime))
    missing = await citizen.post("/api/v1/accounts/987654321/conversation/messages", json={"text": "Xin chào"})
    assert_error(missing, 404, "account_not_found")
    upload = await citizen.post(uploads_url(987654321), files={"file": ("don.pdf", PDF, "application/pdf")})
    assert_error(upload, 404, "account_not_found")
    account = await make_account(runtime, name="Sở Xây dựng Hà Nội")
    assert_error(await citizen.post(f"/api/v1/accounts/{account.id}/conversation/report", json={}), 404,
                 "conversation_not_found")


async def test_erasing_a_citizen_removes_their_photos_and_documents(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 60)).save(photo, "JPEG")
    before = private_files(runtime)  # earlier tests' files share the folder
    sent = await scene.as_citizen.post(uploads_url(scene.account.id),
                                       files={"file": ("giay-to.jpg", photo.getvalue(), "image/jpeg")})
    assert sent.status_code == 201, sent.text
    theirs = private_files(runtime) - before
    assert len(theirs) == 2  # the photo and its thumbnail

    assert (await scene.as_citizen.delete("/api/v1/me")).status_code == 204
    for _ in range(300):  # removed by a job once the deletion has committed
        if not theirs & private_files(runtime):
            break
        await asyncio.sleep(0.05)
    assert theirs & private_files(runtime) == set()
