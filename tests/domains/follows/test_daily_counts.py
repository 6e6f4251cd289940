"""Follows counted per day: what the console's "new followers today" reads, kept as follows happen."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import add_staff, make_account, make_user

from loa.db.base import utcnow
from loa.domains.follows import service
from loa.kit.effects import commit
from loa.runtime import Runtime


async def _counts(runtime: Runtime, account_id: int, days_ago: int = 0) -> service.DayCounts:
    async with runtime.read_session() as session:
        day = service.vn_day(utcnow() - timedelta(days=days_ago))
        return await service.day_counts(session, account_id=account_id, day=day)


async def test_follows_unfollows_and_blocks_are_counted_on_the_day_once_each(runtime: Runtime) -> None:
    account = await make_account(runtime)
    other = await make_account(runtime, name="Sở Giáo dục Hà Nội")
    owner = await make_user(runtime, email="owner@example.vn")
    await add_staff(runtime, account, owner, "owner")
    citizens = [await make_user(runtime) for _ in range(3)]
    async with runtime.session() as session:
        for citizen in citizens:
            await service.follow(session, user=citizen, account_id=account.id)
        await service.follow(session, user=citizens[0], account_id=account.id)  # again: not a new follow
        await service.follow(session, user=citizens[0], account_id=other.id)
        await commit(session)
    async with runtime.session() as session:
        await service.unfollow(session, user=citizens[1], account_id=account.id)
        await service.unfollow(session, user=citizens[1], account_id=account.id)  # nothing left to end
        await service.block_follower(session, account_id=account.id, actor=owner, user_id=citizens[2].id)
        await commit(session)

    today = await _counts(runtime, account.id)
    assert (today.follows, today.unfollows, today.net) == (3, 2, 1)
    assert (await _counts(runtime, other.id)).follows == 1
    assert await _counts(runtime, account.id, days_ago=1) == service.DayCounts(0, 0)


async def test_a_rolled_back_follow_is_not_counted(runtime: Runtime) -> None:
    account = await make_account(runtime)
    citizen = await make_user(runtime)
    async with runtime.session() as session:
        await service.follow(session, user=citizen, account_id=account.id)
        await session.rollback()
    assert (await _counts(runtime, account.id)).follows == 0
