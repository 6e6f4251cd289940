"""Conversations in real time: new messages, read receipts and assignments reach the open pages of the
citizen and the staff over SSE, in order, replayed after a reconnect; across two processes on Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from tests.factories import add_staff, make_account, make_user
from tests.live import serving, stream, web_process

from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.kit.auth import session_cookie_name
from loa.kit.effects import commit
from loa.runtime import Runtime


@dataclass
class Person:
    user: User
    cookies: dict[str, str]
    csrf: str

    def client(self, base_url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, cookies=self.cookies, headers={"X-CSRF-Token": self.csrf})


async def _person(runtime: Runtime, **kwargs: Any) -> Person:
    user = await make_user(runtime, **kwargs)
    async with runtime.session() as session:
        token, login = await people.start_session(session, user)
        await commit(session)
    return Person(user, {session_cookie_name(runtime.settings): token}, login.csrf_token)


async def _scene(runtime: Runtime) -> tuple[Person, Person, int]:
    citizen = await _person(runtime, name="Nguyễn Văn An")
    agent = await _person(runtime, name="Cán bộ Lan", email="lan@congan.example")
    account = await make_account(runtime, name="Công an Phường Ba Đình", kind="police")
    await add_staff(runtime, account, agent.user, "agent")
    return citizen, agent, account.id


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _ids(frames: list[dict[str, Any]]) -> list[int]:
    return [frame["data"]["id"] for frame in frames]


async def test_messages_receipts_and_assignments_reach_both_sides_in_order(runtime: Runtime) -> None:
    citizen, agent, account_id = await _scene(runtime)
    with serving(runtime.settings) as server:
        live = f"{server.url}/api/v1/live"
        async with (citizen.client(server.url) as as_citizen, agent.client(server.url) as as_agent,
                    stream(live, cookies=citizen.cookies) as citizen_page,
                    stream(live, cookies=agent.cookies) as agent_page):
            assert f"inbox:{account_id}" in agent_page.ready["data"]["channels"]
            assert f"inbox:{account_id}" not in citizen_page.ready["data"]["channels"]

            sent = await _post(as_citizen, f"/api/v1/accounts/{account_id}/conversation/messages",
                               {"text": "Tôi bị mất ví ở phố Kim Mã"})
            for page in (citizen_page, agent_page):
                frame = await page.frame()
                assert frame["event"] == "message"
                assert frame["data"]["message"]["text"] == "Tôi bị mất ví ở phố Kim Mã"
                assert frame["data"]["id"] == sent["id"]
            conversation_id = sent["conversation_id"]

            reply = await _post(as_agent, f"/api/v1/conversations/{conversation_id}/messages",
                                {"text": "Anh đến trụ sở để làm đơn trình báo."})
            to_citizen, to_agent = await citizen_page.frame(), await agent_page.frame()
            assert to_agent["data"]["message"]["sent_by"] == {"id": agent.user.id, "name": "Cán bộ Lan"}
            assert to_agent["data"]["conversation"]["state"] == "waiting"
            # The citizen hears from the account: no staff name, no internal state.
            assert "sent_by" not in to_citizen["data"]["message"] and "conversation" not in to_citizen["data"]
            assert to_citizen["data"]["message"]["id"] == reply["id"] and to_citizen["data"]["unread"] == 1

            await _post(as_citizen, f"/api/v1/accounts/{account_id}/conversation/seen", {}, 200)
            seen_by_citizen = await agent_page.frame()
            assert (seen_by_citizen["event"], seen_by_citizen["data"]["by"]) == ("seen", "citizen")
            assert seen_by_citizen["data"]["message_id"] == reply["id"]
            assert (await citizen_page.frame())["event"] == "seen"  # their other open pages update too

            assigned = await as_agent.put(f"/api/v1/conversations/{conversation_id}/assignee",
                                          json={"assignee_id": agent.user.id})
            assert assigned.status_code == 200, assigned.text
            frame = await agent_page.frame()
            assert (frame["event"], frame["data"]["assigned_to"]) == ("assigned", agent.user.id)

            again = await _post(as_citizen, f"/api/v1/accounts/{account_id}/conversation/messages",
                                {"text": "Cảm ơn anh"})
            await _post(as_agent, f"/api/v1/conversations/{conversation_id}/seen", {}, 200)
            citizen_frames = [await citizen_page.frame() for _ in range(2)]
            # Assignment is internal: the citizen's next events are their message, then the account's "seen".
            assert [frame["event"] for frame in citizen_frames] == ["message", "seen"]
            assert citizen_frames[1]["data"] == {**citizen_frames[1]["data"], "by": "account",
                                                 "message_id": again["id"]}
            agent_frames = [await agent_page.frame() for _ in range(2)]
            assert [frame["event"] for frame in agent_frames] == ["message", "seen"]
            every = [seen_by_citizen, frame, *agent_frames]
            assert _ids(every) == sorted(_ids(every))


async def test_a_page_that_reconnects_gets_what_it_missed_in_order(runtime: Runtime) -> None:
    citizen, agent, account_id = await _scene(runtime)
    with serving(runtime.settings) as server:
        live = f"{server.url}/api/v1/live"
        async with citizen.client(server.url) as as_citizen, agent.client(server.url) as as_agent:
            async with stream(live, cookies=citizen.cookies) as page:
                sent = await _post(as_citizen, f"/api/v1/accounts/{account_id}/conversation/messages",
                                   {"text": "Cho hỏi làm căn cước ở đâu?"})
                last_event_id = (await page.frame())["id"]
            conversation_id = sent["conversation_id"]
            await _post(as_agent, f"/api/v1/conversations/{conversation_id}/seen", {}, 200)
            missed = [await _post(as_agent, f"/api/v1/conversations/{conversation_id}/messages", {"text": text})
                      for text in ("Tại trụ sở công an phường.", "Mang theo giấy khai sinh.")]

            async with stream(live, cookies=citizen.cookies, headers={"Last-Event-ID": last_event_id}) as page:
                replayed = [await page.frame() for _ in range(len(page.replayed))]  # what came before `ready`
                assert [frame["event"] for frame in replayed] == ["seen", "message", "message"]
                assert replayed[0]["data"]["by"] == "account" and replayed[0]["data"]["message_id"] == sent["id"]
                assert [frame["data"]["message"]["text"] for frame in replayed[1:]] == [
                    "Tại trụ sở công an phường.", "Mang theo giấy khai sinh."]
                assert [frame["data"]["message"]["id"] for frame in replayed[1:]] == [m["id"] for m in missed]
                assert all("sent_by" not in frame["data"].get("message", {}) for frame in replayed)
                assert _ids(replayed) == sorted(_ids(replayed))
                live_one = await _post(as_agent, f"/api/v1/conversations/{conversation_id}/messages",
                                       {"text": "Hẹn gặp anh."})
                frame = await page.frame()
                assert frame["data"]["message"]["id"] == live_one["id"]


async def test_a_message_sent_to_one_process_reaches_pages_on_another(runtime: Runtime, live_redis_url: str) -> None:
    citizen, agent, account_id = await _scene(runtime)
    with (web_process(runtime.settings, live_redis_url) as first,
          web_process(runtime.settings, live_redis_url) as second):
        async with (citizen.client(first) as as_citizen, agent.client(second) as as_agent,
                    stream(f"{second}/api/v1/live", cookies=citizen.cookies) as citizen_page,
                    stream(f"{first}/api/v1/live", cookies=agent.cookies) as agent_page):
            sent = await _post(as_citizen, f"/api/v1/accounts/{account_id}/conversation/messages",
                               {"text": "Xin chào từ tiến trình thứ nhất"})
            assert (await agent_page.frame())["data"]["message"]["id"] == sent["id"]
            assert (await citizen_page.frame())["data"]["message"]["id"] == sent["id"]
            reply = await _post(as_agent, f"/api/v1/conversations/{sent['conversation_id']}/messages",
                                {"text": "Chào anh, từ tiến trình thứ hai"})
            assert (await citizen_page.frame())["data"]["message"]["id"] == reply["id"]
            assert (await agent_page.frame())["data"]["message"]["id"] == reply["id"]
