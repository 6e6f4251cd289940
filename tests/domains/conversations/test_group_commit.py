"""Many citizens writing at once: their messages are stored together (one batch, one transaction) and each
comes out exactly as if it had been sent alone."""

from __future__ import annotations

import asyncio

from tests.domains.conversations.helpers import (
    answer,
    daily_counts,
    inbox,
    make_scene,
    staff_of,
    staff_view,
    write,
)
from tests.factories import make_user

from loa.domains.conversations import service
from loa.domains.conversations.content import location_content, text_content
from loa.domains.people.models import User
from loa.kit.errors import NotFound
from loa.runtime import Runtime

CITIZENS = 40  # more than a handful: PostgreSQL stores a batch this size as one statement per table


async def test_a_crowd_of_messages_is_stored_in_one_batch_as_if_sent_one_by_one(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account_id = scene.account.id
    # A conversation already answered and labelled: the crowd's batch moves it back to "open" in its label too.
    first = await write(scene.as_citizen, account_id, "Hỏi về cấp căn cước")
    conversation_id = first["conversation_id"]
    await answer(scene.as_agent, conversation_id, "Mời anh đến bộ phận một cửa.")
    labelled = await scene.as_agent.put(f"/api/v1/conversations/{conversation_id}/labels", json={"labels": ["CCCD"]})
    assert labelled.status_code == 200, labelled.text
    crowd = [await make_user(runtime, name=f"Người dân {n}") for n in range(CITIZENS)]
    async with runtime.read_session() as session:
        place = await location_content(session, 21.0285, 105.8542, "Chỗ này ngập")

    async def two_messages(citizen: User, n: int) -> list[int]:
        texts = [service.send_as_citizen(runtime, citizen=citizen, account_id=account_id,
                                         content=text_content(f"Đường Nguyễn Trãi ngập, tin {n}.{part}"))
                 for part in (1, 2)]
        return [stored.row["id"] for stored in await asyncio.gather(*texts)]

    sent = await asyncio.gather(
        *(two_messages(citizen, n) for n, citizen in enumerate(crowd)),
        service.send_as_citizen(runtime, citizen=scene.citizen, account_id=account_id, content=place))
    ids = [message_id for pair in sent[:-1] for message_id in pair] + [sent[-1].row["id"]]
    assert len(set(ids)) == 2 * CITIZENS + 1

    rows = await inbox(scene.as_agent, account_id, limit=200)
    by_id = {row["id"]: row for row in rows}
    assert len(rows) == CITIZENS + 1
    # Each new conversation holds its citizen's two messages, in order, and counts them.
    for row in rows:
        if row["id"] == conversation_id:
            continue
        messages = await staff_view(scene.as_agent, row["id"])
        assert [m["text"].rsplit(".", 1)[1] for m in reversed(messages)] == ["1", "2"]
        assert row["unread"] == 2 and row["state"] == "open" and row["has_unread"]
        assert row["last_message_id"] == messages[0]["id"] and row["preview"] == messages[0]["text"]
    # The labelled conversation: its location message is stored with its place, and the label tab shows it open.
    place_message = (await staff_view(scene.as_agent, conversation_id))[0]
    assert place_message["kind"] == "location"
    assert place_message["location"]["commune_code"] and place_message["location"]["commune_name"]
    assert by_id[conversation_id]["state"] == "open"
    assert [row["id"] for row in await inbox(scene.as_agent, account_id, label="cccd")] == [conversation_id]

    counts = await daily_counts(runtime, account_id)
    assert counts["messages_in"] == 2 * CITIZENS + 2
    assert counts["conversations_started"] == CITIZENS + 1
    assert counts["messages_out"] == 1 and counts["responses"] == 1


async def test_replies_naming_their_conversation_are_checked_in_their_batch(runtime: Runtime, client_as) -> None:
    """A reply may name its conversation by id (an app's): the batch stores it only for the inbox staff of that
    conversation's own account; any other, in the same batch, is refused as not found and stores nothing."""
    scene = await make_scene(runtime, client_as)
    ours = (await write(scene.as_citizen, scene.account.id, "Xin hỏi lịch tiêm chủng"))["conversation_id"]
    other = await make_scene(runtime, client_as, account_name="Sở Giao thông Vận tải", citizen_name="Trần Thị Bình")
    theirs = (await write(other.as_citizen, other.account.id, "Đèn tín hiệu hỏng"))["conversation_id"]
    viewer, _ = await staff_of(runtime, client_as, scene.account, "viewer")

    def reply(actor: User, conversation_id: int, text: str):  # type: ignore[no-untyped-def]
        return service.reply_in_conversation(runtime, actor=actor, account_id=scene.account.id,
                                             conversation_id=conversation_id, content=text_content(text))

    outcomes = await asyncio.gather(
        reply(scene.agent, ours, "Thứ bảy hằng tuần tại trạm y tế phường."),
        reply(scene.agent, theirs, "Sang tài khoản khác"),
        reply(other.agent, theirs, "Cán bộ của tài khoản khác, nhân danh tài khoản này"),
        reply(viewer, ours, "Người chỉ xem"),
        reply(scene.agent, 10**9, "Không có cuộc hội thoại này"),
        return_exceptions=True)

    stored = outcomes[0]
    assert not isinstance(stored, BaseException) and stored.row["conversation_id"] == ours
    for refused in outcomes[1:]:
        assert isinstance(refused, NotFound) and refused.code == "conversation_not_found"
    assert [m["text"] for m in await staff_view(scene.as_agent, ours)] == [
        "Thứ bảy hằng tuần tại trạm y tế phường.", "Xin hỏi lịch tiêm chủng"]
    assert [m["text"] for m in await staff_view(other.as_agent, theirs)] == ["Đèn tín hiệu hỏng"]
