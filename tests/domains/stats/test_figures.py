"""The figures a reader of the dashboard sees, exact, from known data: accounts per year and by kind, follows at
the end of a year, messages and broadcasts, coverage per province (current divisions, and the legacy ones for
years before 2025), report handling (on-time %, medians, satisfaction) — for the nation, a province, a commune,
an organisation and an account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient
from tests.domains.stats.helpers import seed_known

from loa.domains.geo import service as geo
from loa.domains.reports import stats as report_stats
from loa.domains.stats import service
from loa.domains.stats.periods import vn_today
from loa.runtime import Runtime


async def figures(client: AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/stats/figures", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def follows_at_end_of(year: int) -> int:
    """8 followers now; the 5 follows and 1 unfollow of today count only from today's year on."""
    return 8 if vn_today().year <= year else 4


async def test_a_year_before_2025_in_the_legacy_divisions(quiet: Runtime, client: AsyncClient) -> None:
    known = await seed_known(quiet)
    await service.rebuild(quiet)
    found = await figures(client, year=2024)

    assert found["scope"] == {"kind": "nation", "code": "", "name": "Toàn quốc", "province_code": None}
    assert found["period"] == {"from": "2024-01-01", "to": "2024-12-31", "label": "năm 2024"}
    accounts = found["accounts"]
    assert (accounts["total"], accounts["created"], accounts["verified"], accounts["verified_percent"]) == (
        4, 2, 3, 75.0)
    assert [(row["year"], row["created"], row["total"]) for row in accounts["per_year"]] == [
        (2019, 1, 1), (2020, 1, 2), (2024, 2, 4)]
    assert {row["group"]: (row["accounts"], row["verified"]) for row in accounts["by_group"]} == {
        "state": (2, 2), "education": (1, 0), "health": (1, 1), "utilities": (0, 0)}

    follows = found["follows"]
    assert (follows["total"], follows["follows"], follows["unfollows"], follows["net_new"]) == (
        follows_at_end_of(2024), 4, 0, 4)
    assert [(top["name"], top["followers"], top["net_new"]) for top in follows["top"][:3]] == [
        ("Bệnh viện Quận 1", 4, 4), ("Sở Y tế Hà Nội", 3, 0), ("UBND phường Hoàn Kiếm", 1, 0)]
    assert found["interactions"]["messages_in"] == 0 and found["handling"]["received"] == 0

    # Coverage in the 63 provinces of the time: the old communes that now lie in a commune with an account.
    async with quiet.read_session() as session:
        sources = [unit for code in (known.hanoi_commune, known.hcmc_communes[0])
                   for unit in await geo.legacy_sources(session, code)]
    coverage = found["coverage"]
    assert coverage["divisions"] == "legacy" and coverage["provinces_total"] == 63
    assert coverage["communes_covered"] == len({unit.code for unit in sources}) > 2
    assert coverage["provinces_covered"] == len({unit.province_code for unit in sources}) == 2
    assert 10_000 < coverage["communes_total"] < 10_700
    current = await figures(client, year=2024, divisions="current")
    assert current["coverage"]["communes_covered"] == 2 and current["coverage"]["communes_total"] == 3321


