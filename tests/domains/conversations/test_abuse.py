"""Abuse: a citizen writing too fast waits, a blocked citizen cannot write, and spam or abuse reports from
either side reach the platform's operators."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from tests.domains.conversations.helpers import (
    answer,
    assert_bilingual,
    assert_error,
    citizen_view,
    daily_counts,
    inbox,
    make_scene,
    private_files,
    staff_view,
    tabs,
    uploads_url,
    write,
)
from tests.factories import make_account, make_user

from loa.runtime import Runtime
from loa.settings import Settings


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 200, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


class TestWritingTooFast:
    @pytest.fixture
    def settings(self, base_settings: Settings) -> Settings:
        return base_settings.model_copy(update={"message_limit_per_citizen": "3/minute"})

    async def test_the_fourth_message_in_a_minute_waits(self, runtime: Runtime, client_as) -> None:
        scene = await make_scene(runtime, client_as)
        other_account = await make_account(runtime, name="Sở Giao thông Vận tải Hà Nội")
        await write(scene.as_citizen, scene.account.id, "Tin thứ nhất")
        await write(scene.as_citizen, scene.account.id, "Tin thứ hai")
        await write(scene.as_citizen, other_account.id, "Tin thứ ba, gửi nơi khác")
        files_before = private_files(runtime)

        refused = await scene.as_citizen.post(f"/api/v1/accounts/{scene.account.id}/conversation/messages",
                                              json={"text": "Tin thứ tư"})
        error = assert_error(refused, 429, "rate_limited")
        assert_bilingual(error["message"])
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The budget covers every account and every kind of message.
        elsewhere = await scene.as_citizen.post(f"/api/v1/accounts/{other_account.id}/conversation/messages",
                                                json={"kind": "link", "url": "https://example.vn"})
        assert_error(elsewhere, 429, "rate_limited")
        photo = await scene.as_citizen.post(uploads_url(scene.account.id),
                                            files={"file": ("anh.jpg", jpeg(), "image/jpeg")})
        assert_error(photo, 429, "rate_limited")

        assert [m["text"] for m in await citizen_view(scene.as_citizen, scene.account.id)] == [
            "Tin thứ hai", "Tin thứ nhất"]
        assert [m["text"] for m in await citizen_view(scene.as_citizen, other_account.id)] == [
            "Tin thứ ba, gửi nơi khác"]
        assert private_files(runtime) == files_before
        row = (await inbox(scene.as_agent, scene.account.id))[0]
        assert row["unread"] == 2 and row["preview"] == "Tin thứ hai"
        assert (await daily_counts(runtime, scene.account.id))["messages_in"] == 2

        # Another citizen has their own budget, and staff answers are not counted against anyone.
        await write(await client_as(await make_user(runtime)), scene.account.id, "Tôi chưa gửi tin nào")
        for n in range(4):
            await answer(scene.as_agent, row["id"], f"Trả lời {n}")


# --- blocking ----------------------------------------------------------------------------------------------------


async def test_spam_with_block_closes_the_conversation_and_stops_the_citizen(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    conversation_id = (await write(scene.as_citizen, account_id, "Mua sim số đẹp giá rẻ!!!"))["conversation_id"]

    reported = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/spam",
                                         json={"reason": "Quảng cáo", "block": True})
    assert reported.status_code == 201, reported.text
    assert {key: reported.json()[key] for key in ("conversation_id", "account_id", "side", "reason", "status")} == {
        "conversation_id": conversation_id, "account_id": account_id, "side": "staff", "reason": "Quảng cáo",
        "status": "open"}
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": [conversation_id]}
    blocks = (await scene.as_agent.get(f"/api/v1/accounts/{account_id}/blocks")).json()
    assert [block["user_id"] for block in blocks] == [str(scene.citizen.id)]

    files_before = private_files(runtime)
    refused = await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/conversation/messages",
                                          json={"text": "Sao không trả lời?"})
    assert_bilingual(assert_error(refused, 403, "blocked")["message"])
    photo = await scene.as_citizen.post(uploads_url(account_id), files={"file": ("qc.jpg", jpeg(), "image/jpeg")})
    assert_error(photo, 403, "blocked")
    assert private_files(runtime) == files_before  # the refused photo was not kept
    assert_error(await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/follow"), 403, "blocked")

    assert [m["text"] for m in await citizen_view(scene.as_citizen, account_id)] == ["Mua sim số đẹp giá rẻ!!!"]
    assert [m["text"] for m in await staff_view(scene.as_agent, conversation_id)] == ["Mua sim số đẹp giá rẻ!!!"]
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": [conversation_id]}
    assert (await daily_counts(runtime, account_id))["messages_in"] == 1

    # Unblocked, the citizen may write again and the conversation is open once more.
    assert (await scene.as_agent.delete(f"/api/v1/accounts/{account_id}/blocks/{scene.citizen.id}")).status_code == 204
    await write(scene.as_citizen, account_id, "Xin lỗi, tôi nhắn nhầm")
    assert await tabs(scene.as_agent, account_id) == {"open": [conversation_id], "waiting": [], "closed": []}


async def test_a_citizen_blocked_before_writing_cannot_open_a_conversation(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    blocked = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/blocks",
                                        json={"user_id": str(scene.citizen.id), "reason": "Quấy rối"})
    assert blocked.status_code == 201, blocked.text

    refused = await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/conversation/messages",
                                          json={"text": "Xin chào"})
    assert_error(refused, 403, "blocked")
    located = await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/conversation/messages", json={
        "kind": "location", "latitude": 21.0341, "longitude": 105.8372})
    assert_error(located, 403, "blocked")
    assert await citizen_view(scene.as_citizen, account_id) == []
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": []}
    assert set((await daily_counts(runtime, account_id)).values()) == {0}
    # Staff cannot write to them first either: a block ends the follow.
    started = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": scene.citizen.id, "message": {"text": "Chào bạn"}})
    assert_error(started, 403, "cannot_start_conversation")

    # The block is this account's: other accounts still hear from the citizen.
    other_account = await make_account(runtime, name="Sở Công Thương Hà Nội")
    await write(scene.as_citizen, other_account.id, "Cho hỏi về giá điện")


async def test_spam_without_block_only_closes_and_reports(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    conversation_id = (await write(scene.as_citizen, scene.account.id, "aaaaaaa"))["conversation_id"]
    reported = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/spam", json={})
    assert reported.status_code == 201, reported.text
    assert reported.json()["reason"] == ""
    assert (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()["state"] == "closed"
    assert (await scene.as_agent.get(f"/api/v1/accounts/{scene.account.id}/blocks")).json() == []
    await write(scene.as_citizen, scene.account.id, "Tôi hỏi thật mà")
    assert (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()["state"] == "open"

    too_long = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/spam", json={"reason": "x" * 501})
    assert "500" in assert_error(too_long, 422, "invalid")["message"]  # the schema says so, before the service
    assert (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()["state"] == "open"


# --- reports for the operators ------------------------------------------------------------------------------------


async def test_reports_from_both_sides_reach_the_operators(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    as_operator = await client_as(await make_user(runtime, name="Vận hành", operator=True))
    conversation_id = (await write(scene.as_citizen, account_id, "Lừa đảo trúng thưởng"))["conversation_id"]
    staff_report = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/spam",
                                             json={"reason": "Tin lừa đảo"})
    assert staff_report.status_code == 201, staff_report.text

    # A citizen reports an account's messages.
    other = await make_scene(runtime, client_as, account_name="Phường Ba Đình", citizen_name="Phạm Thị Hoa",
                             agent_name="Cán bộ Tuấn")
    first = await write(other.as_citizen, other.account.id, "Xin chào phường")
    await answer(other.as_agent, first["conversation_id"], "Mời chị mua bảo hiểm của chúng tôi")
    citizen_report = await other.as_citizen.post(f"/api/v1/accounts/{other.account.id}/conversation/report",
                                                 json={"reason": "Phường gửi quảng cáo"})
    assert citizen_report.status_code == 201, citizen_report.text
    assert citizen_report.json()["side"] == "citizen"
    assert citizen_report.json()["conversation_id"] == first["conversation_id"]
    too_long = await other.as_citizen.post(f"/api/v1/accounts/{other.account.id}/conversation/report",
                                           json={"reason": "y" * 1001})
    assert_error(too_long, 422)

    listed = await as_operator.get("/api/v1/admin/message-reports")
    assert listed.status_code == 200, listed.text
    assert [(r["id"], r["side"], r["account_id"], r["reason"]) for r in listed.json()["items"]] == [
        (citizen_report.json()["id"], "citizen", other.account.id, "Phường gửi quảng cáo"),
        (staff_report.json()["id"], "staff", account_id, "Tin lừa đảo")]

    for outsider in (scene.as_citizen, scene.as_agent, other.as_citizen):
        assert_error(await outsider.get("/api/v1/admin/message-reports"), 403)
        assert_error(await outsider.post(f"/api/v1/admin/message-reports/{staff_report.json()['id']}/review"), 403)

    reviewed = await as_operator.post(f"/api/v1/admin/message-reports/{staff_report.json()['id']}/review")
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "reviewed"
    still_open = (await as_operator.get("/api/v1/admin/message-reports")).json()["items"]
    assert [r["id"] for r in still_open] == [citizen_report.json()["id"]]
    done = (await as_operator.get("/api/v1/admin/message-reports", params={"status": "reviewed"})).json()["items"]
    assert [(r["id"], r["status"]) for r in done] == [(staff_report.json()["id"], "reviewed")]
    assert_error(await as_operator.post("/api/v1/admin/message-reports/987654321/review"), 404, "report_not_found")

    first_page = (await as_operator.get("/api/v1/admin/message-reports",
                                        params={"status": "open", "limit": 1})).json()
    assert [r["id"] for r in first_page["items"]] == [citizen_report.json()["id"]]
    assert first_page["next_cursor"] is None
