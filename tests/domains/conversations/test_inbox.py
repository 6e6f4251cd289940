"""The staff inbox: its tabs, order and pages, assignment, labels, notes, canned replies, search, read receipts,
staff writing first, and the daily counts statistics read."""

from __future__ import annotations

from tests.domains.conversations.helpers import (
    answer,
    assert_error,
    citizen_view,
    daily_counts,
    inbox,
    inbox_ids,
    make_scene,
    my_conversations,
    staff_of,
    staff_view,
    tabs,
    write,
)
from tests.factories import make_account, make_user

from loa.runtime import Runtime

# --- tabs, order, pages ---------------------------------------------------------------------------------------


async def test_a_conversation_moves_between_the_open_waiting_and_closed_tabs(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": []}

    conversation_id = (await write(scene.as_citizen, account_id, "Cho hỏi giờ làm việc của Sở?"))["conversation_id"]
    assert await tabs(scene.as_agent, account_id) == {"open": [conversation_id], "waiting": [], "closed": []}

    await answer(scene.as_agent, conversation_id, "Sở làm việc từ 7h30 đến 17h, thứ Hai đến thứ Sáu.")
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [conversation_id], "closed": []}

    closed = await scene.as_agent.put(f"/api/v1/conversations/{conversation_id}/state", json={"state": "closed"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": [conversation_id]}

    again = await write(scene.as_citizen, account_id, "Thứ Bảy có làm việc không ạ?")
    assert again["conversation_id"] == conversation_id  # one conversation per citizen and account
    assert await tabs(scene.as_agent, account_id) == {"open": [conversation_id], "waiting": [], "closed": []}
    row = (await inbox(scene.as_agent, account_id))[0]
    assert row["has_unread"] is True and row["unread"] == 1 and row["last_direction"] == "in"
    assert row["preview"] == "Thứ Bảy có làm việc không ạ?"


async def test_unread_conversations_come_first_then_the_newest(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    ids = []
    for n in range(3):
        citizen = await client_as(await make_user(runtime, name=f"Người dân {n}"))
        ids.append((await write(citizen, account_id, f"Câu hỏi số {n}"))["conversation_id"])
    first, second, newest = ids
    assert await inbox_ids(scene.as_agent, account_id) == [newest, second, first]

    seen = await scene.as_agent.post(f"/api/v1/conversations/{newest}/seen", json={})
    assert seen.status_code == 200, seen.text
    assert seen.json()["unread"] == 0

    rows = await inbox(scene.as_agent, account_id)
    assert [row["id"] for row in rows] == [second, first, newest]
    assert [row["has_unread"] for row in rows] == [True, True, False]
    assert [row["unread"] for row in rows] == [1, 1, 0]


async def test_pages_of_one_walk_the_whole_inbox_once(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    ids = []
    for n in range(5):
        citizen = await client_as(await make_user(runtime))
        ids.append((await write(citizen, account_id, f"Tin số {n}"))["conversation_id"])
    for conversation_id in (ids[1], ids[3]):  # read ones go after the unread, across the page boundary
        assert (await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/seen", json={})).status_code == 200
    everything = await inbox_ids(scene.as_agent, account_id)
    assert everything == [ids[4], ids[2], ids[0], ids[3], ids[1]]

    walked: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 1
        walked += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == everything
    assert len(set(walked)) == len(walked)

    bad = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox", params={"cursor": "not-a-cursor!"})
    assert_error(bad, 422, "invalid_cursor")


async def test_a_citizen_s_conversations_and_messages_come_in_pages_newest_first(runtime: Runtime,
                                                                                 client_as) -> None:
    scene = await make_scene(runtime, client_as)
    accounts = [scene.account] + [await make_account(runtime, name=f"Ủy ban nhân dân phường {n}") for n in range(2)]
    for account in accounts:
        await write(scene.as_citizen, account.id, f"Gửi {account.name}")
    await write(scene.as_citizen, scene.account.id, "Gửi Sở lần nữa")

    walked, cursor = [], None
    for _ in range(5):
        page = (await scene.as_citizen.get("/api/v1/me/conversations",
                                           params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
        walked += [(row["account"]["id"], row["preview"]) for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [(scene.account.id, "Gửi Sở lần nữa"), (accounts[2].id, f"Gửi {accounts[2].name}"),
                      (accounts[1].id, f"Gửi {accounts[1].name}")]
    assert (await my_conversations(scene.as_citizen))[0]["account"] == {
        "id": scene.account.id, "name": "Sở Y tế Hà Nội", "handle": scene.account.handle, "verified": True}

    conversation_id = (await inbox(scene.as_agent, scene.account.id))[0]["id"]
    for n in range(3):
        await answer(scene.as_agent, conversation_id, f"Trả lời {n}")
    expected = ["Trả lời 2", "Trả lời 1", "Trả lời 0", "Gửi Sở lần nữa", "Gửi Sở Y tế Hà Nội"]
    for client, url in ((scene.as_citizen, f"/api/v1/accounts/{scene.account.id}/conversation/messages"),
                        (scene.as_agent, f"/api/v1/conversations/{conversation_id}/messages")):
        texts, cursor = [], None
        for _ in range(5):
            page = (await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
            texts += [m["text"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert texts == expected


# --- assignment ----------------------------------------------------------------------------------------------------


async def test_mine_and_unassigned_views_follow_the_assignee(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    colleague, as_colleague = await staff_of(runtime, client_as, scene.account, "admin", name="Cán bộ Minh")
    ids = []
    for n in range(3):
        citizen = await client_as(await make_user(runtime))
        ids.append((await write(citizen, account_id, f"Hỏi {n}"))["conversation_id"])
    mine, theirs, nobodys = ids
    assert sorted(await inbox_ids(scene.as_agent, account_id, view="unassigned")) == sorted(ids)
    assert await inbox_ids(scene.as_agent, account_id, view="mine") == []

    assigned = await scene.as_agent.put(f"/api/v1/conversations/{mine}/assignee",
                                        json={"assignee_id": scene.agent.id})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assigned_to"] == {"id": scene.agent.id, "name": "Cán bộ Lan"}
    handed = await scene.as_agent.put(f"/api/v1/conversations/{theirs}/assignee",
                                      json={"assignee_id": colleague.id})
    assert handed.status_code == 200, handed.text

    assert await inbox_ids(scene.as_agent, account_id, view="mine") == [mine]
    assert await inbox_ids(as_colleague, account_id, view="mine") == [theirs]
    assert await inbox_ids(scene.as_agent, account_id, view="unassigned") == [nobodys]
    assert sorted(await inbox_ids(scene.as_agent, account_id, view="all")) == sorted(ids)
    row = next(row for row in await inbox(as_colleague, account_id) if row["id"] == theirs)
    assert row["assigned_to"] == {"id": colleague.id, "name": "Cán bộ Minh"}

    released = await as_colleague.put(f"/api/v1/conversations/{theirs}/assignee", json={"assignee_id": None})
    assert released.status_code == 200, released.text
    assert released.json()["assigned_to"] is None
    assert await inbox_ids(as_colleague, account_id, view="mine") == []
    assert sorted(await inbox_ids(scene.as_agent, account_id, view="unassigned")) == sorted([theirs, nobodys])


async def test_only_the_inbox_staff_can_be_assigned(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    viewer, _ = await staff_of(runtime, client_as, scene.account, "viewer")
    editor, _ = await staff_of(runtime, client_as, scene.account, "editor")
    stranger = await make_user(runtime)
    other_account = await make_account(runtime, name="Sở Giáo dục Hà Nội")
    elsewhere, _ = await staff_of(runtime, client_as, other_account, "agent")
    conversation_id = (await write(scene.as_citizen, account_id, "Xin chào"))["conversation_id"]

    for who in (viewer, editor, stranger, elsewhere, scene.citizen):
        refused = await scene.as_agent.put(f"/api/v1/conversations/{conversation_id}/assignee",
                                           json={"assignee_id": who.id})
        assert_error(refused, 422, "not_inbox_staff")
    nobody = await scene.as_agent.put(f"/api/v1/conversations/{conversation_id}/assignee",
                                      json={"assignee_id": 987654321})
    assert_error(nobody, 422, "not_inbox_staff")

    row = (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert row["assigned_to"] is None
    assert await inbox_ids(scene.as_agent, account_id, view="unassigned") == [conversation_id]


# --- labels, notes, canned replies ------------------------------------------------------------------------------


async def test_labels_are_set_shown_and_filtered_ignoring_case(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    urgent = (await write(scene.as_citizen, account_id, "Con tôi sốt cao"))["conversation_id"]
    other_citizen = await client_as(await make_user(runtime))
    question = (await write(other_citizen, account_id, "Cho hỏi thủ tục"))["conversation_id"]

    labelled = await scene.as_agent.put(f"/api/v1/conversations/{urgent}/labels",
                                        json={"labels": ["Khẩn", " Tiêm   chủng ", "KHẨN"]})
    assert labelled.status_code == 200, labelled.text
    assert labelled.json() == {"labels": ["khẩn", "tiêm chủng"]}
    assert (await scene.as_agent.put(f"/api/v1/conversations/{question}/labels",
                                     json={"labels": ["Thủ tục"]})).status_code == 200

    rows = {row["id"]: row for row in await inbox(scene.as_agent, account_id)}
    assert rows[urgent]["labels"] == ["khẩn", "tiêm chủng"]
    assert rows[question]["labels"] == ["thủ tục"]
    assert await inbox_ids(scene.as_agent, account_id, label="KHẨN") == [urgent]
    assert await inbox_ids(scene.as_agent, account_id, label="Tiêm Chủng") == [urgent]
    assert await inbox_ids(scene.as_agent, account_id, label="thủ tục") == [question]
    assert await inbox_ids(scene.as_agent, account_id, label="không có") == []

    cleared = await scene.as_agent.put(f"/api/v1/conversations/{urgent}/labels", json={"labels": []})
    assert cleared.json() == {"labels": []}
    assert await inbox_ids(scene.as_agent, account_id, label="khẩn") == []
    assert (await scene.as_agent.get(f"/api/v1/conversations/{urgent}")).json()["labels"] == []

    empty = await scene.as_agent.put(f"/api/v1/conversations/{urgent}/labels", json={"labels": ["   "]})
    assert_error(empty, 422, "invalid_label")
    too_many = await scene.as_agent.put(f"/api/v1/conversations/{urgent}/labels",
                                        json={"labels": [f"nhãn {n}" for n in range(11)]})
    assert_error(too_many, 422)
    assert (await scene.as_agent.get(f"/api/v1/conversations/{urgent}")).json()["labels"] == []


async def test_internal_notes_are_for_staff_only(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    conversation_id = (await write(scene.as_citizen, account_id, "Tôi muốn phản ánh"))["conversation_id"]
    _, as_admin = await staff_of(runtime, client_as, scene.account, "admin")

    added = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/notes",
                                      json={"text": "Người này đã gọi điện hôm qua, chuyển phòng Thanh tra."})
    assert added.status_code == 201, added.text
    assert added.json()["author"] == {"id": scene.agent.id, "name": "Cán bộ Lan"}

    notes = await as_admin.get(f"/api/v1/conversations/{conversation_id}/notes")
    assert notes.status_code == 200, notes.text
    assert [(n["text"], n["author"]["name"]) for n in notes.json()] == [
        ("Người này đã gọi điện hôm qua, chuyển phòng Thanh tra.", "Cán bộ Lan")]

    seen_by_citizen = await citizen_view(scene.as_citizen, account_id)
    assert [m["text"] for m in seen_by_citizen] == ["Tôi muốn phản ánh"]
    assert "Thanh tra" not in str(seen_by_citizen) and "Thanh tra" not in str(await my_conversations(scene.as_citizen))
    assert [m["text"] for m in await staff_view(scene.as_agent, conversation_id)] == ["Tôi muốn phản ánh"]
    row = (await inbox(scene.as_agent, account_id))[0]
    assert row["preview"] == "Tôi muốn phản ánh"  # a note is not a message

    assert_error(await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/notes", json={"text": "  "}),
                 422, "empty_message")
    citizen_reads = await scene.as_citizen.get(f"/api/v1/conversations/{conversation_id}/notes")
    assert_error(citizen_reads, 404, "conversation_not_found")
    assert len((await as_admin.get(f"/api/v1/conversations/{conversation_id}/notes")).json()) == 1


async def test_canned_replies_are_kept_per_account(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    other_account = await make_account(runtime, name="Sở Giáo dục Hà Nội")
    _, as_outsider = await staff_of(runtime, client_as, other_account, "owner")
    url = f"/api/v1/accounts/{account_id}/canned-replies"

    created = await scene.as_agent.post(url, json={"title": "Giờ làm việc", "text": "Sở làm việc giờ hành chính."})
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    assert [(r["title"], r["text"]) for r in (await scene.as_agent.get(url)).json()] == [
        ("Giờ làm việc", "Sở làm việc giờ hành chính.")]

    edited = await scene.as_agent.patch(f"/api/v1/canned-replies/{reply_id}", json={"text": "Từ 7h30 đến 17h."})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["text"]) == ("Giờ làm việc", "Từ 7h30 đến 17h.")

    assert_error(await as_outsider.patch(f"/api/v1/canned-replies/{reply_id}", json={"text": "Đã sửa"}),
                 404, "canned_reply_not_found")
    assert_error(await as_outsider.delete(f"/api/v1/canned-replies/{reply_id}"), 404, "canned_reply_not_found")
    assert_error(await as_outsider.get(url), 403, "not_permitted")
    assert_error(await as_outsider.post(url, json={"title": "Chen vào", "text": "Không được"}), 403, "not_permitted")
    assert [r["text"] for r in (await scene.as_agent.get(url)).json()] == ["Từ 7h30 đến 17h."]

    assert_error(await scene.as_agent.post(url, json={"title": "  ", "text": "Nội dung"}), 422, "invalid_title")
    assert_error(await scene.as_agent.post(url, json={"title": "Trống", "text": " "}), 422, "empty_message")

    deleted = await scene.as_agent.delete(f"/api/v1/canned-replies/{reply_id}")
    assert deleted.status_code == 204
    assert (await scene.as_agent.get(url)).json() == []
    assert_error(await scene.as_agent.delete(f"/api/v1/canned-replies/{reply_id}"), 404, "canned_reply_not_found")


# --- search ------------------------------------------------------------------------------------------------------


async def test_search_ignores_diacritics_and_stays_within_the_account(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    other_account = await make_account(runtime, name="Trung tâm Y tế quận Ba Đình")
    conversation_id = (await write(scene.as_citizen, account_id, "Lịch tiêm chủng tháng Năm thế nào?"))[
        "conversation_id"]
    await answer(scene.as_agent, conversation_id, "Lịch tiêm vào sáng thứ Bảy.")
    await write(scene.as_citizen, account_id, "Cảm ơn Sở")
    await write(await client_as(await make_user(runtime)), other_account.id, "Lịch tiêm ở phường tôi?")

    found = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "lich tiem"})
    assert found.status_code == 200, found.text
    hits = found.json()["items"]
    assert [hit["message"]["text"] for hit in hits] == ["Lịch tiêm vào sáng thứ Bảy.",
                                                       "Lịch tiêm chủng tháng Năm thế nào?"]
    assert {hit["citizen_name"] for hit in hits} == {"Nguyễn Văn An"}
    assert {hit["message"]["account_id"] for hit in hits} == {account_id}
    assert hits[0]["message"]["sent_by"] == {"id": scene.agent.id, "name": "Cán bộ Lan"}

    upper = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "LỊCH  TIÊM chủng"})
    assert [hit["message"]["text"] for hit in upper.json()["items"]] == ["Lịch tiêm chủng tháng Năm thế nào?"]
    none = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "phường"})
    assert none.json()["items"] == []
    percent = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "%"})
    assert percent.status_code == 200 and percent.json()["items"] == []

    paged = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "lich", "limit": 1})
    second = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search",
                                      params={"q": "lich", "limit": 1, "cursor": paged.json()["next_cursor"]})
    assert [h["message"]["id"] for h in paged.json()["items"] + second.json()["items"]] == [
        hit["message"]["id"] for hit in hits]
    assert second.json()["next_cursor"] is None

    blank = await scene.as_agent.get(f"/api/v1/accounts/{account_id}/inbox/search", params={"q": "   "})
    assert_error(blank, 422, "invalid_query")


# --- read receipts -------------------------------------------------------------------------------------------------


async def test_read_receipts_reach_the_other_side(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    question = await write(scene.as_citizen, account_id, "Cho hỏi hồ sơ của tôi đến đâu rồi?")
    conversation_id = question["conversation_id"]
    reply = await answer(scene.as_agent, conversation_id, "Hồ sơ đang được thẩm định.")

    mine = (await my_conversations(scene.as_citizen))[0]
    assert mine["unread"] == 1 and mine["last_message_id"] == reply["id"]
    assert mine["seen_by_account_up_to"] == reply["id"]  # answering means having read the question
    assert (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()["seen_by_citizen_up_to"] == 0

    seen = await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/conversation/seen", json={})
    assert seen.status_code == 200, seen.text
    assert seen.json() == {"seen_up_to": reply["id"], "unread": 0}
    assert (await scene.as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()[
        "seen_by_citizen_up_to"] == reply["id"]
    assert (await my_conversations(scene.as_citizen))[0]["unread"] == 0

    follow_up = await write(scene.as_citizen, account_id, "Khi nào có kết quả ạ?")
    mine = (await my_conversations(scene.as_citizen))[0]
    assert mine["seen_by_account_up_to"] == reply["id"]
    assert (await inbox(scene.as_agent, account_id))[0]["unread"] == 1

    staff_seen = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/seen",
                                           json={"message_id": follow_up["id"]})
    assert staff_seen.status_code == 200, staff_seen.text
    assert staff_seen.json() == {"seen_up_to": follow_up["id"], "unread": 0}
    mine = (await my_conversations(scene.as_citizen))[0]
    assert mine["seen_by_account_up_to"] == follow_up["id"] and mine["unread"] == 0
    row = (await inbox(scene.as_agent, account_id))[0]
    assert row["unread"] == 0 and row["has_unread"] is False

    # Going back is not a thing: an older message leaves the receipt where it was.
    older = await scene.as_agent.post(f"/api/v1/conversations/{conversation_id}/seen",
                                      json={"message_id": question["id"]})
    assert older.json()["seen_up_to"] == follow_up["id"]


async def test_a_message_of_another_conversation_cannot_be_marked_seen(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    mine = await write(scene.as_citizen, account_id, "Tin của tôi")
    reply = await answer(scene.as_agent, mine["conversation_id"], "Trả lời")
    neighbour = await client_as(await make_user(runtime))
    theirs = await write(neighbour, account_id, "Tin của hàng xóm")
    later = await answer(scene.as_agent, theirs["conversation_id"], "Trả lời hàng xóm")

    for message_id in (theirs["id"], later["id"], 2**40):
        refused = await scene.as_citizen.post(f"/api/v1/accounts/{account_id}/conversation/seen",
                                              json={"message_id": message_id})
        assert_error(refused, 422, "message_not_in_conversation")
        staff_refused = await scene.as_agent.post(f"/api/v1/conversations/{mine['conversation_id']}/seen",
                                                  json={"message_id": theirs["id"]})
        assert_error(staff_refused, 422, "message_not_in_conversation")

    assert (await my_conversations(scene.as_citizen))[0]["unread"] == 1
    row = (await scene.as_agent.get(f"/api/v1/conversations/{mine['conversation_id']}")).json()
    assert row["seen_by_citizen_up_to"] == 0
    assert (await my_conversations(scene.as_citizen))[0]["seen_by_account_up_to"] == reply["id"]


# --- staff writing first --------------------------------------------------------------------------------------------


async def test_staff_write_first_to_followers_and_to_people_who_wrote(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    follower = await make_user(runtime, name="Người theo dõi")
    as_follower = await client_as(follower)
    assert (await as_follower.post(f"/api/v1/accounts/{account_id}/follow")).status_code == 200

    started = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": follower.id, "message": {"text": "Sở thông báo lịch tiêm bổ sung cho con bạn."}})
    assert started.status_code == 201, started.text
    assert started.json()["direction"] == "out"
    assert started.json()["sent_by"] == {"id": scene.agent.id, "name": "Cán bộ Lan"}
    theirs = await my_conversations(as_follower)
    assert [(c["account"]["id"], c["unread"], c["preview"]) for c in theirs] == [
        (account_id, 1, "Sở thông báo lịch tiêm bổ sung cho con bạn.")]
    assert await inbox_ids(scene.as_agent, account_id, state="waiting") == [started.json()["conversation_id"]]

    # Someone who wrote before (without following) may be written to again from the inbox.
    wrote = await write(scene.as_citizen, account_id, "Tôi cần hỏi thêm")
    again = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": scene.citizen.id, "message": {"kind": "link", "url": "https://soyte.hanoi.gov.vn/lich",
                                                    "text": "Lịch chi tiết"}})
    assert again.status_code == 201, again.text
    assert again.json()["conversation_id"] == wrote["conversation_id"]
    assert [m["kind"] for m in await citizen_view(scene.as_citizen, account_id)] == ["link", "text"]


async def test_staff_cannot_write_first_to_a_stranger(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    stranger = await make_user(runtime)
    as_stranger = await client_as(stranger)

    refused = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": stranger.id, "message": {"text": "Chào bạn, mời bạn theo dõi Sở."}})
    error = assert_error(refused, 403, "cannot_start_conversation")
    assert " / " in error["message"]
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": []}
    assert await my_conversations(as_stranger) == []
    assert await citizen_view(as_stranger, account_id) == []
    assert set((await daily_counts(runtime, account_id)).values()) == {0}

    _, as_viewer = await staff_of(runtime, client_as, scene.account, "viewer")
    follower = await make_user(runtime)
    assert (await (await client_as(follower)).post(f"/api/v1/accounts/{account_id}/follow")).status_code == 200
    by_viewer = await as_viewer.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": follower.id, "message": {"text": "Xin chào"}})
    assert_error(by_viewer, 403, "not_permitted")
    missing = await scene.as_agent.post(f"/api/v1/accounts/{account_id}/conversations", json={
        "citizen_id": 987654321, "message": {"text": "Xin chào"}})
    assert_error(missing, 404, "user_not_found")
    assert await tabs(scene.as_agent, account_id) == {"open": [], "waiting": [], "closed": []}


# --- statistics -------------------------------------------------------------------------------------------------


async def test_daily_counts_record_messages_and_responses(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    conversation_id = (await write(scene.as_citizen, account_id, "Cho hỏi"))["conversation_id"]
    await answer(scene.as_agent, conversation_id, "Vâng, anh cần hỏi gì ạ?")

    counts = await daily_counts(runtime, account_id)
    assert counts == {"messages_in": 1, "messages_out": 1, "auto_replies": 0, "conversations_started": 1,
                      "responses": 1, "first_responses": 1}

    # A second answer in a row is not another response: nobody was waiting for it.
    await answer(scene.as_agent, conversation_id, "Anh cứ nhắn nhé.")
    await write(scene.as_citizen, account_id, "Thủ tục cấp lại căn cước")
    await answer(scene.as_agent, conversation_id, "Anh đến bộ phận một cửa.")
    counts = await daily_counts(runtime, account_id)
    assert counts == {"messages_in": 2, "messages_out": 3, "auto_replies": 0, "conversations_started": 1,
                      "responses": 2, "first_responses": 1}
