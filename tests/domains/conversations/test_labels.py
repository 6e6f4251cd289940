"""A label's inbox follows its conversations: state changes, new messages and read receipts move them
within the label's tabs exactly as in the unlabelled inbox."""

from __future__ import annotations

from tests.domains.conversations.helpers import answer, inbox, inbox_ids, make_scene, write
from tests.factories import make_user

from loa.runtime import Runtime


async def test_a_label_tab_follows_state_messages_and_reading(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    first = (await write(scene.as_citizen, scene.account.id, "Hỏi về hộ tịch"))["conversation_id"]
    other = await client_as(await make_user(runtime, name="Trần Thị Bình"))
    second = (await write(other, scene.account.id, "Hỏi về đất đai"))["conversation_id"]
    for conversation_id in (first, second):
        labelled = await scene.as_agent.put(f"/api/v1/conversations/{conversation_id}/labels",
                                            json={"labels": ["Hộ tịch"]})
        assert labelled.status_code == 200, labelled.text

    def tab(state: str) -> dict[str, str]:
        return {"state": state, "label": "hộ tịch"}

    # Both unread and open; the newer first.
    assert await inbox_ids(scene.as_agent, scene.account.id, **tab("open")) == [second, first]

    # Answering the first moves it to "waiting" in the label's tabs too.
    await answer(scene.as_agent, first, "Mời anh đến phường.")
    assert await inbox_ids(scene.as_agent, scene.account.id, **tab("open")) == [second]
    assert await inbox_ids(scene.as_agent, scene.account.id, **tab("waiting")) == [first]

    # The citizen writes again: open, unread, and first in the tab (unread first, then newest).
    seen = await scene.as_agent.post(f"/api/v1/conversations/{second}/seen", json={})
    assert seen.status_code == 200
    await write(scene.as_citizen, scene.account.id, "Cảm ơn, còn giấy tờ gì nữa?")
    rows = await inbox(scene.as_agent, scene.account.id, **tab("open"))
    assert [(row["id"], row["has_unread"]) for row in rows] == [(first, True), (second, False)]

    # Closing moves it to the closed tab; paging by one walks the tab without repeats.
    closed = await scene.as_agent.put(f"/api/v1/conversations/{first}/state", json={"state": "closed"})
    assert closed.status_code == 200
    assert await inbox_ids(scene.as_agent, scene.account.id, **tab("closed")) == [first]
    assert await inbox_ids(scene.as_agent, scene.account.id, **tab("open")) == [second]
    page = (await scene.as_agent.get(f"/api/v1/accounts/{scene.account.id}/inbox",
                                     params={**tab("open"), "limit": 1})).json()
    assert [row["id"] for row in page["items"]] == [second] and page["next_cursor"] is None
