"""The operators' report settings through the `admin` service (the API and the pages share it): only operators
change them, every change is recorded with who made it, a rule is edited in place, a category with reports is
never deleted."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from tests.domains.reports.helpers import make_scene
from tests.factories import HANOI, make_account, make_user

from loa.domains.people.models import AuditEvent
from loa.domains.reports import admin
from loa.domains.reports.admin import CategoryIn, RuleIn
from loa.domains.reports.models import ReportCategory, RoutingRule
from loa.kit.effects import commit
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound
from loa.runtime import Runtime


async def test_only_operators_change_report_settings(runtime: Runtime) -> None:
    staff = await make_user(runtime, name="Cán bộ")
    account = await make_account(runtime, owner=staff)
    body = CategoryIn(code=f"x_{uuid.uuid4().hex[:8]}", name="Thử", name_en="Test", deadline_amount=1,
                      deadline_unit="working_days")
    async with runtime.session() as session:
        calls = [admin.all_categories(session, operator=staff),
                 admin.create_category(session, operator=staff, body=body),
                 admin.delete_category(session, operator=staff, code="waste"),
                 admin.list_rules(session, operator=staff),
                 admin.create_rule(session, operator=staff, body=RuleIn(category="waste", account_id=account.id)),
                 admin.calendar_view(session, operator=staff, year=2026),
                 admin.set_calendar_change(session, operator=staff, day=date(2031, 3, 10), kind="holiday")]
        for call in calls:
            with pytest.raises(Forbidden):
                await call


async def test_a_rule_is_edited_in_place_and_a_duplicate_refused(runtime: Runtime) -> None:
    operator = await make_user(runtime, operator=True)
    police = await make_account(runtime, name="Công an Hà Nội", kind="police")
    transport = await make_account(runtime, name="Sở Giao thông", kind="transport")
    async with runtime.session() as session:
        first = await admin.create_rule(session, operator=operator, body=RuleIn(category="road_damage",
                                                                                area_code=HANOI,
                                                                                account_id=police.id))
        second = await admin.create_rule(session, operator=operator, body=RuleIn(category="road_damage",
                                                                                 account_id=transport.id))
        await commit(session)
    async with runtime.session() as session:
        changed = await admin.update_rule(session, operator=operator, rule_id=int(first.id),
                                          body=RuleIn(category="road_damage", area_code=HANOI,
                                                      account_id=transport.id, priority=5))
        assert (changed.account_name, changed.area_code, changed.priority) == ("Sở Giao thông", HANOI, 5)
        with pytest.raises(Conflict):  # the same as the other rule
            await admin.update_rule(session, operator=operator, rule_id=int(first.id),
                                    body=RuleIn(category="road_damage", account_id=transport.id))
        await commit(session)
    async with runtime.session() as session:
        with pytest.raises(Invalid) as area:
            await admin.update_rule(session, operator=operator, rule_id=int(first.id),
                                    body=RuleIn(category="road_damage", area_code="123", account_id=transport.id))
        assert area.value.details[0]["field"] == "area_code"
        with pytest.raises(NotFound):
            await admin.update_rule(session, operator=operator, rule_id=999_999,
                                    body=RuleIn(category="road_damage", account_id=transport.id))
        await admin.delete_rule(session, operator=operator, rule_id=int(second.id))
        await commit(session)
    async with runtime.read_session() as session:
        rules = (await session.scalars(select(RoutingRule))).all()
        assert [(rule.account_id, rule.area_code, rule.priority) for rule in rules] == [(transport.id, HANOI, 5)]
        actions = (await session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_user_id == operator.id).order_by(AuditEvent.id))).all()
    assert actions == ["routing_rule.created", "routing_rule.created", "routing_rule.changed",
                       "routing_rule.deleted"]


async def test_a_category_with_reports_is_never_deleted(runtime: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    operator = await make_user(runtime, operator=True)
    code = f"trees_{uuid.uuid4().hex[:8]}"
    async with runtime.session() as session:
        await admin.create_category(session, operator=operator, body=CategoryIn(
            code=code, name="Cây xanh", name_en="Trees", deadline_amount=3, deadline_unit="working_days",
            account_kinds=["commune_committee"]))
        await admin.create_rule(session, operator=operator, body=RuleIn(category=code,
                                                                        account_id=scene.committee.id))
        await commit(session)
    report = await scene.as_citizen.post("/api/v1/reports", json={
        "category": "waste", "description": "Rác thải đổ trộm ven hồ nhiều ngày chưa dọn.",
        "latitude": 21.0285, "longitude": 105.8522})
    assert report.status_code == 201, report.text
    async with runtime.session() as session:
        with pytest.raises(Conflict) as used:
            await admin.delete_category(session, operator=operator, code="waste")
        assert used.value.code == "category_in_use"
        await admin.delete_category(session, operator=operator, code=code)
        await commit(session)
    async with runtime.read_session() as session:
        assert await session.scalar(select(ReportCategory.id).where(ReportCategory.code == code)) is None
        assert await session.scalar(select(ReportCategory.id).where(ReportCategory.code == "waste")) is not None
        assert (await session.scalars(select(RoutingRule))).all() == []  # its rule went with it


async def test_calendar_changes_are_recorded_with_their_reason(runtime: Runtime) -> None:
    operator = await make_user(runtime, operator=True)
    async with runtime.session() as session:
        with pytest.raises(Invalid):
            await admin.set_calendar_change(session, operator=operator, day=date(2031, 3, 10), kind="party")
        await admin.set_calendar_change(session, operator=operator, day=date(2031, 3, 10), kind="holiday",
                                        name="  Nghỉ   thử ")
        await commit(session)
    async with runtime.session() as session:
        view = await admin.calendar_view(session, operator=operator, year=2031)
        assert [(day.date, day.name, day.source) for day in view.days_off if day.source == "operator"] == [
            (date(2031, 3, 10), "Nghỉ thử", "operator")]
        await admin.remove_calendar_change(session, operator=operator, day=date(2031, 3, 10))
        with pytest.raises(NotFound):
            await admin.remove_calendar_change(session, operator=operator, day=date(2031, 3, 11))
        await commit(session)
    async with runtime.read_session() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.actor_user_id == operator.id)
                                        .order_by(AuditEvent.id))).all()
    assert [(event.action, event.subject, event.details) for event in events] == [
        ("calendar.changed", "day:2031-03-10", {"kind": "holiday", "name": "Nghỉ thử"}),
        ("calendar.change_removed", "day:2031-03-10", None)]