async def test_a_year_since_the_reorganisation(quiet: Runtime, client: AsyncClient) -> None:
    known = await seed_known(quiet)
    await service.rebuild(quiet)
    found = await figures(client, year=2025)

    accounts = found["accounts"]
    assert (accounts["total"], accounts["created"], accounts["verified"], accounts["verified_percent"]) == (
        5, 1, 4, 80.0)
    assert accounts["per_year"][-1] == {"year": 2025, "created": 1, "total": 5}
    assert [(row["kind"], row["accounts"]) for row in accounts["by_kind"]] == [
        ("provincial_department", 1), ("commune_committee", 1), ("school", 1), ("hospital", 1), ("water", 1)]
    assert found["follows"]["total"] == follows_at_end_of(2025) and found["follows"]["net_new"] == 0

    assert found["interactions"] == {
        "messages_in": 7, "messages_out": 5, "auto_replies": 1, "conversations_started": 3,
        "average_response_seconds": 1000.0, "average_first_response_seconds": 600.0, "reports_received": 3,
        "broadcasts": 1, "reach": 3}

    coverage = found["coverage"]
    assert (coverage["divisions"], coverage["communes_covered"], coverage["communes_total"],
            coverage["provinces_covered"], coverage["provinces_total"]) == ("current", 3, 3321, 2, 34)
    assert coverage["percent"] == round(100 * 3 / 3321, 1)
    health = await figures(client, year=2025, kind="health")
    assert health["coverage"]["communes_covered"] == 1 and health["coverage"]["kind"] == "health"
    schools = await figures(client, year=2025, kind="school")
    assert schools["coverage"]["communes_covered"] == 1

    handling = found["handling"]
    assert {key: handling[key] for key in ("received", "resolved", "resolved_on_time", "resolved_late",
                                           "on_time_percent", "late_percent", "ratings", "average_rating")} == {
        "received": 3, "resolved": 3, "resolved_on_time": 2, "resolved_late": 1, "on_time_percent": 66.7,
        "late_percent": 33.3, "ratings": 2, "average_rating": 4.5}
    # Accepted an hour after each came in; resolved after 26 h, 50 h and 29 days: the median is 50 h.
    assert handling["median_first_response_seconds"] == round(report_stats.bucket_middle(report_stats.bucket_of(3600)))
    assert handling["median_resolution_seconds"] == round(
        report_stats.bucket_middle(report_stats.bucket_of(50 * 3600)))
    assert abs(handling["median_resolution_seconds"] - 50 * 3600) <= 0.045 * 50 * 3600
    assert handling["open_now"] is None

    # The reports domain's own figures of the account say the same.
    account = await figures(client, year=2025, account=str(known.committee.id))
    assert {key: value for key, value in account["handling"].items() if key not in ("open_now", "overdue_now")} == {
        key: value for key, value in handling.items() if key not in ("open_now", "overdue_now")}
    assert account["handling"]["open_now"] == 0 and account["coverage"] is None


async def test_each_scope_counts_its_own(quiet: Runtime, client: AsyncClient) -> None:
    known = await seed_known(quiet)
    await service.rebuild(quiet)

    hanoi = await figures(client, year=2025, province="01")
    assert hanoi["scope"]["name"] == "Thành phố Hà Nội"
    assert hanoi["accounts"]["total"] == 3 and hanoi["handling"]["on_time_percent"] == 66.7
    assert hanoi["interactions"]["messages_in"] == 7 and hanoi["coverage"]["communes_covered"] == 1
    assert hanoi["coverage"]["provinces_total"] == 1
    hcmc = await figures(client, year=2025, province="79")
    assert hcmc["accounts"]["total"] == 2 and hcmc["handling"]["received"] == 0
    assert hcmc["coverage"]["communes_covered"] == 2 and hcmc["interactions"]["messages_in"] == 0

    commune = await figures(client, year=2025, commune=known.hanoi_commune)
    assert commune["accounts"]["total"] == 2 and commune["handling"]["received"] == 3
    assert commune["interactions"]["messages_in"] == 7
    assert (commune["coverage"]["communes_covered"], commune["coverage"]["communes_total"]) == (1, 1)

    # The city's organisation includes the health department's, one level down.
    city = await figures(client, year=2025, organisation=str(known.city))
    assert city["accounts"]["total"] == 2 and city["interactions"]["broadcasts"] == 1
    assert city["interactions"]["messages_in"] == 7 and city["handling"]["received"] == 3
    department = await figures(client, year=2025, organisation=str(known.department_org))
    assert department["accounts"]["total"] == 1 and department["interactions"]["reach"] == 3
    assert department["interactions"]["messages_in"] == 0 and department["handling"]["received"] == 0

    hospital = await figures(client, year=2024, account=str(known.hospital.id))
    assert hospital["follows"]["net_new"] == 4 and hospital["accounts"]["total"] == 1

    # Any period: March 2025 only, then a period across two years.
    march = await figures(client, **{"from": "2025-03-01", "to": "2025-03-31"})
    assert march["handling"]["received"] == 3 and march["handling"]["resolved"] == 2
    assert march["interactions"]["messages_in"] == 7 and march["interactions"]["broadcasts"] == 0
    across = await figures(client, **{"from": "2024-03-10", "to": "2025-03-15"})
    assert across["follows"]["follows"] == 4 and across["interactions"]["messages_in"] == 7
    assert across["coverage"]["divisions"] == "legacy"  # it ends before 1 July 2025


