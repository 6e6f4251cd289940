"""Known data for the statistics tests, with the figures a reader of the dashboard would expect from it.

Accounts are opened in chosen years; follows, messages and reports go through their domains' services where the
day is today or the service takes a moment (reports), and are written as rows where the seed would write them (old
follows, an old day's message counts, a published broadcast)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from tests.domains.reports.helpers import LAT, LON, commune_at
from tests.factories import add_staff, make_account, make_user

from loa.db.bulk import bulk_insert
from loa.domains.accounts.models import Account
from loa.domains.agencies import service as agencies
from loa.domains.broadcasts.models import Broadcast, BroadcastStats
from loa.domains.conversations.models import MessageDailyCount
from loa.domains.follows import service as follows
from loa.domains.follows.models import Follow
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.domains.reports import service as reports
from loa.domains.reports.models import Report
from loa.kit.effects import commit
from loa.kit.worktime import VN
from loa.runtime import Runtime


def vn(*parts: int) -> datetime:
    """A moment in Vietnam's time."""
    return datetime(*parts, tzinfo=VN)  # type: ignore[misc]


@dataclass
class Known:
    hanoi_commune: str  # where the commune's committee and a school are
    hcmc_communes: tuple[str, str]  # a hospital in the first, a water company in the second
    health_department: Account  # Hà Nội, province-wide, 2019
    committee: Account  # Hà Nội commune, 2020
    school: Account  # Hà Nội commune, 2024, not verified
    hospital: Account  # TP. Hồ Chí Minh, 2024
    water: Account  # TP. Hồ Chí Minh, 2025
    city: int  # organisation: UBND TP. Hà Nội (runs the committee)
    department_org: int  # organisation under it (runs the health department)
    citizens: list[User]
    agent: User


async def _set(runtime: Runtime, account: Account, **values: Any) -> None:
    async with runtime.session() as session:
        await session.execute(update(Account).where(Account.id == account.id).values(**values))
        await commit(session)


async def _report(runtime: Runtime, known: Known, submitted: datetime, resolved: datetime) -> Report:
    """A waste report (3 working days) at the commune, accepted an hour after it came in, then resolved."""
    report = await reports.submit(runtime, reporter=known.citizens[0], category_code="waste",
                                  description="Rác thải đổ trộm ven hồ nhiều ngày chưa được thu gom.",
                                  latitude=LAT, longitude=LON, now=submitted)
    assert report.account_id == known.committee.id
    accepted = submitted.replace(hour=submitted.hour + 1)
    for action, extra in (("accept", {}), ("assign", {"assignee_id": known.agent.id}), ("start", {})):
        await reports.act(runtime, actor=known.agent, report_id=report.id, action_name=action, now=accepted, **extra)
    return await reports.act(runtime, actor=known.agent, report_id=report.id, action_name="resolve",
                             note="Đã thu gom rác.", now=resolved)


async def seed_known(runtime: Runtime) -> Known:
    commune, province = await commune_at(runtime)
    assert province == "01"
    async with runtime.read_session() as session:
        first, second = (unit.code for unit in await geo.list_communes(session, "79", limit=2))
        city = await agencies.create_organisation(session, name="UBND TP. Hà Nội", province_code="01")
        department_org = await agencies.create_organisation(session, name="Khối y tế Hà Nội", parent_id=city.id,
                                                            province_code="01")
        await session.commit()
    department = await make_account(runtime, name="Sở Y tế Hà Nội", kind="provincial_department", province="01",
                                    organisation_id=department_org.id)
    committee = await make_account(runtime, name="UBND phường Hoàn Kiếm", kind="commune_committee", province="01",
                                   commune=commune, organisation_id=city.id)
    school = await make_account(runtime, name="Trường THCS Trưng Vương", kind="school", province="01",
                                commune=commune, verified=False)
    hospital = await make_account(runtime, name="Bệnh viện Quận 1", kind="hospital", province="79", commune=first)
    water = await make_account(runtime, name="Cấp nước Sài Gòn", kind="water", province="79", commune=second)
    for account, opened in ((department, vn(2019, 5, 1, 9)), (committee, vn(2020, 3, 1, 9)),
                            (school, vn(2024, 9, 1, 9)), (hospital, vn(2024, 2, 1, 9)),
                            (water, vn(2025, 8, 15, 9))):
        verified = None if account is school else opened if account is not water else vn(2025, 9, 1, 9)
        await _set(runtime, account, created_at=opened, verified_at=verified)
    citizens = [await make_user(runtime, name=f"Công dân {n}", commune=commune) for n in range(9)]
    agent = await make_user(runtime, name="Cán bộ Lan")
    await add_staff(runtime, committee, agent, "admin")
    known = Known(commune, (first, second), department, committee, school, hospital, water, city.id,
                  department_org.id, citizens, agent)

    # Today, through the follows service: 3 follow the health department, 2 the committee and one leaves it.
    async with runtime.session() as session:
        for citizen in citizens[:3]:
            await follows.follow(session, user=citizen, account_id=department.id)
        for citizen in citizens[3:5]:
            await follows.follow(session, user=citizen, account_id=committee.id)
        await follows.unfollow(session, user=citizens[4], account_id=committee.id)
        await commit(session)
    # March 2024, loaded in bulk as the seed does (no kept daily counts): 4 follow the hospital.
    async with runtime.session() as session:
        await bulk_insert(session, Follow.__table__, (
            {"account_id": hospital.id, "user_id": citizen.id, "commune_code": commune,
             "created_at": vn(2024, 3, 10, 10), "last_read_broadcast_id": 0, "push_enabled": True}
            for citizen in citizens[5:9]))
        await session.execute(update(Account).where(Account.id == hospital.id).values(follower_count=4))
        # 15 March 2025: the committee's message counts of the day, as the message writer keeps them.
        session.add(MessageDailyCount(account_id=committee.id, day=vn(2025, 3, 15).date(), messages_in=7,
                                      messages_out=5, auto_replies=1, conversations_started=3, responses=4,
                                      response_seconds=4000, first_responses=3, first_response_seconds=1800))
        # 1 June 2025: a broadcast of the health department addressed to 3 followers.
        broadcast = Broadcast(account_id=department.id, kind="notice", status="published",
                              title="Lịch tiêm chủng tháng 6", published_at=vn(2025, 6, 1, 9))
        session.add(broadcast)
        await session.flush()
        session.add(BroadcastStats(broadcast_id=broadcast.id, targeted=3))
        await commit(session)
    # March 2025, through the reports service: two resolved on time, one late; rated 4 and 5.
    first_report = await _report(runtime, known, vn(2025, 3, 3, 8), vn(2025, 3, 4, 10))
    await _report(runtime, known, vn(2025, 3, 3, 8), vn(2025, 4, 1, 10))
    third = await _report(runtime, known, vn(2025, 3, 3, 8), vn(2025, 3, 5, 10))
    await reports.rate(runtime, citizen=citizens[0], report_id=first_report.id, rating=4, comment=None,
                       now=vn(2025, 3, 5, 9))
    await reports.rate(runtime, citizen=citizens[0], report_id=third.id, rating=5, comment=None,
                       now=vn(2025, 3, 6, 9))
    return known

