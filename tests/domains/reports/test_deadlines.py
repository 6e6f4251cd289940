"""Deadlines as people notice them: the assignee reminded once when a deadline is near, the owners and
admins told once it has passed, overdue reports in the queue and the figures, paused reports left alone
and their deadline moved on, deadlines across a weekend and across Tết, notices only for their recipient,
and the reporter's phone told when their report moves on.

The sweep runs only when a test says so, with the moment the test chooses (the background scheduler is
stopped: its clock is the real one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from tests.domains.push.fakes import FakePushService, running_push_service
from tests.domains.reports.helpers import LAT, LON, Scene, make_scene
from tests.factories import add_staff, make_account, make_user

from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.domains.push import service as push
from loa.domains.reports import service, sweeps, tasks
from loa.domains.reports.models import Report, ReportCheck, ReportEvent, StaffNotice
from loa.kit.effects import commit
from loa.kit.worktime import VN
from loa.runtime import Runtime

FLOODING = "flooding"  # 8 working hours
WASTE = "waste"  # 3 working days


def vn(*parts: int) -> datetime:
    """A moment in Vietnam's time."""
    return datetime(*parts, tzinfo=VN)  # type: ignore[misc]


@pytest.fixture
async def quiet_scheduler(runtime: Runtime) -> Runtime:
    """The runtime without its background sweeps: the deadline sweep runs only with a test's moment."""
    await runtime.scheduler.close()
    return runtime


async def sweep(runtime: Runtime, now: datetime) -> sweeps.SweepResult:
    async with runtime.session() as session:
        return await sweeps.run(session, now)


async def submit(runtime: Runtime, scene: Scene, category: str, now: datetime) -> Report:
    return await service.submit(runtime, reporter=scene.citizen, category_code=category,
                                description="Nước ngập sâu cả con phố sau cơn mưa, xe máy chết máy hàng loạt.",
                                latitude=LAT, longitude=LON, now=now)


async def move(runtime: Runtime, actor: User, report: Report, action: str, now: datetime, **extra: Any) -> Report:
    return await service.act(runtime, actor=actor, report_id=report.id, action_name=action, now=now, **extra)


async def notices(client: AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/me/notices", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def staff_view(client: AsyncClient, report: Report) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{report.id}")
    assert response.status_code == 200, response.text
    return response.json()


async def with_owner(runtime: Runtime, client_as, scene: Scene) -> AsyncClient:  # type: ignore[no-untyped-def]
    owner = await make_user(runtime, name="Bí thư Minh")
    await add_staff(runtime, scene.committee, owner, "owner")
    return await client_as(owner)


