"""Planning push batches and delivering them to a local push service that decrypts every push."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update
from tests.domains.push.conftest import batches, follower, plan, published, wait_done
from tests.domains.push.fakes import FakeBrowser, FakePushService, b64url
from tests.factories import BA_DINH, HANOI, make_account, make_user

from loa.db.base import utcnow
from loa.domains.broadcasts.models import Broadcast, BroadcastStats
from loa.domains.follows import service as follows
from loa.domains.follows.models import Follow
from loa.domains.people.models import User
from loa.domains.push import service
from loa.domains.push.models import PushBatch, PushSubscription
from loa.kit.effects import commit
from loa.runtime import Runtime

HOAN_KIEM = "00070"  # another Hà Nội ward
THU_DAU_MOT = "25747"  # a TP. Hồ Chí Minh ward


class Killed(BaseException):
    """The process dies: nothing after this line runs, not even `except Exception` clean-up."""


def _settings(runtime: Runtime, **changes: object) -> None:
    runtime.settings = runtime.settings.model_copy(update=changes)


async def _stats(runtime: Runtime, broadcast_id: int) -> BroadcastStats:
    async with runtime.read_session() as session:
        stats = await session.get(BroadcastStats, broadcast_id)
    assert stats is not None
    return stats


async def test_planning_follows_the_targeting(runtime: Runtime, push_service: FakePushService) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    other_account = await make_account(runtime, name="Công an Hà Nội", kind="police")
    ba_dinh, _ = await follower(runtime, account, push_service, commune=BA_DINH)
    hoan_kiem, _ = await follower(runtime, account, push_service, commune=HOAN_KIEM)
    saigon, _ = await follower(runtime, account, push_service, commune=THU_DAU_MOT)
    await follower(runtime, account, None, commune=BA_DINH)  # no device: nothing to push to
    muted, _ = await follower(runtime, account, push_service, commune=BA_DINH)
    await follower(runtime, other_account, push_service, commune=BA_DINH)  # another account's follower
    async with runtime.session() as session:
        await service.set_account_push(session, user=muted, account_id=account.id, enabled=False)
        await follows.tag_follower(session, account_id=account.id, actor=owner, user_id=saigon.id, tag="Hộ nghèo")
        await commit(session)
    async with runtime.read_session() as session:
        rows = await session.execute(select(PushSubscription.endpoint, PushSubscription.user_id))
        owners = {endpoint.rsplit("/", 1)[1]: user_id for endpoint, user_id in rows.all()}

    async def pushed_to(**targeting: object) -> set[int]:
        broadcast = await published(runtime, account, **targeting)
        count = await plan(runtime, broadcast, run_jobs=True)
        if count:
            await wait_done(runtime, broadcast)
        assert (await _stats(runtime, broadcast.id)).pushes_planned == count
        got = [owners[r.token] for r in push_service.received if r.payload["broadcast_id"] == str(broadcast.id)]
        assert len(got) == len(set(got)) == count
        return set(got)

    assert await pushed_to() == {ba_dinh.id, hoan_kiem.id, saigon.id}
    assert await pushed_to(provinces=[HANOI]) == {ba_dinh.id, hoan_kiem.id}
    assert await pushed_to(communes=[HOAN_KIEM]) == {hoan_kiem.id}
    assert await pushed_to(tags=["ho ngheo"]) == {saigon.id}
    assert await pushed_to(communes=[HOAN_KIEM], tags=["Hộ Nghèo"]) == {hoan_kiem.id, saigon.id}
    assert await pushed_to(communes=["99999"]) == set()
    assert push_service.errors == []


async def _bulk_followers(runtime: Runtime, account_id: int, count: int, *, every_nth_without_device: int) -> int:
    """Many followers at once (set-based), some without a device; returns how many have one."""
    now = utcnow()
    async with runtime.session() as session:
        first = (await session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0) + 1
        users = [{"id": first + i, "phone": f"+8490{first + i:07d}", "display_name": f"N{i}", "locale": "vi",
                  "is_operator": False, "created_at": now} for i in range(count)]
        await session.execute(insert(User), users)
        await session.execute(insert(Follow), [{"account_id": account_id, "user_id": u["id"], "commune_code": None,
                                                "created_at": now - timedelta(seconds=5),
                                                "last_read_broadcast_id": 0, "push_enabled": True}
                                               for u in users])
        with_device = [u for i, u in enumerate(users) if i % every_nth_without_device]
        await session.execute(insert(PushSubscription), [
            {"user_id": u["id"], "endpoint": f"https://push.example.net/{u['id']}", "p256dh": "k", "auth": "a",
             "created_at": now, "failures": 0} for u in with_device])
        await session.commit()
    return len(with_device)


async def test_batches_hold_at_most_a_thousand_and_planning_is_idempotent(runtime: Runtime) -> None:
    account = await make_account(runtime)
    expected = await _bulk_followers(runtime, account.id, 2_600, every_nth_without_device=10)
    broadcast = await published(runtime, account)
    assert await plan(runtime, broadcast) == expected == 2_340
    found = await batches(runtime, broadcast)
    assert [batch.recipients for batch in found] == [1000, 1000, 340]
    # Contiguous ranges: every recipient in exactly one batch.
    assert found[0].after_user_id == 0
    assert all(a.until_user_id == b.after_user_id for a, b in itertools.pairwise(found))
    assert all(batch.next_user_id == batch.after_user_id and batch.status == "pending" for batch in found)
    assert await plan(runtime, broadcast) == 0  # planned twice: nothing new
    assert len(await batches(runtime, broadcast)) == 3
    assert (await _stats(runtime, broadcast.id)).pushes_planned == 2_340


async def test_every_follower_gets_one_encrypted_push(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime, name="Sở Y tế Hà Nội")
    people = [await follower(runtime, account, push_service, devices=2 if i == 0 else 1) for i in range(4)]
    broadcast = await published(runtime, account, title="Lịch tiêm chủng tháng 7")
    assert await plan(runtime, broadcast, run_jobs=True) == 4
    [batch] = await wait_done(runtime, broadcast)
    assert (batch.status, batch.sent, batch.failed) == ("done", 4, 0)
    assert push_service.errors == []
    assert sorted(push_service.tokens()) == sorted(b.token for _, browsers in people for b in browsers)
    got = push_service.received[0]
    assert got.payload == {"type": "broadcast", "broadcast_id": str(broadcast.id), "account_id": str(account.id),
                           "account_name": "Sở Y tế Hà Nội", "title": "Lịch tiêm chủng tháng 7", "kind": "notice",
                           "url": f"/broadcasts/{broadcast.id}", "tag": f"broadcast-{broadcast.id}"}
    assert got.headers["Content-Encoding"] == "aes128gcm"
    assert got.headers["Urgency"] == "normal" and got.headers["Topic"] == f"broadcast-{broadcast.id}"
    assert int(got.headers["TTL"]) == runtime.settings.push_ttl_seconds
    stats = await _stats(runtime, broadcast.id)
    assert (stats.pushes_planned, stats.pushes_sent, stats.pushes_failed) == (4, 4, 0)


def _window_around_now() -> tuple[str, str]:
    now = utcnow().astimezone(service.LOCAL_TZ)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return start.strftime("%H:%M"), end.strftime("%H:%M")


async def test_quiet_hours_hold_back_notices_but_not_alerts(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime)
    sleeper, [sleeper_phone] = await follower(runtime, account, push_service)
    _, [awake_phone] = await follower(runtime, account, push_service)
    quiet_from, quiet_until = _window_around_now()  # may span midnight; both cases are handled
    async with runtime.session() as session:
        await service.set_quiet_hours(session, user=sleeper, quiet_from=quiet_from, quiet_until=quiet_until)
        await commit(session)
    assert service.in_quiet_hours(quiet_from, quiet_until, service.local_hhmm(utcnow()))
    notice = await published(runtime, account, kind="notice")
    await plan(runtime, notice, run_jobs=True)
    await wait_done(runtime, notice)
    assert push_service.tokens() == [awake_phone.token]
    alert = await published(runtime, account, kind="alert", title="Cảnh báo lũ quét")
    await plan(runtime, alert, run_jobs=True)
    await wait_done(runtime, alert)
    alerts = [r for r in push_service.received if r.payload["kind"] == "alert"]
    assert sorted(r.token for r in alerts) == sorted([awake_phone.token, sleeper_phone.token])
    assert {r.headers["Urgency"] for r in alerts} == {"high"}


def test_quiet_hours_windows() -> None:
    assert service.in_quiet_hours("22:00", "06:30", "23:59")
    assert service.in_quiet_hours("22:00", "06:30", "03:00")
    assert not service.in_quiet_hours("22:00", "06:30", "06:30")
    assert service.in_quiet_hours("12:00", "13:00", "12:30")
    assert not service.in_quiet_hours("12:00", "13:00", "21:00")
    assert not service.in_quiet_hours(None, None, "12:00")


async def test_a_gone_subscription_is_removed(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime)
    _, [gone] = await follower(runtime, account, push_service)
    _, [kept] = await follower(runtime, account, push_service)
    push_service.status[gone.token] = 410
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast, run_jobs=True)
    [batch] = await wait_done(runtime, broadcast)
    assert (batch.sent, batch.failed) == (1, 1)
    assert push_service.tokens() == [kept.token]
    async with runtime.read_session() as session:
        endpoints = set(await session.scalars(select(PushSubscription.endpoint)))
    assert endpoints == {f"{push_service.base_url}/push/{kept.token}"}
    stats = await _stats(runtime, broadcast.id)
    assert (stats.pushes_sent, stats.pushes_failed) == (1, 1)


async def _crash_and_resume(runtime: Runtime, push_service: FakePushService, broadcast: Broadcast, *,
                            people: int) -> dict[str, int]:
    """After the process 'died', let the sweep hand the batch to a new run; count pushes per browser."""
    batch = (await batches(runtime, broadcast))[0]
    async with runtime.session() as session:  # the dead worker's last checkpoint is long ago
        await session.execute(update(PushBatch).where(PushBatch.id == batch.id)
                              .values(updated_at=utcnow() - timedelta(minutes=6)))
        await session.commit()
    assert await service.resume(runtime) == 1
    await wait_done(runtime, broadcast)
    counts: dict[str, int] = {}
    for token in push_service.tokens():
        counts[token] = counts.get(token, 0) + 1
    assert len(counts) == people, "a recipient was lost"
    return counts


async def test_a_killed_batch_resumes_without_loss_or_repeats(runtime: Runtime, push_service: FakePushService) -> None:
    _settings(runtime, push_checkpoint_every=1)
    account = await make_account(runtime)
    for _ in range(7):
        await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    [batch] = await batches(runtime, broadcast)

    async def die_after_three(done: int) -> None:
        if done == 3:
            raise Killed

    with pytest.raises(Killed):
        await service.send_batch(runtime, batch.id, after_checkpoint=die_after_three)
    [left] = await batches(runtime, broadcast)
    assert (left.status, left.sent, len(push_service.received)) == ("sending", 3, 3)
    assert await service.resume(runtime) == 0  # a live worker's batch is not taken from it
    counts = await _crash_and_resume(runtime, push_service, broadcast, people=7)
    assert set(counts.values()) == {1}  # checkpoint after every recipient: no repeats at all
    [done] = await batches(runtime, broadcast)
    assert (done.status, done.sent, done.attempts) == ("done", 7, 2)


async def test_a_crash_between_send_and_checkpoint_repeats_at_most_one_step(
        runtime: Runtime, push_service: FakePushService, monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(runtime, push_checkpoint_every=3)
    account = await make_account(runtime)
    for _ in range(8):
        await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    [batch] = await batches(runtime, broadcast)
    real_checkpoint = service._checkpoint
    calls = 0

    async def dies_on_second(*args: object, **kwargs: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second step was sent, and the process died before saving it
            raise Killed
        return await real_checkpoint(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "_checkpoint", dies_on_second)
    with pytest.raises(Killed):
        await service.send_batch(runtime, batch.id)
    monkeypatch.setattr(service, "_checkpoint", real_checkpoint)
    assert len(push_service.received) == 6
    counts = await _crash_and_resume(runtime, push_service, broadcast, people=8)
    repeats = sum(n - 1 for n in counts.values())
    assert repeats == 3 <= runtime.settings.push_checkpoint_every
    [done] = await batches(runtime, broadcast)
    assert (done.status, done.sent) == ("done", 8)


async def test_two_workers_never_send_one_batch(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime)
    for _ in range(5):
        await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    [batch] = await batches(runtime, broadcast)
    await asyncio.gather(*(service.send_batch(runtime, batch.id) for _ in range(4)))
    assert len(push_service.received) == 5
    assert (await batches(runtime, broadcast))[0].attempts == 1


@pytest.mark.parametrize("setting", ["push_limit_per_account", "push_limit_global"])
async def test_rate_limits_hold_a_batch_back(runtime: Runtime, push_service: FakePushService, setting: str) -> None:
    _settings(runtime, push_checkpoint_every=1, **{setting: "3/minute"})
    account = await make_account(runtime)
    for _ in range(5):
        await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    [batch] = await batches(runtime, broadcast)
    await service.send_batch(runtime, batch.id)
    [held] = await batches(runtime, broadcast)
    assert len(push_service.received) == 3
    assert (held.status, held.sent, held.attempts) == ("pending", 3, 0)  # a wait is not a failed attempt
    assert held.next_attempt_at > utcnow() + timedelta(seconds=30)
    await runtime.limiter.reset()  # a minute later
    async with runtime.session() as session:
        await session.execute(update(PushBatch).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await service.resume(runtime) == 1
    await wait_done(runtime, broadcast)
    assert sorted(push_service.tokens()) == sorted(set(push_service.tokens())) and len(push_service.received) == 5


async def test_a_push_service_outage_is_retried_with_backoff(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime)
    for _ in range(3):
        await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    [batch] = await batches(runtime, broadcast)
    push_service.default_status = 503
    await service.send_batch(runtime, batch.id)
    [waiting] = await batches(runtime, broadcast)
    assert (waiting.status, waiting.sent, waiting.failed, waiting.attempts) == ("pending", 0, 0, 1)
    assert waiting.next_attempt_at > utcnow() + timedelta(seconds=20)
    push_service.default_status = 201
    async with runtime.session() as session:
        await session.execute(update(PushBatch).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await service.resume(runtime) == 1
    [done] = await wait_done(runtime, broadcast)
    assert (done.status, done.sent, done.attempts) == ("done", 3, 2)
    assert len(push_service.received) == 3


async def test_a_withdrawn_broadcast_is_not_pushed(runtime: Runtime, push_service: FakePushService) -> None:
    account = await make_account(runtime)
    await follower(runtime, account, push_service)
    broadcast = await published(runtime, account)
    await plan(runtime, broadcast)
    async with runtime.session() as session:
        await session.execute(update(Broadcast).where(Broadcast.id == broadcast.id)
                              .values(status="withdrawn"))
        await session.commit()
    [batch] = await batches(runtime, broadcast)
    await service.send_batch(runtime, batch.id)
    assert push_service.received == []
    assert (await batches(runtime, broadcast))[0].status == "done"


def test_endpoint_rules(runtime: Runtime) -> None:
    production = runtime.settings.model_copy(update={"env": "production"})
    service.validate_endpoint("https://updates.push.services.mozilla.com/wpush/v2/x", production)
    service.validate_endpoint("http://127.0.0.1:9/push/x", runtime.settings)  # tests only
    for endpoint in ("http://127.0.0.1:9/push/x", "https://[::1]/x", "https://169.254.169.254/latest",
                     "https://printer.local/x", "https://push.example.com:99999/x"):
        with pytest.raises(Exception, match="endpoint"):
            service.validate_endpoint(endpoint, production)
    browser = FakeBrowser()
    service.validate_keys(browser.p256dh, b64url(browser.auth))
