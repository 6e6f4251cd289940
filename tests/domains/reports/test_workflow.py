"""A report from submission to rating: routing, every transition with its timeline, what each side sees,
and the refusals that change nothing."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.domains.conversations.helpers import assert_error
from tests.domains.reports.helpers import LAT, LON, act, file, make_scene, waste_report
from tests.factories import add_staff, make_account, make_user

from loa.domains.reports.models import ReportCategory, RoutingRule
from loa.runtime import Runtime


async def test_a_report_is_routed_to_the_commune_committee_and_handled_to_the_end(runtime: Runtime,
                                                                                  client_as) -> None:
    scene = await make_scene(runtime, client_as)
    report = await file(scene.as_citizen, waste_report())
    assert re.fullmatch(r"PA-\d{4}-\d{6}", report["code"])
    assert report["account"]["id"] == scene.committee.id
    assert report["commune_code"] == scene.commune_code and report["status"] == "submitted"
    assert [step["type"] for step in report["timeline"]] == ["submitted"]
    assert report["actions"] == []  # nothing for the reporter to do yet

    steps = [("accept", {}), ("assign", {"assignee_id": scene.agent.id}), ("start", {}),
             ("ask", {"note": "Anh cho biết rác đổ ở phía nào của hồ?"})]
    for action, extra in steps:
        await act(scene.as_manager if action == "assign" else scene.as_agent, report["id"], action, **extra)
    waiting = (await scene.as_citizen.get(f"/api/v1/me/reports/{report['id']}")).json()
    assert waiting["status"] == "waiting" and waiting["actions"] == ["supplement"]
    supplemented = await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/actions",
                                               json={"action": "supplement", "note": "Phía đền Ngọc Sơn."})
    assert supplemented.status_code == 200 and supplemented.json()["status"] == "in_progress"
    resolved = await act(scene.as_agent, report["id"], "resolve", note="Đã thu gom rác và xử phạt người đổ trộm.")
    assert resolved["status"] == "resolved" and resolved["answer"].startswith("Đã thu gom")

    mine = (await scene.as_citizen.get(f"/api/v1/me/reports/{report['id']}")).json()
    assert [step["type"] for step in mine["timeline"]] == [
        "submitted", "accept", "assign", "start", "ask", "supplement", "resolve"]
    assert all("actor_name" not in step or step["actor_name"] is None for step in mine["timeline"])
    assert sorted(mine["actions"]) == ["confirm", "reopen"]
    staff_view = (await scene.as_manager.get(f"/api/v1/reports/{report['id']}")).json()
    assert staff_view["reporter_name"] == "Nguyễn Văn An"
    assert [step["actor_name"] for step in staff_view["timeline"]][1:4] == ["Cán bộ Lan", "Chủ tịch Hà", "Cán bộ Lan"]

    rated = await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/rating",
                                        json={"rating": 5, "comment": "Xử lý nhanh"})
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    again = await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/rating", json={"rating": 1})
    assert_error(again, 409, "already_rated")
    closed = await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/actions", json={"action": "confirm"})
    assert closed.json()["status"] == "closed"

    figures = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports/handling")).json()
    assert figures["received"] == 1 and figures["resolved"] == 1 and figures["resolved_on_time"] == 1
    assert figures["on_time_percent"] == 100.0 and figures["average_rating"] == 5.0
    assert figures["median_first_response_seconds"] is not None and figures["open_now"] == 0


async def test_transitions_the_workflow_does_not_allow_are_refused_and_change_nothing(runtime: Runtime,
                                                                                      client_as) -> None:
    scene = await make_scene(runtime, client_as)
    report = await file(scene.as_citizen, waste_report())
    url = f"/api/v1/reports/{report['id']}/actions"
    for action in ("resolve", "start", "close", "ask", "resume"):
        assert_error(await scene.as_agent.post(url, json={"action": action, "note": "x"}), 409,
                     "transition_not_allowed")
    # An agent may not reject (managers do); a rejection needs a reason.
    assert_error(await scene.as_agent.post(url, json={"action": "reject", "note": "Không thuộc thẩm quyền"}), 403)
    assert_error(await scene.as_manager.post(url, json={"action": "reject"}), 422, "note_required")
    # Rating before resolution, reopening what is not resolved.
    assert_error(await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/rating", json={"rating": 4}),
                 409, "not_resolved")
    assert_error(await scene.as_citizen.post(f"/api/v1/me/reports/{report['id']}/actions",
                                             json={"action": "reopen", "note": "Chưa xử lý"}), 409,
                 "transition_not_allowed")
    unchanged = (await scene.as_manager.get(f"/api/v1/reports/{report['id']}")).json()
    assert unchanged["status"] == "submitted" and [s["type"] for s in unchanged["timeline"]] == ["submitted"]


async def test_staff_of_another_account_and_other_citizens_never_see_a_report(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    report = await file(scene.as_citizen, waste_report(public=False))
    stranger = await make_user(runtime, name="Cán bộ nơi khác")
    elsewhere = await make_account(runtime, name="UBND phường khác", kind="commune_committee")
    await add_staff(runtime, elsewhere, stranger, "admin")
    as_stranger = await client_as(stranger)
    assert_error(await as_stranger.get(f"/api/v1/reports/{report['id']}"), 404, "report_not_found")
    assert_error(await as_stranger.post(f"/api/v1/reports/{report['id']}/actions", json={"action": "accept"}), 404)
    listed = (await as_stranger.get(f"/api/v1/accounts/{scene.committee.id}/reports")).json()
    assert "error" in listed
    other_citizen = await client_as(await make_user(runtime, name="Trần Thị Bình"))
    assert_error(await other_citizen.get(f"/api/v1/me/reports/{report['id']}"), 404, "report_not_found")


async def test_bad_reports_are_refused_with_the_field_at_fault_and_nothing_is_stored(runtime: Runtime,
                                                                                     client_as) -> None:
    scene = await make_scene(runtime, client_as)
    cases = [
        ({"category": "no_such_thing"}, 404, "unknown_category"),
        ({"category": "school"}, 422, "missing_field"),  # the school's name is required
        ({"category": "traffic_violation", "fields": {"vehicle": "spaceship", "violation": "red_light"}}, 422,
         "invalid_field"),
        ({"fields": {"colour": "đỏ"}}, 422, "unknown_field"),
        ({"latitude": 48.85, "longitude": 2.35}, 422, None),  # Paris
        ({"latitude": None, "longitude": None}, 422, "missing_location"),
        ({"description": "ngắn"}, 422, "description_too_short"),
    ]
    for change, status, code in cases:
        response = await scene.as_citizen.post("/api/v1/reports", json=waste_report(**change))
        error = assert_error(response, status, code)
        # In Vietnamese, then English.
        assert re.search(r"[à-ỹ]", error["message"]) and re.search(r"[A-Za-z]+ [A-Za-z]+[^à-ỹđ]*$",
                                                                      error["message"]), error
    assert (await scene.as_citizen.get("/api/v1/me/reports")).json()["items"] == []


async def test_routing_rules_win_over_the_commune_committee_and_transfer_moves_the_report(runtime: Runtime,
                                                                                          client_as) -> None:
    scene = await make_scene(runtime, client_as)
    police = await make_account(runtime, name="Công an phường Hoàn Kiếm", kind="police",
                                province=scene.province_code, commune=scene.commune_code)
    officer = await make_user(runtime, name="Thiếu úy Minh")
    await add_staff(runtime, police, officer, "admin")
    async with runtime.session() as session:
        category = await session.scalar(select(ReportCategory).where(ReportCategory.code == "traffic_violation"))
        assert category is not None
        session.add(RoutingRule(category_id=category.id, area_code=scene.province_code, account_id=police.id))
        await session.commit()
    traffic = await file(scene.as_citizen, {
        "category": "traffic_violation", "description": "Xe máy vượt đèn đỏ liên tục ở ngã tư Hàng Khay.",
        "latitude": LAT, "longitude": LON, "fields": {"vehicle": "motorbike", "violation": "red_light",
                                                       "plate": "29B1-123.45"}})
    assert traffic["account"]["id"] == police.id

    # The committee receives a waste report and forwards it to the police with a reason.
    waste = await file(scene.as_citizen, waste_report())
    moved = await act(scene.as_manager, waste["id"], "transfer", to_account_id=police.id,
                      note="Thuộc thẩm quyền công an phường")
    assert moved["account"]["id"] == police.id and moved["status"] == "submitted"
    assert_error(await scene.as_manager.get(f"/api/v1/reports/{waste['id']}"), 404)
    as_officer = await client_as(officer)
    queue = (await as_officer.get(f"/api/v1/accounts/{police.id}/reports", params={"status": "open"})).json()
    assert sorted(row["id"] for row in queue["items"]) == sorted([traffic["id"], waste["id"]])
    mine = (await scene.as_citizen.get(f"/api/v1/me/reports/{waste['id']}")).json()
    transfer = mine["timeline"][-1]
    assert transfer["type"] == "transfer" and transfer["data"]["to_account_name"] == "Công an phường Hoàn Kiếm"
    # Forwarded the same day: well within the 5 working days a body that is not competent has.
    staff_view = (await as_officer.get(f"/api/v1/reports/{waste['id']}")).json()
    assert staff_view["timeline"][-1]["data"]["forwarded_late"] is False
    assert staff_view["forward_by"] > staff_view["received_at"]
