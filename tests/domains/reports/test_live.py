"""A reporter's open pages follow their report live: each public step arrives over SSE, and a page that
reconnects gets the steps it missed, in order; internal steps never reach the citizen."""

from __future__ import annotations

from typing import Any

import httpx
from tests.domains.reports.helpers import LAT, LON
from tests.factories import add_staff, make_account, make_user
from tests.live import serving, stream

from loa.domains.people import service as people
from loa.kit.auth import session_cookie_name
from loa.kit.effects import commit
from loa.runtime import Runtime


async def _signed_in(runtime: Runtime, name: str) -> tuple[int, dict[str, str], str]:
    user = await make_user(runtime, name=name)
    async with runtime.session() as session:
        token, login = await people.start_session(session, user)
        await commit(session)
    return user.id, {session_cookie_name(runtime.settings): token}, login.csrf_token


def _client(base_url: str, cookies: dict[str, str], csrf: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, cookies=cookies, headers={"X-CSRF-Token": csrf})


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def test_the_reporter_sees_each_step_live_and_what_they_missed_after_a_reconnect(runtime: Runtime) -> None:
    from tests.domains.reports.helpers import commune_at

    commune, province = await commune_at(runtime)
    _, citizen_cookies, citizen_csrf = await _signed_in(runtime, "Nguyễn Văn An")
    manager_id, manager_cookies, manager_csrf = await _signed_in(runtime, "Chủ tịch Hà")
    committee = await make_account(runtime, name="UBND phường Hoàn Kiếm", kind="commune_committee",
                                   province=province, commune=commune)
    from loa.domains.people.models import User

    await add_staff(runtime, committee, User(id=manager_id), "admin")
    with serving(runtime.settings) as server:
        live = f"{server.url}/api/v1/live"
        async with (_client(server.url, citizen_cookies, citizen_csrf) as as_citizen,
                    _client(server.url, manager_cookies, manager_csrf) as as_manager):
            async with stream(live, cookies=citizen_cookies) as page:
                report = await _post(as_citizen, "/api/v1/reports", {
                    "category": "waste", "description": "Rác thải đổ trộm ven hồ nhiều ngày chưa dọn.",
                    "latitude": LAT, "longitude": LON}, 201)
                submitted = await page.frame()
                assert (submitted["event"], submitted["data"]["code"]) == ("report", report["code"])
                assert submitted["data"]["event"]["type"] == "submitted"
                await _post(as_manager, f"/api/v1/reports/{report['id']}/actions", {"action": "accept"}, 200)
                accepted = await page.frame()
                assert accepted["data"]["status"] == "accepted"
                assert "actor_name" not in accepted["data"]["event"]  # the citizen hears from the agency
                last_event_id = accepted["id"]
            # While the page is closed: an internal note-like step (hidden from the public page) and an answer.
            hidden = await as_manager.put(f"/api/v1/reports/{report['id']}/hidden",
                                          json={"hidden": True, "reason": "Có biển số xe"})
            assert hidden.status_code == 200
            await _post(as_manager, f"/api/v1/reports/{report['id']}/actions",
                        {"action": "assign", "assignee_id": manager_id}, 200)
            await _post(as_manager, f"/api/v1/reports/{report['id']}/actions", {"action": "start"}, 200)
            await _post(as_manager, f"/api/v1/reports/{report['id']}/actions",
                        {"action": "resolve", "note": "Đã thu gom rác."}, 200)
            async with stream(live, cookies=citizen_cookies, headers={"Last-Event-ID": last_event_id}) as page:
                replayed = [await page.frame() for _ in range(len(page.replayed))]
                assert [frame["data"]["event"]["type"] for frame in replayed] == ["assign", "start", "resolve"]
                assert replayed[-1]["data"]["status"] == "resolved"
                assert replayed[-1]["data"]["event"]["note"] == "Đã thu gom rác."
                ids = [int(frame["data"]["id"]) for frame in replayed]
                assert ids == sorted(ids)