async def test_the_assignee_is_reminded_once_and_the_managers_told_once_the_deadline_has_passed(
        quiet_scheduler: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    as_owner = await with_owner(runtime, client_as, scene)
    # Monday 08:00, 8 working hours: due Tuesday 08:00; a fifth of it left on Monday at 15:54.
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))
    assert report.due_at == vn(2026, 3, 3, 8, 0)
    await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 8, 30))
    await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 8, 31), assignee_id=scene.agent.id)

    assert (await sweep(runtime, vn(2026, 3, 2, 15, 0))).reminded == 0  # not near yet
    assert (await notices(scene.as_agent))["items"] == []

    done = await sweep(runtime, vn(2026, 3, 2, 16, 0))
    assert (done.reminded, done.escalated, done.notices) == (1, 0, 1)
    mine = await notices(scene.as_agent)
    assert mine["unread"] == 1 and len(mine["items"]) == 1
    [reminder] = mine["items"]
    assert reminder["kind"] == "reminder" and report.code in reminder["text"] and " / " in reminder["text"]
    assert reminder["report"]["code"] == report.code and reminder["account"]["id"] == scene.committee.id
    assert reminder["read"] is False
    assert (await notices(scene.as_manager))["items"] == []  # an assigned report: the assignee only
    assert (await notices(as_owner))["items"] == []

    # Again, at the same moment and later: nothing more.
    assert (await sweep(runtime, vn(2026, 3, 2, 16, 0))).notices == 0
    assert (await sweep(runtime, vn(2026, 3, 2, 16, 59))).notices == 0
    assert (await notices(scene.as_agent))["unread"] == 1

    # Staff see on the report when the reminder went out; the citizen does not.
    seen_by_staff = await staff_view(scene.as_manager, report)
    assert seen_by_staff["reminded_at"] is not None and seen_by_staff["escalated_at"] is None
    citizen_view = (await scene.as_citizen.get(f"/api/v1/me/reports/{report.id}")).json()
    assert "reminded_at" not in citizen_view
    assert [step["type"] for step in citizen_view["timeline"]] == [step["type"] for step in seen_by_staff["timeline"]
                                                                   if step["public"]]

    # Tuesday 09:00: past the deadline; the owner and the admin hear of it, once.
    done = await sweep(runtime, vn(2026, 3, 3, 9, 0))
    assert (done.reminded, done.escalated, done.notices) == (0, 1, 2)
    for client in (scene.as_manager, as_owner):
        [escalation] = (await notices(client))["items"]
        assert escalation["kind"] == "escalation" and escalation["report"]["overdue"] is True
        assert report.code in escalation["text"]
    assert (await notices(scene.as_agent))["unread"] == 1  # the agent got the reminder only
    assert (await sweep(runtime, vn(2026, 3, 3, 9, 0))).notices == 0
    assert (await sweep(runtime, vn(2026, 3, 10, 9, 0))).notices == 0
    after = await staff_view(scene.as_manager, report)
    assert after["reminded_at"] == seen_by_staff["reminded_at"]  # the reminder's moment stays
    assert datetime.fromisoformat(after["escalated_at"]) == vn(2026, 3, 3, 9, 0)

    # Overdue is computed: the queue and the figures show it, the status is unchanged.
    queue = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports",
                                        params={"overdue": "true"})).json()
    assert [(row["code"], row["overdue"], row["status"]) for row in queue["items"]] == [
        (report.code, True, "assigned")]
    figures = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports/handling")).json()
    assert figures["overdue_now"] == 1 and figures["open_now"] == 1


async def test_an_unassigned_report_near_its_deadline_reminds_the_owners_and_admins(
        quiet_scheduler: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    as_owner = await with_owner(runtime, client_as, scene)
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))
    assert (await sweep(runtime, vn(2026, 3, 2, 16, 0))).reminded == 1
    for client in (scene.as_manager, as_owner):
        assert [(n["kind"], n["report"]["code"]) for n in (await notices(client))["items"]] == [
            ("reminder", report.code)]
    assert (await notices(scene.as_agent))["items"] == []


async def test_two_sweeps_at_the_same_moment_never_double_a_notice(quiet_scheduler: Runtime,
                                                                   client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    reports = [await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, minute)) for minute in range(12)]
    for report in reports[:6]:  # half of them assigned: reminders go to the agent
        await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 9, 0))
        await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 9, 0), assignee_id=scene.agent.id)

    async def sweep_in_small_batches() -> sweeps.SweepResult:
        async with runtime.session() as session:
            return await sweeps.run(session, vn(2026, 3, 2, 16, 30), batch=5)

    # The scheduled sweep (several sessions on PostgreSQL) and another process's, at once.
    first, second = await asyncio.gather(sweeps.run_all(runtime, vn(2026, 3, 2, 16, 30), batch=5),
                                         sweep_in_small_batches())
    assert first.reminded + second.reminded == 12
    async with runtime.read_session() as session:
        told = (await session.execute(select(StaffNotice.user_id, func.sum(StaffNotice.report_count))
                                      .group_by(StaffNotice.user_id))).all()
        reminded = (await session.scalars(select(ReportCheck.report_id).where(ReportCheck.reminded_at.is_not(None)))
                    ).all()
    # The agent of the 6 assigned reports, the admin of the 6 unassigned: each report counted once.
    assert sorted(told) == sorted([(scene.agent.id, 6), (scene.manager.id, 6)])
    assert sorted(reminded) == sorted(report.id for report in reports)


