"""Synthetic data: the planned rows land exactly, with the national skew, on real admin units."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loa.domains.accounts.models import ACCOUNT_KINDS, Account, VerificationApplication
from loa.domains.follows.models import Follow
from loa.domains.geo.models import AdminUnit
from loa.domains.people.models import User
from loa.domains.seed import run_seed
from loa.domains.seed.places import load_country
from loa.domains.seed.plan import NATIONAL_ACCOUNTS, TOP_SHARE, plan
from loa.runtime import Runtime


async def _scalar(runtime: Runtime, query):  # type: ignore[no-untyped-def]
    async with runtime.read_session() as session:
        return await session.scalar(query)


async def test_province_seed_loads_exact_counts_with_the_skew(runtime: Runtime) -> None:
    summary = await run_seed(runtime.settings, scale="province", fraction=0.003, province="01", quiet=True)

    follows = await _scalar(runtime, select(func.count()).select_from(Follow))
    assert follows == summary["follows"] > 0
    assert await _scalar(runtime, select(func.count()).select_from(Account)) == summary["accounts"]
    assert await _scalar(runtime, select(func.count()).select_from(User)) == summary["users"]
    assert await _scalar(runtime, select(func.sum(Account.follower_count))) == follows

    async with runtime.read_session() as session:
        # every account's counter equals its follows, one by one
        counted = dict((await session.execute(
            select(Follow.account_id, func.count()).group_by(Follow.account_id))).all())
        counters = dict((await session.execute(select(Account.id, Account.follower_count))).all())
        assert {k: v for k, v in counters.items() if v} == counted

        top = (await session.execute(
            select(Account.name, Account.follower_count).order_by(Account.follower_count.desc()).limit(1))).one()
        assert top.name == "Bộ Y tế"
        assert top.follower_count / follows == pytest.approx(TOP_SHARE, abs=0.01)

        provinces = set(await session.scalars(
            select(AdminUnit.code).where(AdminUnit.scheme == "current", AdminUnit.level == "province")))
        communes = dict((await session.execute(
            select(AdminUnit.code, AdminUnit.province_code)
            .where(AdminUnit.scheme == "current", AdminUnit.level == "commune"))).all())
        rows = (await session.execute(select(Account.province_code, Account.commune_code, Account.kind))).all()
        assert {row.province_code for row in rows} <= provinces
        assert all(communes[row.commune_code] == row.province_code for row in rows if row.commune_code)
        assert {row.kind for row in rows} <= set(ACCOUNT_KINDS)
        # only Hà Nội's own accounts, plus the national ones (seated in Hà Nội too)
        assert {row.province_code for row in rows} == {"01"}

        # a follow records the follower's commune; phones are unique E.164
        mismatched = await session.scalar(
            select(func.count()).select_from(Follow).join(User, User.id == Follow.user_id)
            .where(Follow.commune_code != User.home_commune_code))
        assert mismatched == 0
        phones = list(await session.scalars(select(User.phone)))
        assert len(set(phones)) == len(phones)
        assert all(phone.startswith("+849") and len(phone) == 12 for phone in phones)

        verified = await session.scalar(
            select(func.count()).select_from(Account).where(Account.verification_status == "verified"))
        assert verified / summary["accounts"] > 0.95
        pending = await session.scalar(
            select(func.count()).select_from(Account).where(Account.verification_status == "pending"))
        assert await session.scalar(select(func.count()).select_from(VerificationApplication)) == pending


async def test_seeding_synthetic_data_twice_is_refused(runtime: Runtime) -> None:
    await run_seed(runtime.settings, scale="province", fraction=0.0005, province="96", quiet=True)
    with pytest.raises(RuntimeError, match="already loaded"):
        await run_seed(runtime.settings, scale="province", fraction=0.0005, province="96", quiet=True)


async def test_national_plan_has_every_account_in_all_provinces_and_communes(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        country = await load_country(session)
    national = plan(country, scale="national", fraction=0.1)
    assert len(national.accounts) == NATIONAL_ACCOUNTS
    assert {a.province_code for a in national.accounts} == {p.code for p in country.provinces}
    assert len({a.commune_code for a in national.accounts if a.kind == "commune_committee"}) == 3321
    assert national.follows == sum(a.followers for a in national.accounts)
    assert national.follows == pytest.approx(4_079_249, rel=0.001)  # a tenth of 40.8M
    top = max(national.accounts, key=lambda a: a.followers)
    assert top.name == "Bộ Y tế" and top.followers / national.follows == pytest.approx(TOP_SHARE, abs=0.005)
    # a long tail, not a flat spread: the median account has a small fraction of the mean
    counts = sorted(a.followers for a in national.accounts)
    assert counts[len(counts) // 2] < national.follows / len(counts) / 2

    # fraction scales follows and citizens, never the accounts; the same seed gives the same data
    smaller = plan(country, scale="national", fraction=0.01)
    assert len(smaller.accounts) == NATIONAL_ACCOUNTS
    assert smaller.users == pytest.approx(national.users / 10, rel=0.01)
    again = plan(country, scale="national", fraction=0.01)
    assert [(a.name, a.followers) for a in again.accounts] == [(a.name, a.followers) for a in smaller.accounts]
