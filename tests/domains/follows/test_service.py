"""Follows: counts stay exact, blocks hold, and staff see only their own account's followers."""

from __future__ import annotations

import pytest
from tests.factories import BA_DINH, add_staff, make_account, make_user

from loa.domains.accounts import service as accounts
from loa.domains.follows import service
from loa.kit.effects import commit
from loa.kit.errors import Forbidden, NotFound
from loa.runtime import Runtime


async def _follow(runtime: Runtime, user, account) -> None:  # type: ignore[no-untyped-def]
    async with runtime.session() as session:
        await service.follow(session, user=user, account_id=account.id)
        await commit(session)


async def _count(runtime: Runtime, account) -> int:  # type: ignore[no-untyped-def]
    async with runtime.read_session() as session:
        return (await accounts.get_account(session, account.id)).follower_count


async def test_following_twice_counts_once_and_records_the_commune(runtime: Runtime) -> None:
    citizen = await make_user(runtime, commune=BA_DINH)
    account = await make_account(runtime)
    await _follow(runtime, citizen, account)
    await _follow(runtime, citizen, account)
    assert await _count(runtime, account) == 1
    async with runtime.read_session() as session:
        rows, _ = await service.followed_accounts(session, user=citizen, cursor=None, limit=10)
    assert [(a.id, f.commune_code) for a, f in rows] == [(account.id, BA_DINH)]


async def test_unfollow_decrements_once(runtime: Runtime) -> None:
    citizen = await make_user(runtime)
    account = await make_account(runtime)
    await _follow(runtime, citizen, account)
    async with runtime.session() as session:
        assert await service.unfollow(session, user=citizen, account_id=account.id) is True
        assert await service.unfollow(session, user=citizen, account_id=account.id) is False
        await commit(session)
    assert await _count(runtime, account) == 0


async def test_following_an_unknown_account_is_not_found(runtime: Runtime) -> None:
    citizen = await make_user(runtime)
    async with runtime.session() as session:
        with pytest.raises(NotFound):
            await service.follow(session, user=citizen, account_id=999_999)


async def test_a_blocked_citizen_loses_the_follow_and_cannot_follow_again(runtime: Runtime) -> None:
    owner, citizen = await make_user(runtime), await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    await _follow(runtime, citizen, account)
    async with runtime.session() as session:
        await service.block_follower(session, account_id=account.id, actor=owner, user_id=citizen.id, reason="spam")
        await commit(session)
    assert await _count(runtime, account) == 0
    async with runtime.session() as session:
        with pytest.raises(Forbidden) as refused:
            await service.follow(session, user=citizen, account_id=account.id)
    assert refused.value.code == "blocked"
    async with runtime.session() as session:
        await service.unblock_follower(session, account_id=account.id, actor=owner, user_id=citizen.id)
        await commit(session)
    await _follow(runtime, citizen, account)
    assert await _count(runtime, account) == 1


async def test_staff_list_filter_and_tag_their_own_followers_only(runtime: Runtime) -> None:
    owner_a, owner_b = await make_user(runtime), await make_user(runtime)
    viewer = await make_user(runtime)
    account_a = await make_account(runtime, name="Công an phường Ba Đình", kind="police", owner=owner_a)
    account_b = await make_account(runtime, name="Cấp nước Hà Nội", kind="water", owner=owner_b)
    await add_staff(runtime, account_a, viewer, "viewer")
    here = await make_user(runtime, name="Nguyễn Văn An", commune=BA_DINH)
    elsewhere = await make_user(runtime, name="Trần Thị Bình", commune="25747")
    for citizen in (here, elsewhere):
        await _follow(runtime, citizen, account_a)
    async with runtime.session() as session:
        await service.tag_follower(session, account_id=account_a.id, actor=owner_a, user_id=here.id, tag="Hộ nghèo")
        await commit(session)
    async with runtime.read_session() as session:
        everyone, _ = await service.list_followers(session, account_id=account_a.id, actor=owner_a)
        assert {f.display_name for f in everyone} == {"Nguyễn Văn An", "Trần Thị Bình"}
        local, _ = await service.list_followers(session, account_id=account_a.id, actor=owner_a,
                                                commune_code=BA_DINH)
        assert [f.display_name for f in local] == ["Nguyễn Văn An"]
        in_hanoi, _ = await service.list_followers(session, account_id=account_a.id, actor=owner_a,
                                                   province_code="01")
        assert [f.display_name for f in in_hanoi] == ["Nguyễn Văn An"]
        tagged, _ = await service.list_followers(session, account_id=account_a.id, actor=owner_a, tag="ho ngheo")
        assert [(f.display_name, f.tags) for f in tagged] == [("Nguyễn Văn An", ["ho ngheo"])]
        with pytest.raises(Forbidden):
            await service.list_followers(session, account_id=account_a.id, actor=owner_b)
        with pytest.raises(Forbidden):
            await service.list_followers(session, account_id=account_a.id, actor=viewer)
        assert (await service.list_followers(session, account_id=account_b.id, actor=owner_b))[0] == []


async def test_follower_pages_cover_everyone_once(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    citizens = [await make_user(runtime) for _ in range(7)]
    for citizen in citizens:
        await _follow(runtime, citizen, account)
    seen: list[int] = []
    cursor = None
    async with runtime.read_session() as session:
        while True:
            page, cursor = await service.list_followers(session, account_id=account.id, actor=owner, cursor=cursor,
                                                        limit=3)
            seen += [f.user_id for f in page]
            if cursor is None:
                break
    assert sorted(seen) == sorted(c.id for c in citizens)


async def test_forgetting_a_user_keeps_every_count_exact(runtime: Runtime) -> None:
    citizen = await make_user(runtime)
    first, second = await make_account(runtime, name="Sở A"), await make_account(runtime, name="Sở B")
    await _follow(runtime, citizen, first)
    await _follow(runtime, citizen, second)
    async with runtime.session() as session:
        await service.forget_follows(session, citizen.id)
        await commit(session)
    assert (await _count(runtime, first), await _count(runtime, second)) == (0, 0)