async def test_the_sweep_rolls_up_today_and_agrees_with_a_rebuild(quiet: Runtime, client: AsyncClient) -> None:
    known = await seed_known(quiet)
    first = await service.roll(quiet)  # never built: built from the raw tables
    assert first.rebuilt
    today = vn_today()
    this_year = {"year": today.year}
    assert (await figures(client, **this_year))["follows"]["net_new"] == 4

    from loa.domains.conversations import service as conversations
    from loa.domains.conversations.content import text_content
    from loa.domains.follows import service as follows
    from loa.kit.effects import commit

    async with quiet.session() as session:
        await follows.follow(session, user=known.citizens[8], account_id=known.water.id)
        await commit(session)
    await conversations.send_as_citizen(quiet, citizen=known.citizens[1], account_id=known.water.id,
                                        content=text_content("Nhà tôi mất nước từ sáng, bao giờ có lại?"))
    before = await figures(client, **this_year)
    assert before["follows"]["net_new"] == 4 and before["interactions"]["messages_in"] == 0  # not rolled yet
    rolled = await service.roll(quiet)
    assert not rolled.rebuilt and rolled.last == today
    after = await figures(client, **this_year)
    assert after["follows"]["net_new"] == 5 and after["interactions"]["messages_in"] == 1
    assert after["as_of"] is not None
    # The year's row, its months and today's row agree; rolling again changes nothing.
    await service.roll(quiet)
    to_today = await figures(client, **{"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()})
    assert to_today["follows"] == after["follows"] and to_today["interactions"] == after["interactions"]
    water = await figures(client, account=str(known.water.id), **this_year)
    assert water["follows"]["net_new"] == 1 and water["interactions"]["messages_in"] == 1

    await service.rebuild(quiet)
    assert await figures(client, **this_year) == {**after, "as_of": (await figures(client, **this_year))["as_of"]}
    for year in (2024, 2025):
        rebuilt = await figures(client, year=year)
        assert rebuilt["handling"]["received"] == (3 if year == 2025 else 0)


async def test_a_day_goes_into_its_month_and_year_once_it_settles(quiet: Runtime, client: AsyncClient) -> None:
    from sqlalchemy import select

    from loa.db.base import utcnow
    from loa.domains.conversations import service as conversations
    from loa.domains.conversations.content import text_content
    from loa.domains.stats.models import StatsRollup

    known = await seed_known(quiet)
    await service.roll(quiet)
    await conversations.send_as_citizen(quiet, citizen=known.citizens[1], account_id=known.water.id,
                                        content=text_content("Đồng hồ nước nhà tôi chạy khi không dùng nước."))
    now = utcnow()
    today = vn_today()

    async def water_messages_in() -> tuple[int, int, int]:
        """The water company's messages in: today's row, its month's and its year's."""
        async with quiet.read_session() as session:
            rows = dict((await session.execute(select(StatsRollup.grain, StatsRollup.messages_in).where(
                StatsRollup.scope == "account", StatsRollup.code == str(known.water.id),
                StatsRollup.period.in_([today, date(today.year, today.month, 1), date(today.year, 1, 1)])))).all())
        return rows.get("day", 0), rows.get("month", 0), rows.get("year", 0)

    whole_year = {"year": today.year}
    await service.roll(quiet, now)
    # Today is open: its row has the message, its month and year not yet; the figures add the day to them.
    assert await water_messages_in() == (1, 0, 0)
    national_year = await figures(client, **whole_year)
    assert national_year["interactions"]["messages_in"] == 1
    account_year = await figures(client, account=str(known.water.id), **whole_year)
    assert account_year["interactions"]["messages_in"] == 1

    # Two days on, today has settled: it is added to its month and year once, and the figures stay the same.
    await service.roll(quiet, now + timedelta(days=2))
    assert await water_messages_in() == (1, 1, 1)
    assert {**await figures(client, **whole_year), "as_of": None} == {**national_year, "as_of": None}
    settled_year = await figures(client, account=str(known.water.id), **whole_year)
    assert {**settled_year, "as_of": None} == {**account_year, "as_of": None}
    await service.roll(quiet, now + timedelta(days=3))
    assert await water_messages_in() == (1, 1, 1)


async def test_a_raw_roll_counts_what_was_loaded_in_bulk_today(quiet: Runtime, client: AsyncClient) -> None:
    from loa.db.base import utcnow
    from loa.db.bulk import bulk_insert
    from loa.domains.follows.models import Follow

    known = await seed_known(quiet)
    await service.roll(quiet)
    this_year = {"year": vn_today().year}
    assert (await figures(client, **this_year))["follows"]["net_new"] == 4
    async with quiet.session() as session:  # as a bulk load writes them: no kept daily counts
        await bulk_insert(session, Follow.__table__, (
            {"account_id": known.water.id, "user_id": citizen.id, "commune_code": None, "created_at": utcnow(),
             "last_read_broadcast_id": 0, "push_enabled": True} for citizen in known.citizens[:3]))
        await session.commit()
    await service.roll(quiet)
    assert (await figures(client, **this_year))["follows"]["net_new"] == 4  # the kept counts never saw them
    await service.roll(quiet, raw=True)
    assert (await figures(client, **this_year))["follows"]["net_new"] == 7


async def test_a_partial_rebuild_keeps_the_days_before_it(quiet: Runtime, client: AsyncClient) -> None:
    await seed_known(quiet)
    await service.rebuild(quiet)
    whole = await figures(client, year=2025)
    await service.rebuild(quiet, date(2025, 3, 10))
    again = await figures(client, year=2025)
    assert again["interactions"] == whole["interactions"] and again["handling"] == whole["handling"]
    assert (await figures(client, year=2024))["follows"]["net_new"] == 4


async def test_the_overview(quiet: Runtime, client: AsyncClient) -> None:
    await seed_known(quiet)
    await service.rebuild(quiet)
    response = await client.get("/api/v1/stats/overview")
    assert response.status_code == 200, response.text
    overview = response.json()
    assert {key: overview[key] for key in ("accounts_total", "verified_accounts", "follows_total",
                                           "provinces_total", "provinces_covered", "communes_total",
                                           "communes_covered")} == {
        "accounts_total": 5, "verified_accounts": 4, "follows_total": 8, "provinces_total": 34,
        "provinces_covered": 2, "communes_total": 3321, "communes_covered": 3}
    assert overview["year"] == vn_today().year and overview["as_of"] is not None



def test_a_period_reads_whole_months_and_years_through_the_settled_day_and_days_after_it() -> None:
    from loa.domains.stats.periods import pieces

    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert pieces(*year, None) == [("year", date(2026, 1, 1), date(2026, 1, 1))]
    assert pieces(*year, date(2026, 11, 28)) == [("year", date(2026, 1, 1), date(2026, 1, 1)),
                                                 ("day", date(2026, 11, 29), date(2026, 12, 31))]
    assert pieces(date(2026, 1, 1), date(2026, 11, 29), date(2026, 11, 28)) == [
        ("month", date(2026, 1, 1), date(2026, 10, 1)), ("day", date(2026, 11, 1), date(2026, 11, 29))]
    assert pieces(date(2026, 10, 15), date(2026, 12, 31), date(2026, 11, 3)) == [
        ("day", date(2026, 10, 15), date(2026, 10, 31)), ("month", date(2026, 11, 1), date(2026, 11, 1)),
        ("day", date(2026, 11, 4), date(2026, 12, 31))]
    # Rollups behind the period: its days only.
    assert pieces(date(2025, 1, 1), date(2025, 12, 31), date(2024, 6, 30)) == [
        ("day", date(2025, 1, 1), date(2025, 12, 31))]
    assert pieces(date(2024, 1, 1), date(2025, 12, 31), date(2026, 1, 1)) == [
        ("year", date(2024, 1, 1), date(2025, 1, 1))]
