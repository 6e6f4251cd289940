"""Broadcasts: approval, targeting, quotas, withdrawal, the feed and read cursors, on the real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from tests.factories import BA_DINH, HANOI, add_staff, make_account, make_user

from loa.db.base import utcnow
from loa.domains.accounts.models import Account
from loa.domains.broadcasts import service
from loa.domains.broadcasts.models import Broadcast, BroadcastTarget
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime

HOAN_KIEM = "00070"  # another Hà Nội ward
THU_DAU_MOT = "25747"  # a TP. Hồ Chí Minh ward


@pytest.fixture
async def newsroom(runtime: Runtime) -> dict:
    owner, editor = await make_user(runtime, name="Trưởng phòng"), await make_user(runtime, name="Biên tập")
    account = await make_account(runtime, name="Sở Y tế Hà Nội", owner=owner)
    await add_staff(runtime, account, editor, "editor")
    return {"owner": owner, "editor": editor, "account": account}


async def _follow(runtime: Runtime, user, account: Account) -> None:  # type: ignore[no-untyped-def]
    async with runtime.session() as session:
        await follows.follow(session, user=user, account_id=account.id)
        await commit(session)


async def _publish(runtime: Runtime, newsroom: dict, title: str, **targeting) -> Broadcast:  # type: ignore[no-untyped-def]
    async with runtime.session() as session:
        draft = await service.create_draft(
            session,
            account_id=newsroom["account"].id,
            actor=newsroom["editor"],
            kind="notice",
            title=title,
            body=f"Nội dung: {title}",
            targeting=service.TargetingInput(**targeting),
        )
        await service.submit(session, broadcast_id=draft.id, actor=newsroom["editor"])
        published = await service.approve(session, broadcast_id=draft.id, actor=newsroom["owner"])
        await commit(session)
    return published


async def _titles(runtime: Runtime, user) -> list[str]:  # type: ignore[no-untyped-def]
    async with runtime.read_session() as session:
        rows, _ = await service.feed(session, user=user)
    return [broadcast.title for broadcast, _ in rows]


async def test_editor_composes_admin_approves_and_followers_read(client_as, runtime: Runtime, newsroom: dict) -> None:
    citizen = await make_user(runtime, commune=BA_DINH)
    await _follow(runtime, citizen, newsroom["account"])
    editor: AsyncClient = await client_as(newsroom["editor"])
    draft = await editor.post(
        f"/api/v1/accounts/{newsroom['account'].id}/broadcasts",
        json={
            "kind": "article",
            "title": "Lịch tiêm chủng tháng 12",
            "body": "**Tiêm miễn phí** tại trạm y tế. <script>alert(1)</script> [xem](javascript:alert(2))",
        },
    )
    assert draft.status_code == 201, draft.text
    broadcast_id = draft.json()["id"]
    html = draft.json()["body_html"]
    assert "<script" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert "<strong>Tiêm miễn phí</strong>" in draft.json()["body_html"]
    assert (await editor.post(f"/api/v1/broadcasts/{broadcast_id}/submit")).json()["status"] == "pending"
    refused = await editor.post(f"/api/v1/broadcasts/{broadcast_id}/approve")
    assert refused.status_code == 403
    assert await _titles(runtime, citizen) == []
    owner: AsyncClient = await client_as(newsroom["owner"])
    approved = await owner.post(f"/api/v1/broadcasts/{broadcast_id}/approve")
    assert approved.json()["status"] == "published"
    reader: AsyncClient = await client_as(citizen)
    feed = (await reader.get("/api/v1/me/feed")).json()["items"]
    assert [(item["title"], item["account_name"]) for item in feed] == [("Lịch tiêm chủng tháng 12", "Sở Y tế Hà Nội")]
    assert (await reader.get("/api/v1/me/unread")).json() == [{"account_id": str(newsroom["account"].id), "unread": 1}]
    put = await reader.put(
        f"/api/v1/accounts/{newsroom['account'].id}/read-cursor", json={"broadcast_id": broadcast_id}
    )
    assert put.status_code == 204
    assert (await reader.get("/api/v1/me/unread")).json() == []
    assert (await reader.get(f"/api/v1/broadcasts/{broadcast_id}")).status_code == 200
    reach = (await owner.get(f"/api/v1/broadcasts/{broadcast_id}/reach")).json()
    assert reach["reads"] == 1


async def test_targeting_by_commune_province_and_tag(runtime: Runtime, newsroom: dict) -> None:
    here = await make_user(runtime, name="Ba Đình", commune=BA_DINH)
    nearby = await make_user(runtime, name="Hoàn Kiếm", commune=HOAN_KIEM)
    tagged = await make_user(runtime, name="Hộ nghèo", commune=HOAN_KIEM)
    for citizen in (here, nearby, tagged):
        await _follow(runtime, citizen, newsroom["account"])
    async with runtime.session() as session:
        await follows.tag_follower(
            session, account_id=newsroom["account"].id, actor=newsroom["owner"], user_id=tagged.id, tag="hộ nghèo"
        )
        await commit(session)
    local = await _publish(runtime, newsroom, "Cắt nước Ba Đình", communes=[BA_DINH])
    citywide = await _publish(runtime, newsroom, "Toàn thành phố", provinces=[HANOI])
    subsidy = await _publish(runtime, newsroom, "Trợ cấp", tags=["Hộ Nghèo"])
    assert await _titles(runtime, here) == ["Toàn thành phố", "Cắt nước Ba Đình"]
    assert await _titles(runtime, nearby) == ["Toàn thành phố"]
    assert await _titles(runtime, tagged) == ["Trợ cấp", "Toàn thành phố"]
    async with runtime.read_session() as session:
        counts = [await service.count_targeted(session, b) for b in (local, citywide, subsidy)]
    assert counts == [1, 3, 1]


async def test_the_feed_follows_moves_unfollows_and_blocks(runtime: Runtime, newsroom: dict) -> None:
    citizen = await make_user(runtime, commune=HOAN_KIEM)
    await _publish(runtime, newsroom, "Trước khi theo dõi")
    await _follow(runtime, citizen, newsroom["account"])
    await _publish(runtime, newsroom, "Cho Ba Đình", communes=[BA_DINH])
    assert await _titles(runtime, citizen) == []  # the older one predates the follow; the other targets Ba Đình
    async with runtime.session() as session:
        moved = await session.get(type(citizen), citizen.id)
        moved.home_commune_code = BA_DINH
        await commit(session)
    citizen.home_commune_code = BA_DINH
    assert await _titles(runtime, citizen) == ["Cho Ba Đình"]
    async with runtime.session() as session:
        await follows.block_follower(
            session, account_id=newsroom["account"].id, actor=newsroom["owner"], user_id=citizen.id
        )
        await commit(session)
    assert await _titles(runtime, citizen) == []


async def test_publishing_writes_a_handful_of_rows_whatever_the_audience(runtime: Runtime, newsroom: dict) -> None:
    for _ in range(30):
        await _follow(runtime, await make_user(runtime, commune=BA_DINH), newsroom["account"])
    published = await _publish(runtime, newsroom, "Thông báo chung")
    async with runtime.read_session() as session:
        targets = await session.scalar(
            select(func.count()).select_from(BroadcastTarget).where(BroadcastTarget.broadcast_id == published.id)
        )
    assert targets == 1


@pytest.mark.parametrize(
    ("targeting", "code"),
    [
        ({"provinces": ["79"]}, "area_not_served"),
        ({"communes": [THU_DAU_MOT]}, "area_not_served"),
        ({"communes": ["99999"]}, "invalid"),
        ({"provinces": ["99"]}, "invalid"),
    ],
)
async def test_areas_the_account_does_not_serve_are_refused(
    client_as, runtime: Runtime, newsroom: dict, targeting: dict, code: str
) -> None:
    editor: AsyncClient = await client_as(newsroom["editor"])
    response = await editor.post(
        f"/api/v1/accounts/{newsroom['account'].id}/broadcasts",
        json={"kind": "notice", "title": "Sai vùng", "targeting": targeting},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_unverified_accounts_cannot_publish(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, name="Trường chưa xác minh", kind="school", owner=owner, verified=False)
    async with runtime.session() as session:
        draft = await service.create_draft(session, account_id=account.id, actor=owner, kind="notice", title="Thử")
        await commit(session)
    async with runtime.session() as session:
        with pytest.raises(Exception) as refused:
            await service.approve(session, broadcast_id=draft.id, actor=owner)
    assert getattr(refused.value, "code", None) == "account_not_verified"


async def test_daily_quota_and_scheduled_publishing(runtime: Runtime, newsroom: dict) -> None:
    runtime.settings.__dict__["broadcast_daily_quota"] = 2
    try:
        await _publish(runtime, newsroom, "Một")
        await _publish(runtime, newsroom, "Hai")
        with pytest.raises(Exception) as refused:
            await _publish(runtime, newsroom, "Ba")
        assert getattr(refused.value, "code", None) == "quota_exceeded"
    finally:
        runtime.settings.__dict__["broadcast_daily_quota"] = 10
    async with runtime.session() as session:
        later = await service.create_draft(
            session,
            account_id=newsroom["account"].id,
            actor=newsroom["owner"],
            kind="notice",
            title="Hẹn giờ",
            publish_at=utcnow() + timedelta(hours=1),
        )
        assert (await service.approve(session, broadcast_id=later.id, actor=newsroom["owner"])).status == "scheduled"
        later.publish_at = utcnow() - timedelta(seconds=1)
        await commit(session)
    async with runtime.session() as session:
        assert await service.publish_due(session) == 1
        await commit(session)
        assert (await service.get_broadcast(session, later.id)).status == "published"


async def test_withdrawn_broadcasts_stay_visible_as_withdrawn(client_as, runtime: Runtime, newsroom: dict) -> None:
    citizen = await make_user(runtime, commune=BA_DINH)
    await _follow(runtime, citizen, newsroom["account"])
    published = await _publish(runtime, newsroom, "Tin sai")
    owner: AsyncClient = await client_as(newsroom["owner"])
    withdrawn = await owner.post(
        f"/api/v1/broadcasts/{published.id}/withdraw", json={"reason": "Thông tin chưa chính xác"}
    )
    assert withdrawn.json()["status"] == "withdrawn"
    item = (await (await client_as(citizen)).get("/api/v1/me/feed")).json()["items"][0]
    assert (item["status"], item["body_html"], item["withdraw_reason"]) == (
        "withdrawn",
        None,
        "Thông tin chưa chính xác",
    )


async def test_other_accounts_staff_never_see_drafts(client_as, runtime: Runtime, newsroom: dict) -> None:
    async with runtime.session() as session:
        draft = await service.create_draft(
            session, account_id=newsroom["account"].id, actor=newsroom["editor"], kind="notice", title="Nháp nội bộ"
        )
        await commit(session)
    stranger = await make_user(runtime)
    await make_account(runtime, name="Sở Xây dựng", owner=stranger)
    other: AsyncClient = await client_as(stranger)
    assert (await other.get(f"/api/v1/broadcasts/{draft.id}/manage")).status_code == 404
    assert (await other.get(f"/api/v1/broadcasts/{draft.id}")).status_code == 404
    assert (await other.get(f"/api/v1/accounts/{newsroom['account'].id}/broadcasts/manage")).status_code == 403
    assert (await other.post(f"/api/v1/broadcasts/{draft.id}/approve")).status_code == 404


async def test_publishing_reaches_live_subscribers_after_commit_and_replays(runtime: Runtime, newsroom: dict) -> None:
    channel = f"account:{newsroom['account'].id}"
    async with runtime.bus.subscribe(channel) as subscription:
        first = await _publish(runtime, newsroom, "Mưa lớn chiều nay", communes=[BA_DINH])
        private = await _publish(runtime, newsroom, "Hỗ trợ hộ nghèo", tags=["ho ngheo"])
        _, event = await subscription.get(timeout=5)
        assert (event["id"], event["title"], event["areas"]["communes"]) == (first.id, "Mưa lớn chiều nay", [BA_DINH])
        _, event = await subscription.get(timeout=5)
        assert event["id"] == private.id and event["restricted"] is True and "title" not in event
    missed = await service.replay_account(runtime, channel, first.id - 1)
    assert [(event_id, payload.get("title")) for event_id, _, payload in missed] == [
        (first.id, "Mưa lớn chiều nay"), (private.id, None)]
    assert [event_id for event_id, _, _ in await service.replay_account(runtime, channel, None)] == [private.id]


async def test_reach_counts_the_targeted_followers_after_publishing(client_as, runtime: Runtime,
                                                                    newsroom: dict) -> None:
    for commune in (BA_DINH, BA_DINH, HOAN_KIEM):
        await _follow(runtime, await make_user(runtime, commune=commune), newsroom["account"])
    published = await _publish(runtime, newsroom, "Phun thuốc diệt muỗi", communes=[BA_DINH])
    owner: AsyncClient = await client_as(newsroom["owner"])
    reach: dict = {}
    for _ in range(100):  # the background job counts; give it a moment on either queue
        reach = (await owner.get(f"/api/v1/broadcasts/{published.id}/reach")).json()
        if reach["targeted"]:
            break
        await asyncio.sleep(0.1)
    assert reach["targeted"] == 2


async def test_operators_set_an_accounts_quota(client_as, runtime: Runtime, newsroom: dict) -> None:
    path = f"/api/v1/admin/accounts/{newsroom['account'].id}/broadcast-quota"
    owner: AsyncClient = await client_as(newsroom["owner"])
    assert (await owner.put(path, json={"per_day": 100})).status_code == 403
    operator: AsyncClient = await client_as(await make_user(runtime, operator=True))
    assert (await operator.put(path, json={"per_day": 1})).json()["per_day"] == 1
    await _publish(runtime, newsroom, "Một")
    with pytest.raises(Exception) as refused:
        await _publish(runtime, newsroom, "Hai")
    assert getattr(refused.value, "code", None) == "quota_exceeded"
    assert (await operator.put(path, json={"per_day": None})).json()["per_day"] == 10
    assert (await operator.put(path, json={"per_day": 0})).status_code == 422


async def test_a_lost_planning_job_is_planned_again_by_the_sweep(runtime: Runtime, newsroom: dict) -> None:
    from loa.domains.broadcasts.tasks import plan_push

    published = await _publish(runtime, newsroom, "Thông báo mất điện")
    for _ in range(100):  # let the real planning job finish first (it runs in the background)
        async with runtime.read_session() as session:
            if (await service.get_broadcast(session, published.id)).push_planned_at is not None:
                break
        await asyncio.sleep(0.1)
    async with runtime.session() as session:  # as if the process had died before the job ran
        row = await service.get_broadcast(session, published.id)
        row.push_planned_at, row.published_at = None, utcnow() - timedelta(minutes=5)
        await commit(session)
    async with runtime.read_session() as session:
        assert await service.unplanned_broadcasts(session, older_than=timedelta(minutes=2)) == [published.id]
    await plan_push(runtime, broadcast_id=published.id)
    async with runtime.read_session() as session:
        assert await service.unplanned_broadcasts(session, older_than=timedelta(minutes=2)) == []


async def test_a_page_starts_its_live_stream_where_it_was_drawn(runtime: Runtime, newsroom: dict) -> None:
    """A page drawn before something is published, whose stream opens after, still hears of it: the position it
    passes is the newest published broadcast, and the replay from there holds the newcomer."""
    other = await make_account(runtime, name="Sở Giáo dục Hà Nội")
    shown = await _publish(runtime, newsroom, "Đã có trên trang")
    async with runtime.session() as session:
        await service.create_draft(session, account_id=newsroom["account"].id, actor=newsroom["editor"],
                                   kind="notice", title="Bản nháp chưa đăng")
        await commit(session)
    async with runtime.read_session() as session:
        positions = await service.latest_published(session, [newsroom["account"].id, other.id])
    assert positions == {newsroom["account"].id: shown.id, other.id: 0}  # a draft is no position
    await _publish(runtime, newsroom, "Đăng sau khi trang đã hiện")
    account_id = newsroom["account"].id
    later = await service.replay_account(runtime, f"account:{account_id}", positions[account_id])
    assert [payload["title"] for _, _, payload in later] == ["Đăng sau khi trang đã hiện"]