async def test_reports_due_together_make_one_notice_per_person(quiet_scheduler: Runtime,
                                                               client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    as_owner = await with_owner(runtime, client_as, scene)
    for minute in range(3):
        await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, minute))
    assert (await sweep(runtime, vn(2026, 3, 2, 16, 0))).reminded == 3
    for client in (scene.as_manager, as_owner):
        page = await notices(client)
        assert page["unread"] == 1
        [notice] = page["items"]
        assert (notice["kind"], notice["report_count"], notice["report"]) == ("reminder", 3, None)
        assert notice["text"] == "3 phản ánh sắp đến hạn xử lý / 3 reports are due soon"
    done = await sweep(runtime, vn(2026, 3, 3, 9, 0))  # all three past their deadline
    assert (done.escalated, done.notices) == (3, 2)
    [escalation, _] = (await notices(as_owner))["items"]
    assert escalation["text"] == "3 phản ánh đã quá hạn xử lý / 3 reports are overdue"


async def test_a_report_waiting_for_the_citizen_is_left_alone_and_its_deadline_moves_on(
        quiet_scheduler: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))  # due Tuesday 08:00
    await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 8, 30))
    await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 8, 31), assignee_id=scene.agent.id)
    await move(runtime, scene.agent, report, "start", vn(2026, 3, 2, 9, 0))
    await move(runtime, scene.agent, report, "ask", vn(2026, 3, 2, 10, 0), note="Ngập ở số nhà bao nhiêu?")

    # Wednesday 10:00: past the reminder and the deadline as first set; the report is paused.
    done = await sweep(runtime, vn(2026, 3, 4, 10, 0))
    assert (done.reminded, done.escalated, done.notices) == (0, 0, 0)
    for client in (scene.as_agent, scene.as_manager):
        assert (await notices(client))["items"] == []
    queue = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports",
                                        params={"overdue": "true"})).json()
    assert queue["items"] == []
    figures = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports/handling")).json()
    assert figures["overdue_now"] == 0 and figures["open_now"] == 1

    # Resumed Wednesday 10:00: 16 working hours were paused (Mon 10:00–17:00, Tue, Wed 07:30–10:00), and
    # the 6 hours that were left at the pause now run from Wednesday 10:00: Thursday 08:00.
    await move(runtime, scene.agent, report, "resume", vn(2026, 3, 4, 10, 0))
    view = await staff_view(scene.as_manager, report)
    assert datetime.fromisoformat(view["due_at"]) == vn(2026, 3, 5, 8, 0)
    # The reminder moved with it (a fifth of the time left: Wednesday 15:54), and then the deadline passes.
    assert (await sweep(runtime, vn(2026, 3, 4, 15, 0))).notices == 0
    done = await sweep(runtime, vn(2026, 3, 4, 16, 0))
    assert (done.reminded, done.escalated) == (1, 0)
    assert [n["kind"] for n in (await notices(scene.as_agent))["items"]] == ["reminder"]
    done = await sweep(runtime, vn(2026, 3, 5, 9, 0))  # Thursday 09:00: now it is late
    assert done.escalated == 1
    assert [n["kind"] for n in (await notices(scene.as_manager))["items"]] == ["escalation"]


