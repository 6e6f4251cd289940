"""Automatic answers through the API: who may set them, keyword answers in priority order, the out-of-hours
notice once per night, refused settings, and how automatic answers count in the statistics."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from tests.domains.conversations.helpers import (
    Scene,
    answer,
    assert_error,
    citizen_view,
    daily_counts,
    inbox,
    make_scene,
    staff_of,
    write,
)
from tests.factories import make_user

from loa.runtime import Runtime

NO_AUTOMATION = {"welcome_enabled": False, "out_of_hours_enabled": False, "office_hours": {"days": {}}}
ALWAYS_CLOSED = {"welcome_enabled": False, "out_of_hours_enabled": True,
                 "out_of_hours_text": "Sở đã nhận tin nhắn và sẽ trả lời trong giờ hành chính.",
                 "office_hours": {"days": {}}}
OFFICE_HOURS = {"welcome_enabled": True, "welcome_text": "Chào mừng bạn đến với Sở Y tế.",
                "out_of_hours_enabled": True, "out_of_hours_text": "Ngoài giờ làm việc.",
                "office_hours": {"days": {"mon": [{"start": "07:30", "end": "11:30"},
                                                  {"start": "13:30", "end": "17:00"}],
                                          "sat": [{"start": "08:00", "end": "24:00"}]},
                                 "closed_on_holidays": False}}


async def _owner(runtime: Runtime, client_as, scene: Scene) -> AsyncClient:  # type: ignore[no-untyped-def]
    return (await staff_of(runtime, client_as, scene.account, "owner", name="Giám đốc Sở"))[1]


async def _rule(client: AsyncClient, account_id: int, **rule: Any) -> dict[str, Any]:
    created = await client.post(f"/api/v1/accounts/{account_id}/automation/rules", json=rule)
    assert created.status_code == 201, created.text
    return created.json()


async def _conversation(client: AsyncClient, account_id: int) -> list[tuple[str, str, str | None]]:
    """The citizen's conversation, oldest first: (direction, text, auto)."""
    return [(m["direction"], m["text"], m["auto"]) for m in reversed(await citizen_view(client, account_id))]


# --- who may change them --------------------------------------------------------------------------------------


async def test_only_owners_and_admins_change_the_automatic_answers(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account = f"/api/v1/accounts/{scene.account.id}"
    as_owner = await _owner(runtime, client_as, scene)
    _, as_admin = await staff_of(runtime, client_as, scene.account, "admin")
    _, as_editor = await staff_of(runtime, client_as, scene.account, "editor")

    default = await scene.as_agent.get(f"{account}/automation")
    assert default.status_code == 200, default.text
    assert default.json()["out_of_hours_enabled"] is False and default.json()["welcome_enabled"] is False
    assert default.json()["office_hours"]["days"]["mon"] == [{"start": "07:30", "end": "11:30"},
                                                             {"start": "13:30", "end": "17:00"}]

    for refused in (await scene.as_agent.put(f"{account}/automation", json=ALWAYS_CLOSED),
                    await as_editor.put(f"{account}/automation", json=ALWAYS_CLOSED),
                    await scene.as_agent.post(f"{account}/automation/rules",
                                              json={"keywords": ["giờ"], "reply": "7h30"}),
                    await as_editor.post(f"{account}/automation/rules", json={"keywords": ["giờ"], "reply": "7h30"})):
        assert_error(refused, 403, "not_permitted")
    assert (await scene.as_agent.get(f"{account}/automation")).json() == default.json()
    assert (await scene.as_agent.get(f"{account}/automation/rules")).json() == []

    saved = await as_owner.put(f"{account}/automation", json=OFFICE_HOURS)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "welcome_enabled": True, "welcome_text": "Chào mừng bạn đến với Sở Y tế.",
        "out_of_hours_enabled": True, "out_of_hours_text": "Ngoài giờ làm việc.",
        "office_hours": {"days": {"mon": [{"start": "07:30", "end": "11:30"}, {"start": "13:30", "end": "17:00"}],
                                  "sat": [{"start": "08:00", "end": "24:00"}]},
                         "closed_on_holidays": False}}
    assert (await scene.as_agent.get(f"{account}/automation")).json() == saved.json()
    assert (await as_admin.put(f"{account}/automation", json=NO_AUTOMATION)).status_code == 200

    rule = await _rule(as_admin, scene.account.id, keywords=["giờ làm việc"], reply="Từ 7h30 đến 17h.")
    assert (await scene.as_agent.get(f"{account}/automation/rules")).json() == [rule]
    for refused in (await scene.as_agent.put(f"/api/v1/automation/rules/{rule['id']}",
                                             json={"keywords": ["giờ"], "reply": "Đã đổi"}),
                    await scene.as_agent.delete(f"/api/v1/automation/rules/{rule['id']}")):
        assert_error(refused, 403, "not_permitted")
    assert (await scene.as_agent.get(f"{account}/automation/rules")).json() == [rule]
    assert (await as_owner.delete(f"/api/v1/automation/rules/{rule['id']}")).status_code == 204
    assert (await scene.as_agent.get(f"{account}/automation/rules")).json() == []


