"""Operators' report settings (categories, routing rules, the holiday calendar) and accounts' own deadlines:
who may change them, what bad input gets, and that each change reaches the next report."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, select
from tests.domains.conversations.helpers import assert_bilingual, assert_error
from tests.domains.reports.helpers import LAT, LON, file, make_scene, waste_report
from tests.factories import add_staff, make_account, make_user

from loa.domains.reports import deadlines
from loa.domains.reports.models import Report, ReportCategory
from loa.kit.worktime import VN
from loa.runtime import Runtime

CATEGORIES = "/api/v1/admin/report-categories"
RULES = "/api/v1/admin/report-routing-rules"
CALENDAR = "/api/v1/admin/report-calendar"


@pytest.fixture
async def as_operator(runtime: Runtime, client_as) -> AsyncClient:  # type: ignore[no-untyped-def]
    return await client_as(await make_user(runtime, name="Quản trị viên", operator=True))


@pytest.fixture
async def new_code(runtime: Runtime) -> AsyncIterator[str]:
    """A category code no one uses; the category is removed afterwards (categories outlive a test)."""
    code = f"test_{uuid.uuid4().hex[:10]}"
    yield code
    async with runtime.session() as session:
        category_id = await session.scalar(select(ReportCategory.id).where(ReportCategory.code == code))
        if category_id is not None:
            await session.execute(delete(Report).where(Report.category_id == category_id))
            await session.execute(delete(ReportCategory).where(ReportCategory.id == category_id))
            await session.commit()


def due_of(report: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(report["due_at"])


def field_of(response: Any) -> str:
    error = assert_error(response, 422)
    return str(error["details"][0]["field"])


async def test_operator_settings_refuse_everyone_but_operators(runtime: Runtime, client: AsyncClient,
                                                               client_as) -> None:
    scene = await make_scene(runtime, client_as)
    calls = [("get", CATEGORIES, None), ("post", CATEGORIES, {"code": "x"}),
             ("patch", f"{CATEGORIES}/waste", {"name": "Rác"}), ("put", f"{CATEGORIES}/waste/enabled",
                                                                 {"enabled": False}),
             ("get", RULES, None), ("post", RULES, {"category": "waste", "account_id": scene.committee.id}),
             ("delete", f"{RULES}/1", None), ("get", CALENDAR, None),
             ("put", f"{CALENDAR}/changes/2026-03-09", {"kind": "holiday"}),
             ("delete", f"{CALENDAR}/changes/2026-03-09", None)]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        assert_error(await client.request(method, url, **kwargs), 401)
        for who in (scene.as_citizen, scene.as_manager):  # a citizen, an account's admin
            error = assert_error(await who.request(method, url, **kwargs), 403)
            assert_bilingual(error["message"])
    async with runtime.read_session() as session:
        waste = await session.scalar(select(ReportCategory).where(ReportCategory.code == "waste"))
        assert waste is not None and waste.enabled and waste.name == "Rác thải, vệ sinh môi trường"


async def test_categories_are_created_changed_and_disabled_and_bad_definitions_refused(
        runtime: Runtime, client_as, as_operator: AsyncClient, new_code: str) -> None:
    scene = await make_scene(runtime, client_as)
    body = {"code": new_code, "name": "Cây xanh đô thị", "name_en": "Urban trees", "group": "Môi trường",
            "keywords": ["cây đổ", "cành gãy"], "account_kinds": ["environment", "commune_committee"],
            "deadline_amount": 2, "deadline_unit": "working_days", "public_rounding_m": 50,
            "fields": [{"code": "kind", "label": "Sự cố", "label_en": "Problem", "datatype": "singlevaluelist",
                        "required": True, "values": [{"key": "fallen", "name": "Cây đổ"},
                                                     {"key": "branch", "name": "Cành gãy"}]},
                       {"code": "girth_cm", "label": "Chu vi thân (cm)", "label_en": "Girth (cm)",
                        "datatype": "number", "order": 2}]}
    bad = [({"fields": [body["fields"][0], {**body["fields"][1], "code": "kind"}]}, "fields.1.code"),
           ({"fields": [{**body["fields"][0], "values": []}]}, "fields.0.values"),
           ({"fields": [{**body["fields"][0], "datatype": "colour"}]}, "fields.0.datatype"),
           ({"fields": [{**body["fields"][1], "values": [{"key": "a", "name": "A"}]}]}, "fields.0.values"),
           ({"fields": [{**body["fields"][0], "values": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]}]},
            "fields.0.values"),
           ({"deadline_amount": 0}, "deadline_amount"), ({"deadline_amount": -3}, "deadline_amount"),
           ({"deadline_amount": 9999}, "deadline_amount"), ({"deadline_unit": "fortnights"}, "deadline_unit"),
           ({"account_kinds": ["spaceport"]}, "account_kinds.0"), ({"code": "Bad Code"}, "code"),
           ({"name": "   "}, "name"), ({"public_rounding_m": -1}, "public_rounding_m")]
    for change, field in bad:
        assert field_of(await as_operator.post(CATEGORIES, json={**body, **change})) == field, change
    assert_error(await as_operator.post(CATEGORIES, json={**body, "code": "waste"}), 409, "category_exists")

    created = await as_operator.post(CATEGORIES, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["deadline"] == "2 ngày làm việc / 2 working days" and created.json()["enabled"] is True
    # Citizens see it at once and their reports are checked against its fields.
    public = (await scene.as_citizen.get(f"/api/v1/report-categories/{new_code}")).json()
    assert [field["code"] for field in public["fields"]] == ["kind", "girth_cm"]
    tree = {"category": new_code, "description": "Cây đổ chắn ngang đường sau cơn mưa lớn.", "latitude": LAT,
            "longitude": LON}
    missing = await scene.as_citizen.post("/api/v1/reports", json=tree)
    assert assert_error(missing, 422, "missing_field")["details"][0]["field"] == "fields.kind"
    filed = await file(scene.as_citizen, {**tree, "fields": {"kind": "fallen", "girth_cm": 120}})
    assert filed["account"]["id"] == scene.committee.id

    changed = await as_operator.patch(f"{CATEGORIES}/{new_code}", json={
        "name": "Cây xanh", "deadline_amount": 16, "deadline_unit": "working_hours", "fields": []})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Cây xanh" and changed.json()["fields"] == []
    assert changed.json()["deadline"] == "16 giờ làm việc / 16 working hours"
    # A wrong change changes nothing.
    assert field_of(await as_operator.patch(f"{CATEGORIES}/{new_code}", json={"name": "Cây", "deadline_amount": 0})
                    ) == "deadline_amount"
    assert field_of(await as_operator.patch(f"{CATEGORIES}/{new_code}", json={"deadline_amount": 5000})
                    ) == "deadline_amount"
    assert field_of(await as_operator.patch(f"{CATEGORIES}/{new_code}", json={"code": "other"})) == "code"
    assert_error(await as_operator.patch(f"{CATEGORIES}/no_such_thing", json={"name": "X"}), 404, "unknown_category")

    disabled = await as_operator.put(f"{CATEGORIES}/{new_code}/enabled", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    listed = {row["code"]: row for row in (await as_operator.get(CATEGORIES)).json()}
    assert listed[new_code]["name"] == "Cây xanh" and listed[new_code]["enabled"] is False and "waste" in listed
    assert new_code not in [row["code"] for row in (await scene.as_citizen.get("/api/v1/report-categories")).json()]
    assert_error(await scene.as_citizen.post("/api/v1/reports", json=tree), 404, "unknown_category")
    enabled = await as_operator.put(f"{CATEGORIES}/{new_code}/enabled", json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert (await scene.as_citizen.get(f"/api/v1/report-categories/{new_code}")).status_code == 200


async def test_a_new_routing_rule_sends_the_next_report_to_its_account(runtime: Runtime, client_as,
                                                                       as_operator: AsyncClient) -> None:
    scene = await make_scene(runtime, client_as)
    company = await make_account(runtime, name="Công ty Môi trường đô thị Hà Nội", kind="environment",
                                 province=scene.province_code)
    before = await file(scene.as_citizen, waste_report())
    assert before["account"]["id"] == scene.committee.id

    bad = [({"area_code": "99"}, "area_code"), ({"area_code": "99999"}, "area_code"), ({"area_code": "123"},
                                                                                        "area_code"),
           ({"account_id": 987654321}, "account_id"), ({"category": "no_such_thing"}, "category"),
           ({"account_id": 0}, "account_id"), ({"priority": -1}, "priority")]
    rule = {"category": "waste", "area_code": scene.commune_code, "account_id": company.id}
    for change, field in bad:
        assert field_of(await as_operator.post(RULES, json={**rule, **change})) == field, change
    created = await as_operator.post(RULES, json=rule)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["account_id"] == str(company.id) and out["area_name"] and out["category"] == "waste"
    assert_error(await as_operator.post(RULES, json=rule), 409, "rule_exists")
    national = await as_operator.post(RULES, json={"category": "flooding", "area_code": "", "account_id": company.id})
    assert national.status_code == 201 and national.json()["area_name"] == "Toàn quốc / Whole country"

    after = await file(scene.as_citizen, waste_report())
    assert after["account"]["id"] == company.id
    # Other categories still go to the committee; the national rule takes flooding anywhere.
    lighting = await file(scene.as_citizen, {"category": "street_lighting", "description": "Đèn đường tắt cả tuần.",
                                             "latitude": LAT, "longitude": LON})
    assert lighting["account"]["id"] == scene.committee.id

    async def listed(**params: Any) -> list[str]:
        response = await as_operator.get(RULES, params=params)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["items"]]

    assert await listed() == [out["id"], national.json()["id"]]
    assert await listed(category="waste") == [out["id"]]
    assert await listed(area=scene.commune_code) == [out["id"]]
    assert await listed(area="VN") == [national.json()["id"]]
    assert await listed(area=scene.province_code) == []
    first = (await as_operator.get(RULES, params={"limit": 1})).json()
    assert [row["id"] for row in first["items"]] == [out["id"]] and first["next_cursor"]
    second = (await as_operator.get(RULES, params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert [row["id"] for row in second["items"]] == [national.json()["id"]] and second["next_cursor"] is None
    assert field_of(await as_operator.get(RULES, params={"area": "99"})) == "area"
    assert field_of(await as_operator.get(RULES, params={"category": "nope"})) == "category"

    assert (await as_operator.delete(f"{RULES}/{out['id']}")).status_code == 204
    assert_error(await as_operator.delete(f"{RULES}/{out['id']}"), 404, "rule_not_found")
    assert (await file(scene.as_citizen, waste_report()))["account"]["id"] == scene.committee.id


async def test_an_operators_extra_holiday_moves_a_new_reports_deadline(runtime: Runtime, client_as,
                                                                        as_operator: AsyncClient) -> None:
    scene = await make_scene(runtime, client_as)
    first = await file(scene.as_citizen, waste_report())  # 3 working days
    received = datetime.fromisoformat(first["received_at"])
    async with runtime.read_session() as session:
        before = await deadlines.calendar(session, received)
    day = received.astimezone(VN).date() + timedelta(days=1)
    while not before.is_working_day(day):  # the first working day the deadline counts
        day += timedelta(days=1)

    added = await as_operator.put(f"{CALENDAR}/changes/{day.isoformat()}",
                                  json={"kind": "holiday", "name": "Nghỉ bão / Storm day off"})
    assert added.status_code == 200, added.text
    second = await file(scene.as_citizen, waste_report())
    received = datetime.fromisoformat(second["received_at"])
    async with runtime.read_session() as session:
        after = await deadlines.calendar(session, received)
    assert not after.is_working_day(day)
    unchanged = deadlines.Deadline(3, "working_days").due(before, received)
    assert due_of(second) == deadlines.Deadline(3, "working_days").due(after, received) > unchanged
    view = (await as_operator.get(CALENDAR, params={"year": day.year})).json()
    assert {"date": day.isoformat(), "name": "Nghỉ bão / Storm day off", "source": "operator"} in view["days_off"]
    assert [change["date"] for change in view["changes"]] == [day.isoformat()]

    assert (await as_operator.delete(f"{CALENDAR}/changes/{day.isoformat()}")).status_code == 204
    assert_error(await as_operator.delete(f"{CALENDAR}/changes/{day.isoformat()}"), 404, "change_not_found")
    third = await file(scene.as_citizen, waste_report())
    received = datetime.fromisoformat(third["received_at"])
    async with runtime.read_session() as session:
        assert due_of(third) == deadlines.Deadline(3, "working_days").due(await deadlines.calendar(session, received),
                                                                           received)


async def test_the_calendar_lists_the_years_days_as_deadlines_count_them(runtime: Runtime,
                                                                          as_operator: AsyncClient) -> None:
    year = (await as_operator.get(CALENDAR, params={"year": 2026})).json()
    days_off = {row["date"]: row for row in year["days_off"]}
    assert days_off["2026-02-17"]["source"] == "builtin" and days_off["2026-02-17"]["name"] == (
        "Tết Nguyên Đán / Lunar New Year")
    assert "2026-09-02" in days_off and "2026-01-03" not in days_off  # a Saturday is no holiday
    assert [row["date"] for row in year["working_days"]] == ["2026-08-22"]  # the make-up Saturday
    assert year["changes"] == []

    # Tết's fourth day worked after all, a Saturday worked, a storm day off: each shows as the platform counts.
    for day, body in [("2026-02-20", {"kind": "not_holiday", "name": "Làm việc / Worked"}),
                      ("2026-03-07", {"kind": "working", "name": "Làm bù / Make-up"}),
                      ("2026-03-09", {"kind": "holiday"})]:
        response = await as_operator.put(f"{CALENDAR}/changes/{day}", json=body)
        assert response.status_code == 200, response.text
    changed = (await as_operator.get(CALENDAR, params={"year": 2026})).json()
    days_off = {row["date"]: row for row in changed["days_off"]}
    assert "2026-02-20" not in days_off and days_off["2026-03-09"]["source"] == "operator"
    assert {"date": "2026-03-07", "name": "Làm bù / Make-up", "source": "operator"} in changed["working_days"]
    assert [row["kind"] for row in changed["changes"]] == ["not_holiday", "working", "holiday"]
    async with runtime.read_session() as session:
        work = await deadlines.calendar(session, datetime(2026, 3, 1, tzinfo=VN))
    assert work.is_working_day(date(2026, 2, 20)) and work.is_working_day(date(2026, 3, 7))
    assert not work.is_working_day(date(2026, 3, 9))
    # Replacing a change keeps one row per day.
    await as_operator.put(f"{CALENDAR}/changes/2026-03-09", json={"kind": "holiday", "name": "Bão số 3 / Storm"})
    assert len((await as_operator.get(CALENDAR, params={"year": 2026})).json()["changes"]) == 3

    for day, body, field in [("2026-03-10", {"kind": "not_holiday"}, "kind"),  # not a holiday
                             ("2026-03-11", {"kind": "working"}, "kind"),  # a Wednesday is worked anyway
                             ("2026-02-18", {"kind": "working"}, "kind"),  # Tết: not_holiday is the way
                             ("2026-02-17", {"kind": "holiday"}, "kind"),  # a holiday already
                             ("2026-03-12", {"kind": "sunny"}, "kind"),
                             ("2026-03-12", {"kind": "holiday", "name": "x" * 121}, "name"),
                             ("1850-03-12", {"kind": "holiday"}, "day")]:
        assert field_of(await as_operator.put(f"{CALENDAR}/changes/{day}", json=body)).endswith(field), (day, body)
    assert_error(await as_operator.put(f"{CALENDAR}/changes/2026-02-30", json={"kind": "holiday"}), 422)
    assert_error(await as_operator.get(CALENDAR, params={"year": 1800}), 422)


async def test_an_accounts_own_deadline_applies_to_its_next_report(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    url = f"/api/v1/accounts/{scene.committee.id}/report-deadlines/waste"
    default = (await scene.as_agent.get(url)).json()
    assert default == {"account_id": str(scene.committee.id), "category": "waste", "amount": 3,
                       "unit": "working_days", "label": "3 ngày làm việc / 3 working days", "source": "category"}

    for body, field in [({"amount": 0, "unit": "working_hours"}, "amount"),
                        ({"amount": -1, "unit": "working_days"}, "amount"),
                        ({"amount": 300, "unit": "working_days"}, "amount"),
                        ({"amount": 4, "unit": "hours"}, "unit"), ({"amount": 4}, "unit"),
                        ({"amount": 4, "unit": "working_hours", "extra": 1}, "extra")]:
        assert field_of(await scene.as_manager.put(url, json=body)).endswith(field), body
    assert_error(await scene.as_manager.put(f"/api/v1/accounts/{scene.committee.id}/report-deadlines/nope",
                                            json={"amount": 4, "unit": "working_hours"}), 404, "unknown_category")
    # An agent of the account, and the admin of another account, may not set it.
    assert_error(await scene.as_agent.put(url, json={"amount": 4, "unit": "working_hours"}), 403)
    stranger = await make_user(runtime, name="Cán bộ nơi khác")
    elsewhere = await make_account(runtime, name="UBND phường khác", kind="commune_committee")
    await add_staff(runtime, elsewhere, stranger, "owner")
    as_stranger = await client_as(stranger)
    assert_error(await as_stranger.put(url, json={"amount": 1, "unit": "working_hours"}), 403, "not_permitted")
    assert_error(await as_stranger.get(url), 403, "not_permitted")
    assert_error(await as_stranger.delete(url), 403, "not_permitted")
    as_operator = await client_as(await make_user(runtime, operator=True))
    assert_error(await as_operator.put(url, json={"amount": 1, "unit": "working_hours"}), 403)
    assert (await scene.as_agent.get(url)).json()["source"] == "category"

    set_ = await scene.as_manager.put(url, json={"amount": 4, "unit": "working_hours"})
    assert set_.status_code == 200, set_.text
    assert set_.json()["source"] == "account" and set_.json()["label"] == "4 giờ làm việc / 4 working hours"
    report = await file(scene.as_citizen, waste_report())
    received = datetime.fromisoformat(report["received_at"])
    async with runtime.read_session() as session:
        work = await deadlines.calendar(session, received)
    assert due_of(report) == work.add_working_hours(received, 4)
    assert report["timeline"][0]["data"]["deadline"] == "4 giờ làm việc / 4 working hours"
    listed = {row["category"]: row for row in (await scene.as_agent.get(
        f"/api/v1/accounts/{scene.committee.id}/report-deadlines")).json()}
    assert listed["waste"]["source"] == "account" and listed["flooding"]["source"] == "category"

    # Another account's reports keep the default.
    company = await make_account(runtime, name="Công ty Thoát nước", kind="environment", province=scene.province_code)
    await as_operator.post(RULES, json={"category": "flooding", "area_code": "", "account_id": company.id})
    flooding = await file(scene.as_citizen, {"category": "flooding", "description": "Ngập sâu sau mưa trên phố.",
                                             "latitude": LAT, "longitude": LON})
    assert flooding["timeline"][0]["data"]["deadline"] == "8 giờ làm việc / 8 working hours"

    assert (await scene.as_manager.delete(url)).status_code == 204
    assert_error(await scene.as_manager.delete(url), 404, "deadline_not_found")
    again = await file(scene.as_citizen, waste_report())
    assert again["timeline"][0]["data"]["deadline"] == "3 ngày làm việc / 3 working days"