async def test_deadlines_skip_the_weekend_and_tet(quiet_scheduler: Runtime,
                                                  client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    # Friday 15:00, 8 working hours: 2 on Friday, 6 on Monday.
    weekend = await submit(runtime, scene, FLOODING, vn(2026, 3, 6, 15, 0))
    assert weekend.due_at == vn(2026, 3, 9, 15, 0)
    # The Friday before Tết 2026 (Monday 16 to Friday 20 February off, then the weekend).
    tet_hours = await submit(runtime, scene, FLOODING, vn(2026, 2, 13, 15, 0))
    assert tet_hours.due_at == vn(2026, 2, 23, 15, 0)
    tet_days = await submit(runtime, scene, WASTE, vn(2026, 2, 13, 10, 0))  # 3 working days: Mon 23 – Wed 25
    assert tet_days.due_at == vn(2026, 2, 25, 17, 0)
    view = await staff_view(scene.as_manager, tet_hours)
    assert datetime.fromisoformat(view["due_at"]) == vn(2026, 2, 23, 15, 0)

    # Nobody is reminded during Tết; the flooding report's reminder comes on the first afternoon back
    # (a fifth of 8 hours left: Monday 23 February 13:24).
    assert (await sweep(runtime, vn(2026, 2, 20, 12, 0))).notices == 0
    assert (await sweep(runtime, vn(2026, 2, 23, 13, 0))).notices == 0
    done = await sweep(runtime, vn(2026, 2, 23, 13, 30))
    assert (done.reminded, done.escalated) == (1, 0)
    assert [n["report"]["code"] for n in (await notices(scene.as_manager))["items"]] == [tet_hours.code]


async def test_a_notice_is_seen_and_read_only_by_its_recipient(quiet_scheduler: Runtime,
                                                               client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    other_account = await make_account(runtime, name="Công an phường Hoàn Kiếm", kind="police")
    outsider = await make_user(runtime, name="Cán bộ khác")
    await add_staff(runtime, other_account, outsider, "admin")
    as_outsider = await client_as(outsider)
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))
    await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 8, 30))
    await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 8, 31), assignee_id=scene.agent.id)
    await sweep(runtime, vn(2026, 3, 2, 16, 0))
    [reminder] = (await notices(scene.as_agent))["items"]

    for client in (scene.as_manager, as_outsider, scene.as_citizen):
        assert (await notices(client)) == {"items": [], "next_cursor": None, "unread": 0}
        refused = await client.post(f"/api/v1/me/notices/{reminder['id']}/read")
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "notice_not_found"
    assert (await notices(scene.as_agent))["unread"] == 1

    read = await scene.as_agent.post(f"/api/v1/me/notices/{reminder['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    again = await scene.as_agent.post(f"/api/v1/me/notices/{reminder['id']}/read")
    assert again.json()["read_at"] == read.json()["read_at"]  # the first reading's time stays
    mine = await notices(scene.as_agent)
    assert mine["unread"] == 0 and mine["items"][0]["read"] is True
    assert (await notices(scene.as_agent, unread="true"))["items"] == []


async def test_someone_who_left_the_account_is_neither_reminded_nor_shown_its_notices(
        quiet_scheduler: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    first = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))
    second = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 9, 0))
    for report in (first, second):
        await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 9, 30))
        await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 9, 31), assignee_id=scene.agent.id)
    await sweep(runtime, vn(2026, 3, 2, 16, 0))  # the first one's reminder, to the agent
    assert (await notices(scene.as_agent))["unread"] == 1
    async with runtime.session() as session:
        await accounts.remove_member(session, account_id=scene.committee.id, user_id=scene.agent.id,
                                     actor=scene.manager)
        await commit(session)

    assert await notices(scene.as_agent) == {"items": [], "next_cursor": None, "unread": 0}
    await sweep(runtime, vn(2026, 3, 2, 17, 0))  # the second one's: its assignee has gone, the admin hears
    assert [(n["kind"], n["report"]["code"]) for n in (await notices(scene.as_manager))["items"]] == [
        ("reminder", second.code)]