# --- keyword answers ---------------------------------------------------------------------------------------------


async def test_a_keyword_answer_follows_the_citizen_s_message(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    await _rule(as_owner, scene.account.id, keywords=["lịch tiêm", "tiêm chủng"], reply="Lịch tiêm: sáng thứ Bảy.")

    sent = await write(scene.as_citizen, scene.account.id, "Cho hỏi lịch tiêm của bé?")
    messages = await citizen_view(scene.as_citizen, scene.account.id)
    assert [(m["direction"], m["text"], m["auto"]) for m in messages] == [
        ("out", "Lịch tiêm: sáng thứ Bảy.", "keyword"), ("in", "Cho hỏi lịch tiêm của bé?", None)]
    assert messages[0]["id"] == sent["id"] + 1  # stored together, right after it
    assert messages[1]["id"] == sent["id"]

    staff_side = (await scene.as_agent.get(f"/api/v1/conversations/{sent['conversation_id']}/messages")).json()
    assert staff_side["items"][0]["sent_by"] is None and staff_side["items"][0]["auto"] == "keyword"
    mine = (await scene.as_citizen.get("/api/v1/me/conversations")).json()["items"][0]
    assert mine["unread"] == 1 and mine["preview"] == "Lịch tiêm: sáng thứ Bảy."
    # Still waiting for a person: the automatic answer leaves the conversation open and unread.
    row = (await inbox(scene.as_agent, scene.account.id))[0]
    assert (row["id"], row["has_unread"], row["unread"], row["first_response_seconds"]) == (
        sent["conversation_id"], True, 1, None)

    await write(scene.as_citizen, scene.account.id, "Cảm ơn")
    assert [auto for _, _, auto in await _conversation(scene.as_citizen, scene.account.id)] == [
        None, "keyword", None]


async def test_keyword_rules_are_tried_in_priority_order(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    account_id = scene.account.id
    general = await _rule(as_owner, account_id, keywords=["hộ chiếu"], reply="Hỏi chung về hộ chiếu.", priority=50)
    specific = await _rule(as_owner, account_id, keywords=["hộ chiếu", "gia hạn"], reply="Gia hạn hộ chiếu: …",
                           priority=10)
    assert [r["id"] for r in (await as_owner.get(f"/api/v1/accounts/{account_id}/automation/rules")).json()] == [
        specific["id"], general["id"]]

    await write(scene.as_citizen, account_id, "Tôi cần làm hộ chiếu")
    assert (await _conversation(scene.as_citizen, account_id))[-1] == ("out", "Gia hạn hộ chiếu: …", "keyword")

    disabled = await as_owner.put(f"/api/v1/automation/rules/{specific['id']}", json={
        "keywords": ["hộ chiếu", "gia hạn"], "reply": "Gia hạn hộ chiếu: …", "priority": 10, "enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    await write(scene.as_citizen, account_id, "Vậy hộ chiếu thì sao?")
    assert (await _conversation(scene.as_citizen, account_id))[-1] == ("out", "Hỏi chung về hộ chiếu.", "keyword")

    await write(scene.as_citizen, account_id, "Tôi hỏi chuyện khác")
    assert (await _conversation(scene.as_citizen, account_id))[-1] == ("in", "Tôi hỏi chuyện khác", None)


async def test_keywords_match_without_diacritics(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    await _rule(as_owner, scene.account.id, keywords=["Giấy phép lái xe"], reply="Đổi GPLX tại Sở GTVT.")
    await _rule(as_owner, scene.account.id, keywords=["căn cước"], match="exact", reply="Chỉ khi hỏi đúng vậy.")

    await write(scene.as_citizen, scene.account.id, "cho hoi doi GIAY PHEP LAI XE o dau")
    await write(scene.as_citizen, scene.account.id, "giấy phép xe")  # not the whole phrase
    await write(scene.as_citizen, scene.account.id, "Căn Cước!")
    await write(scene.as_citizen, scene.account.id, "làm căn cước ở đâu")  # exact wants the whole message
    assert await _conversation(scene.as_citizen, scene.account.id) == [
        ("in", "cho hoi doi GIAY PHEP LAI XE o dau", None), ("out", "Đổi GPLX tại Sở GTVT.", "keyword"),
        ("in", "giấy phép xe", None),
        ("in", "Căn Cước!", None), ("out", "Chỉ khi hỏi đúng vậy.", "keyword"),
        ("in", "làm căn cước ở đâu", None)]


# --- out of office hours --------------------------------------------------------------------------------------------


async def test_the_out_of_hours_notice_comes_once(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    assert (await as_owner.put(f"/api/v1/accounts/{scene.account.id}/automation", json=ALWAYS_CLOSED)
            ).status_code == 200
    notice = ALWAYS_CLOSED["out_of_hours_text"]

    await write(scene.as_citizen, scene.account.id, "Tôi cần hỏi gấp")
    await write(scene.as_citizen, scene.account.id, "Có ai không ạ?")
    assert await _conversation(scene.as_citizen, scene.account.id) == [
        ("in", "Tôi cần hỏi gấp", None), ("out", notice, "out_of_hours"), ("in", "Có ai không ạ?", None)]

    # Each conversation gets its own notice; a keyword answer wins over it.
    await _rule(as_owner, scene.account.id, keywords=["khẩn cấp"], reply="Gọi 115 khi khẩn cấp.")
    neighbour = await client_as(await make_user(runtime))
    await write(neighbour, scene.account.id, "Trường hợp khẩn cấp thì sao?")
    await write(neighbour, scene.account.id, "Còn việc khác")
    await write(neighbour, scene.account.id, "Nữa")
    assert await _conversation(neighbour, scene.account.id) == [
        ("in", "Trường hợp khẩn cấp thì sao?", None), ("out", "Gọi 115 khi khẩn cấp.", "keyword"),
        ("in", "Còn việc khác", None), ("out", notice, "out_of_hours"), ("in", "Nữa", None)]


async def test_refused_settings_leave_the_stored_ones(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    url = f"/api/v1/accounts/{scene.account.id}/automation"
    stored = (await as_owner.put(url, json=OFFICE_HOURS)).json()

    def days(**value: Any) -> dict[str, Any]:
        return {**OFFICE_HOURS, "office_hours": {"days": value}}

    invalid = [
        days(monday=[{"start": "08:00", "end": "17:00"}]),
        days(mon=[{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]),
        days(mon=[{"start": "17:00", "end": "08:00"}]),
        days(mon=[{"start": "25:00", "end": "26:00"}]),
        days(mon=[{"start": "8:00", "end": "17:00"}]),
        days(mon=[{"start": f"0{n}:00", "end": f"0{n}:30"} for n in range(5)]),
        {**OFFICE_HOURS, "out_of_hours_text": "   "},
        {**OFFICE_HOURS, "welcome_text": ""},
        {**OFFICE_HOURS, "welcome_text": "x" * 1001},
        {**OFFICE_HOURS, "colour": "red"},
        {key: value for key, value in OFFICE_HOURS.items() if key != "office_hours"},
    ]
    for body in invalid:
        assert_error(await as_owner.put(url, json=body), 422, "invalid")
        assert (await as_owner.get(url)).json() == stored, body

    rules_url = f"/api/v1/accounts/{scene.account.id}/automation/rules"
    for rule in ({"keywords": [], "reply": "x"}, {"keywords": ["Giấy phép", "giay phep"], "reply": "x"},
                 {"keywords": ["!!!"], "reply": "x"}, {"keywords": ["a1"], "reply": "  "},
                 {"keywords": ["a1"], "reply": "x", "priority": 0},
                 {"keywords": ["a1"], "reply": "x", "match": "regex"}, {"keywords": ["x" * 61], "reply": "x"}):
        assert_error(await as_owner.post(rules_url, json=rule), 422, "invalid")
    assert (await as_owner.get(rules_url)).json() == []


# --- statistics ----------------------------------------------------------------------------------------------


async def test_automatic_answers_count_as_sent_but_not_as_responses(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    as_owner = await _owner(runtime, client_as, scene)
    await _rule(as_owner, scene.account.id, keywords=["học phí"], reply="Xem biểu học phí trên cổng thông tin.")

    conversation_id = (await write(scene.as_citizen, scene.account.id, "Học phí năm nay?"))["conversation_id"]
    assert await daily_counts(runtime, scene.account.id) == {
        "messages_in": 1, "messages_out": 1, "auto_replies": 1, "conversations_started": 1, "responses": 0,
        "first_responses": 0}

    await answer(scene.as_agent, conversation_id, "Chào anh, học phí không đổi.")
    assert await daily_counts(runtime, scene.account.id) == {
        "messages_in": 1, "messages_out": 2, "auto_replies": 1, "conversations_started": 1, "responses": 1,
        "first_responses": 1}
    row = (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert row["state"] == "waiting" and row["first_response_seconds"] is not None