async def test_notices_are_paged_newest_first(quiet_scheduler: Runtime, client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    reports = [await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, minute)) for minute in range(5)]
    for minute in range(5):  # each report's reminder at its own moment: a notice each
        assert (await sweep(runtime, vn(2026, 3, 2, 15, 54 + minute))).notices == 1
    seen: list[str] = []
    cursor = None
    while True:
        page = await notices(scene.as_manager, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["unread"] == 5
        seen += [item["report"]["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [report.code for report in reversed(reports)]
    bad = await scene.as_manager.get("/api/v1/me/notices", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


@pytest.fixture
async def local_push() -> AsyncIterator[FakePushService]:
    """The push tests' local push service."""
    async with running_push_service() as fake:
        yield fake


async def _subscribe(runtime: Runtime, user: User, local_push: FakePushService) -> str:
    browser = local_push.browser()
    subscription = browser.subscription(local_push.base_url)
    async with runtime.session() as session:
        await push.subscribe(session, user=user, endpoint=subscription["endpoint"],
                             p256dh=subscription["keys"]["p256dh"], auth=subscription["keys"]["auth"],
                             user_agent="test", settings=runtime.settings)
        await commit(session)
    return browser.token


async def _wait_for(condition: Any, seconds: float = 15.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.05)


async def _event_id(runtime: Runtime, report: Report, event_type: str) -> int:
    async with runtime.read_session() as session:
        found = await session.scalar(select(ReportEvent.id).where(ReportEvent.report_id == report.id,
                                                                  ReportEvent.type == event_type))
    assert found is not None
    return found


async def test_the_reporter_gets_a_push_when_the_report_is_accepted(
        runtime: Runtime, client_as, local_push: FakePushService) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    token = await _subscribe(runtime, scene.citizen, local_push)
    gone = await _subscribe(runtime, scene.citizen, local_push)  # a browser that dropped its subscription
    local_push.status[gone] = 410
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))

    accepted = await scene.as_manager.post(f"/api/v1/reports/{report.id}/actions", json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text

    async def pushed() -> bool:
        return bool(local_push.received)

    await _wait_for(pushed)
    [received] = local_push.received
    assert received.token == token
    assert received.payload["title"] == f"{report.code}: Đã tiếp nhận / Accepted"
    assert received.payload["code"] == report.code and received.payload["status"] == "accepted"
    assert received.headers["Topic"] == f"report-{report.id}"

    async def forgotten() -> bool:
        return len(await _subscriptions(runtime, scene.citizen)) == 1

    await _wait_for(forgotten)  # the 410 removed that device, as the push domain does
    # The job again (a redelivery): nothing is pushed twice.
    await tasks.push_update(runtime, event_id=await _event_id(runtime, report, "accept"))
    assert len(local_push.received) == 1
    assert local_push.errors == []


async def _subscriptions(runtime: Runtime, user: User) -> list[Any]:
    async with runtime.read_session() as session:
        return await push.subscriptions_of(session, user.id)


async def test_no_push_in_quiet_hours_nor_for_internal_steps(
        runtime: Runtime, client_as, local_push: FakePushService) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    await _subscribe(runtime, scene.citizen, local_push)
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))
    async with runtime.session() as session:  # quiet all day but this minute's end: now is inside
        start = push.local_hhmm(datetime.now(VN))
        await push.set_quiet_hours(session, user=scene.citizen, quiet_from=start,
                                   quiet_until="00:00" if start != "00:00" else "23:59")
        await commit(session)
    await move(runtime, scene.manager, report, "accept", vn(2026, 3, 2, 8, 30))
    event_id = await _event_id(runtime, report, "accept")

    async def claimed() -> bool:
        async with runtime.read_session() as session:
            event = await session.get(ReportEvent, event_id)
        return event is not None and "pushed_at" in event.data

    await _wait_for(claimed)
    await tasks.push_update(runtime, event_id=event_id)
    await asyncio.sleep(0.2)
    assert local_push.received == []

    # An internal step (staff chose not to show it) is never pushed.
    async with runtime.session() as session:
        await push.set_quiet_hours(session, user=scene.citizen, quiet_from=None, quiet_until=None)
        await commit(session)
    await move(runtime, scene.manager, report, "assign", vn(2026, 3, 2, 8, 31), assignee_id=scene.agent.id,
               public=False)
    await tasks.push_update(runtime, event_id=await _event_id(runtime, report, "assign"))
    assert local_push.received == []


async def test_a_stale_check_is_put_right_without_a_notice(quiet_scheduler: Runtime,
                                                           client_as) -> None:  # type: ignore[no-untyped-def]
    runtime = quiet_scheduler
    scene = await make_scene(runtime, client_as)
    report = await submit(runtime, scene, FLOODING, vn(2026, 3, 2, 8, 0))  # due Tuesday 08:00
    assert (await sweep(runtime, vn(2026, 3, 2, 16, 0))).reminded == 1
    async with runtime.session() as session:  # as if its next check had been left behind
        check = await session.get(ReportCheck, report.id)
        assert check is not None and check.check_at == vn(2026, 3, 3, 8, 0)
        check.check_at = vn(2026, 3, 2, 16, 0)
        await commit(session)
    done = await sweep(runtime, vn(2026, 3, 2, 16, 30))
    assert (done.reminded, done.escalated, done.notices, done.rescheduled) == (0, 0, 0, 1)
    async with runtime.read_session() as session:
        assert (await session.get(ReportCheck, report.id)).check_at == vn(2026, 3, 3, 8, 0)  # type: ignore[union-attr]
    assert (await notices(scene.as_manager))["unread"] == 1  # the reminder only
