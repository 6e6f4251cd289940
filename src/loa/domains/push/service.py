"""Web Push of broadcasts: devices, per-account opt-out, quiet hours, planning and sending batches.

A broadcast's pushes are planned as `PushBatch` rows, each a range of follower user ids holding at
most `BATCH_SIZE` recipients, computed by one windowed query (no per-recipient rows). A job sends one
batch, saving its resume point (`next_user_id`) and counts every `push_checkpoint_every` recipients,
so a killed worker resends at most that many; the `push.resume` sweep re-kicks due and stale batches.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import ColumnElement, and_, delete, exists, false, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.db.raw import dialect_insert
from loa.domains.accounts import service as accounts
from loa.domains.broadcasts.models import Broadcast, BroadcastStats
from loa.domains.follows import service as follows
from loa.domains.follows.models import Follow, FollowerTag
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.domains.push.models import PushBatch, PushPreference, PushSubscription
from loa.kit import webpush
from loa.kit.effects import enqueue_after_commit
from loa.kit.errors import AppError, Invalid, NotFound
from loa.kit.ratelimit import parse_limit
from loa.settings import Settings

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BATCH_SIZE = 1000  # recipients per batch: one job's worth of work
STALE_AFTER = timedelta(minutes=5)  # a `sending` batch not checkpointed for this long lost its worker
MAX_SUBSCRIPTIONS_PER_USER = 20  # devices of one person; the oldest goes when a new one comes
DROP_AFTER_FAILURES = 20  # consecutive failed pushes before a subscription is given up
MAX_INLINE_WAIT = 3.0  # seconds a batch waits for rate-limit budget before giving its worker back
TRANSIENT_RETRY_DELAY = 1.0
SEND_JOB = "push.send_batch"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")



# ---- devices ---------------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, code="invalid_subscription", details=[{"field": field, "message": message}])


def validate_endpoint(endpoint: str, settings: Settings) -> str:
    """An https URL of a push service on a public host (http://127.0.0.1 only in tests)."""
    bad = _invalid("endpoint", "Địa chỉ nhận thông báo không hợp lệ / The push endpoint is not valid")
    endpoint = endpoint.strip()
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises on a malformed port
    except ValueError:
        raise bad from None
    if not host or parts.username or parts.password or parts.fragment or len(endpoint) > 1000:
        raise bad
    if settings.env == "test" and host == "127.0.0.1" and parts.scheme in ("http", "https"):
        return endpoint
    if parts.scheme != "https":
        raise _invalid("endpoint", "Địa chỉ nhận thông báo phải dùng https / The push endpoint must use https")
    # Our server will POST to this URL: never to this machine or a private network.
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise bad
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return endpoint
    if not address.is_global:
        raise bad
    return endpoint


def validate_keys(p256dh: str, auth: str) -> None:
    """p256dh: base64url of an uncompressed P-256 point (65 bytes); auth: base64url of 16 bytes."""
    try:
        point = webpush.b64url_decode(p256dh)
        if len(point) != 65 or point[0] != 4:
            raise ValueError("length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise _invalid("keys.p256dh", "Khóa p256dh không hợp lệ / The p256dh key is not valid") from None
    try:
        if len(webpush.b64url_decode(auth)) != 16:
            raise ValueError("length")
    except ValueError:
        raise _invalid("keys.auth", "Khóa auth không hợp lệ / The auth secret is not valid") from None


async def subscribe(session: AsyncSession, *, user: User, endpoint: str, p256dh: str, auth: str,
                    user_agent: str | None, settings: Settings) -> PushSubscription:
    """Register a device (idempotent by endpoint: a browser re-subscribing updates its keys and owner)."""
    endpoint = validate_endpoint(endpoint, settings)
    validate_keys(p256dh, auth)
    values: dict[str, Any] = {"user_id": user.id, "p256dh": p256dh, "auth": auth,
                              "user_agent": (user_agent or "")[:300] or None, "failures": 0}
    statement = (dialect_insert(session)(PushSubscription)
                 .values(endpoint=endpoint, created_at=utcnow(), **values)
                 .on_conflict_do_update(index_elements=[PushSubscription.endpoint], set_=values))
    await session.execute(statement)
    # The newest devices stay: one person does not collect subscriptions without bound.
    keep = (select(PushSubscription.id).where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.id.desc()).limit(MAX_SUBSCRIPTIONS_PER_USER))
    await session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                                         PushSubscription.id.not_in(keep)))
    found = await session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                                 .execution_options(populate_existing=True))
    assert found is not None
    return found


async def unsubscribe(session: AsyncSession, *, user: User, endpoint: str) -> None:
    result = await session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                                                  PushSubscription.endpoint == endpoint.strip()))
    if result.rowcount == 0:
        raise NotFound("Không tìm thấy thiết bị này / No such push subscription", code="subscription_not_found")


async def subscriptions_of(session: AsyncSession, user_id: int) -> list[PushSubscription]:
    rows = await session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)
                                 .order_by(PushSubscription.id))
    return list(rows)


# ---- preferences -----------------------------------------------------------------------------------


def _parse_hhmm(value: str, field: str) -> str:
    if not _HHMM.match(value):
        message = "Giờ phải có dạng HH:MM, ví dụ 22:00 / Times are HH:MM, e.g. 22:00"
        raise Invalid(message, code="invalid_time", details=[{"field": field, "message": message}])
    return value


async def set_quiet_hours(session: AsyncSession, *, user: User, quiet_from: str | None,
                          quiet_until: str | None) -> PushPreference:
    """Quiet hours in Vietnam time ("22:00"–"06:30" spans midnight); both None turns them off."""
    if (quiet_from is None) != (quiet_until is None):
        raise Invalid("Cần cả giờ bắt đầu và giờ kết thúc / Give both the start and the end",
                      code="invalid_quiet_hours")
    if quiet_from is not None and quiet_until is not None:
        _parse_hhmm(quiet_from, "quiet_from")
        _parse_hhmm(quiet_until, "quiet_until")
        if quiet_from == quiet_until:
            raise Invalid("Giờ bắt đầu và kết thúc phải khác nhau / Start and end must differ",
                          code="invalid_quiet_hours")
    statement = (dialect_insert(session)(PushPreference)
                 .values(user_id=user.id, quiet_from=quiet_from, quiet_until=quiet_until)
                 .on_conflict_do_update(index_elements=[PushPreference.user_id],
                                        set_={"quiet_from": quiet_from, "quiet_until": quiet_until}))
    await session.execute(statement)
    found = await session.get(PushPreference, user.id, populate_existing=True)
    assert found is not None
    return found


async def get_quiet_hours(session: AsyncSession, user_id: int) -> tuple[str | None, str | None]:
    found = await session.get(PushPreference, user_id)
    return (found.quiet_from, found.quiet_until) if found else (None, None)


def in_quiet_hours(quiet_from: str | None, quiet_until: str | None, local_hhmm: str) -> bool:
    """Whether "HH:MM" (Vietnam time) falls in [from, until), a window that may span midnight."""
    if not quiet_from or not quiet_until:
        return False
    if quiet_from < quiet_until:
        return quiet_from <= local_hhmm < quiet_until
    return local_hhmm >= quiet_from or local_hhmm < quiet_until


def local_hhmm(now: datetime) -> str:
    return now.astimezone(LOCAL_TZ).strftime("%H:%M")


async def set_account_push(session: AsyncSession, *, user: User, account_id: int, enabled: bool) -> bool:
    """Turn pushes from one followed account on or off (reading its broadcasts is unaffected)."""
    await accounts.get_account(session, account_id)
    result = await session.execute(update(Follow).where(Follow.account_id == account_id, Follow.user_id == user.id)
                                   .values(push_enabled=enabled))
    if result.rowcount == 0:
        raise NotFound("Bạn chưa theo dõi tài khoản này / You do not follow this account", code="not_following")
    return enabled


# ---- planning --------------------------------------------------------------------------------------


async def area_codes(session: AsyncSession, broadcast: Broadcast) -> list[str]:
    """The communes a broadcast's areas cover, resolved once: a literal list plans faster than a subquery
    per follower on PostgreSQL."""
    codes = set(broadcast.target_communes or ())
    for province in broadcast.target_provinces or ():
        codes.update(await session.scalars(geo.commune_codes_query(province)))
    return sorted(codes)


def _targeting(broadcast: Broadcast, areas: Sequence[str]) -> ColumnElement[bool]:
    """Followers the broadcast is for: everyone, or anyone matching one of its terms. Areas are the
    person's current home commune, as in the feed (a citizen who moved gets the new area's news)."""
    if broadcast.target_all:
        return true()
    terms: list[ColumnElement[bool]] = []
    if areas:
        terms.append(exists().where(User.id == Follow.user_id, User.home_commune_code.in_(list(areas))))
    tags = sorted({_tag(tag) for tag in broadcast.target_tags or ()} - {""})
    if tags:
        terms.append(exists().where(FollowerTag.account_id == Follow.account_id,
                                    FollowerTag.user_id == Follow.user_id, FollowerTag.tag.in_(tags)))
    return or_(*terms) if terms else false()


def _tag(tag: str) -> str:
    try:
        return follows.normalise_tag(tag)
    except AppError:
        return ""


def _recipients(broadcast: Broadcast, areas: Sequence[str]) -> list[ColumnElement[bool]]:
    """Conditions on `Follow` for the followers of the broadcast's account who get its push."""
    conditions = [
        Follow.account_id == broadcast.account_id,
        Follow.push_enabled.is_(True),
        _targeting(broadcast, areas),
        exists().where(PushSubscription.user_id == Follow.user_id),
    ]
    if broadcast.published_at is not None:
        conditions.append(Follow.created_at <= broadcast.published_at)  # followers since publication read it
    return conditions


def _not_quiet(hhmm: str) -> ColumnElement[bool]:
    inside = or_(
        and_(PushPreference.quiet_from < PushPreference.quiet_until,
             PushPreference.quiet_from <= hhmm, PushPreference.quiet_until > hhmm),
        and_(PushPreference.quiet_from > PushPreference.quiet_until,
             or_(PushPreference.quiet_from <= hhmm, PushPreference.quiet_until > hhmm)),
    )
    return ~exists().where(PushPreference.user_id == Follow.user_id, inside)


async def plan_push(session: AsyncSession, broadcast: Broadcast) -> int:
    """Write the push batches of a published broadcast and stage one job per batch after commit.

    Resumable and idempotent: it plans only followers after the last batch already planned. Returns
    the number of recipients planned now."""
    after = await session.scalar(select(func.max(PushBatch.until_user_id))
                                 .where(PushBatch.broadcast_id == broadcast.id)) or 0
    areas = await area_codes(session, broadcast)
    numbered = (
        select(Follow.user_id.label("user_id"),
               func.row_number().over(order_by=Follow.user_id).label("n"))
        .where(*_recipients(broadcast, areas), Follow.user_id > after)
        .subquery()
    )
    # Every BATCH_SIZE-th recipient closes a range; the last recipient closes the last one.
    last = select(func.max(numbered.c.n)).scalar_subquery()
    bounds = (await session.execute(
        select(numbered.c.user_id, numbered.c.n)
        .where(or_(numbered.c.n % BATCH_SIZE == 0, numbered.c.n == last))
        .order_by(numbered.c.n)
    )).all()
    if not bounds:
        await _add_planned(session, broadcast.id, 0)
        return 0
    now = utcnow()
    rows, previous_user, previous_n = [], after, 0
    for user_id, n in bounds:
        rows.append({"broadcast_id": broadcast.id, "after_user_id": previous_user, "until_user_id": user_id,
                     "recipients": n - previous_n, "next_user_id": previous_user, "status": "pending",
                     "attempts": 0, "sent": 0, "failed": 0, "created_at": now, "updated_at": now,
                     # The job is enqueued after commit; the sweep re-kicks only if it never ran.
                     "next_attempt_at": now + STALE_AFTER})
        previous_user, previous_n = user_id, n
    ids = list(await session.scalars(insert(PushBatch).returning(PushBatch.id), rows))
    planned = previous_n
    await _add_planned(session, broadcast.id, planned)
    for batch_id in ids:
        enqueue_after_commit(session, SEND_JOB, batch_id=batch_id)
    log.info("push planned", broadcast_id=broadcast.id, recipients=planned, batches=len(ids))
    return planned


async def _add_planned(session: AsyncSession, broadcast_id: int, planned: int) -> None:
    await session.execute(dialect_insert(session)(BroadcastStats).values(broadcast_id=broadcast_id, targeted=0,
                                                                  pushes_planned=0, pushes_sent=0,
                                                                  pushes_failed=0, reads=0)
                          .on_conflict_do_nothing())
    if planned:
        await session.execute(update(BroadcastStats).where(BroadcastStats.broadcast_id == broadcast_id)
                              .values(pushes_planned=BroadcastStats.pushes_planned + planned))


# ---- sending ---------------------------------------------------------------------------------------


def payload_of(broadcast: Broadcast, account_name: str) -> bytes:
    """What the service worker shows; `tag` makes a repeated push replace the first, not stack."""
    return json.dumps({
        "type": "broadcast",
        "broadcast_id": str(broadcast.id),
        "account_id": str(broadcast.account_id),
        "account_name": account_name,
        "title": broadcast.title,
        "kind": broadcast.kind,
        "url": f"/broadcasts/{broadcast.id}",
        "tag": f"broadcast-{broadcast.id}",
    }, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class _Chunk:
    last_user_id: int
    recipients: int
    sent: int = 0
    failed: int = 0
    ok_ids: list[int] | None = None
    gone_ids: list[int] | None = None
    failed_ids: list[int] | None = None


AfterCheckpoint = Callable[[int], Awaitable[None]]  # receives the recipients done so far in this run


async def _claim(runtime: Runtime, batch_id: int) -> int | None:
    """pending → sending, attempts + 1, in one statement: two workers never both win. Returns the
    attempt number, which fences every later write of this run (a run declared dead cannot write)."""
    async with runtime.session() as session:
        result = await session.execute(
            update(PushBatch).where(PushBatch.id == batch_id, PushBatch.status == "pending")
            .values(status="sending", attempts=PushBatch.attempts + 1, updated_at=utcnow())
            .returning(PushBatch.attempts)
        )
        attempt = result.scalar_one_or_none()
        await session.commit()
    return attempt


def _fenced(batch_id: int, attempt: int) -> tuple[ColumnElement[bool], ...]:
    return PushBatch.id == batch_id, PushBatch.status == "sending", PushBatch.attempts == attempt


async def _release(runtime: Runtime, batch_id: int, attempt: int, *, delay: float, failure: bool) -> None:
    """Back to pending, due after `delay`; a failure counts toward push_max_attempts, a wait does not."""
    async with runtime.session() as session:
        values: dict[str, Any] = {"status": "pending", "next_attempt_at": utcnow() + timedelta(seconds=delay),
                                  "updated_at": utcnow()}
        if not failure:
            values["attempts"] = PushBatch.attempts - 1
        elif attempt >= runtime.settings.push_max_attempts:
            values["status"] = "failed"
        await session.execute(update(PushBatch).where(*_fenced(batch_id, attempt)).values(**values))
        await session.commit()


def backoff_seconds(attempt: int) -> float:
    return float(min(30 * 2 ** max(0, attempt - 1), 3600))


async def _finish(runtime: Runtime, batch_id: int, attempt: int) -> None:
    async with runtime.session() as session:
        await session.execute(update(PushBatch).where(*_fenced(batch_id, attempt))
                              .values(status="done", updated_at=utcnow()))
        await session.commit()


async def _next_recipients(runtime: Runtime, broadcast: Broadcast, areas: Sequence[str], after: int, until: int,
                           limit: int, *, quiet_applies: bool) -> list[tuple[int, list[PushSubscription]]]:
    conditions = [*_recipients(broadcast, areas), Follow.user_id > after, Follow.user_id <= until]
    if quiet_applies:
        conditions.append(_not_quiet(local_hhmm(utcnow())))
    async with runtime.read_session() as session:
        user_ids = list(await session.scalars(select(Follow.user_id).where(*conditions)
                                              .order_by(Follow.user_id).limit(limit)))
        if not user_ids:
            return []
        subscriptions = list(await session.scalars(
            select(PushSubscription).where(PushSubscription.user_id.in_(user_ids))
            .order_by(PushSubscription.user_id, PushSubscription.id)))
    by_user: dict[int, list[PushSubscription]] = {user_id: [] for user_id in user_ids}
    for subscription in subscriptions:
        by_user[subscription.user_id].append(subscription)
    return list(by_user.items())


async def _take_budget(runtime: Runtime, account_id: int, cost: int) -> float:
    """Spend `cost` pushes of the per-account and global budgets, waiting briefly if need be.

    Returns 0 when spent, else the seconds until budget is back (the batch is then put aside)."""
    settings = runtime.settings
    limits = (("push.account", str(account_id), settings.push_limit_per_account),
              ("push.global", "all", settings.push_limit_global))
    waited = 0.0
    for name, key, limit in limits:
        spend = max(1, min(cost, parse_limit(limit).amount))
        while not await runtime.limiter.allow(name, key, limit, cost=spend):
            wait = float(await runtime.limiter.retry_after(name, key, limit))
            if waited + wait > MAX_INLINE_WAIT:
                return wait
            await asyncio.sleep(min(wait, 1.0))
            waited += min(wait, 1.0)
    return 0.0


async def _deliver(runtime: Runtime, recipients: Sequence[tuple[int, list[PushSubscription]]], payload: bytes,
                   *, urgency: webpush.Urgency, topic: str) -> tuple[_Chunk, bool]:
    """Send to every subscription of these recipients, concurrently; a transient failure gets one more
    try. Returns the chunk's outcome and whether the push services answered at all."""
    settings = runtime.settings
    slots = asyncio.Semaphore(settings.push_concurrency)

    async def one(subscription: PushSubscription) -> webpush.PushResult:
        async with slots:
            return await webpush.send(subscription, payload, settings=settings, ttl=settings.push_ttl_seconds,
                                      urgency=urgency, topic=topic)

    subscriptions = [subscription for _, subs in recipients for subscription in subs]
    results = dict(zip((s.id for s in subscriptions),
                       await asyncio.gather(*(one(s) for s in subscriptions)), strict=True))
    retry = [s for s in subscriptions if results[s.id].transient]
    if retry and len(retry) < len(subscriptions):
        delay = max([results[s.id].retry_after or TRANSIENT_RETRY_DELAY for s in retry])
        await asyncio.sleep(min(delay, MAX_INLINE_WAIT))
        results.update(zip((s.id for s in retry), await asyncio.gather(*(one(s) for s in retry)), strict=True))
    chunk = _Chunk(last_user_id=recipients[-1][0], recipients=len(recipients), ok_ids=[], gone_ids=[],
                   failed_ids=[])
    answered = not subscriptions or any(not result.transient for result in results.values())
    for _, subs in recipients:
        outcomes = [results[s.id] for s in subs]
        # A recipient counts once: sent if any of their devices took it.
        if any(result.ok for result in outcomes):
            chunk.sent += 1
        elif subs:
            chunk.failed += 1
        for subscription, result in zip(subs, outcomes, strict=True):
            if result.ok:
                chunk.ok_ids.append(subscription.id)  # type: ignore[union-attr]
            elif result.gone:
                chunk.gone_ids.append(subscription.id)  # type: ignore[union-attr]
            else:
                chunk.failed_ids.append(subscription.id)  # type: ignore[union-attr]
    return chunk, answered


async def _checkpoint(runtime: Runtime, batch: PushBatch, attempt: int, chunk: _Chunk) -> bool:
    """Save the resume point, counts and device outcomes in one transaction; False if the claim was lost."""
    now = utcnow()
    async with runtime.session() as session:
        result = await session.execute(
            update(PushBatch).where(*_fenced(batch.id, attempt))
            .values(next_user_id=chunk.last_user_id, sent=PushBatch.sent + chunk.sent,
                    failed=PushBatch.failed + chunk.failed, updated_at=now)
        )
        if result.rowcount != 1:
            await session.rollback()
            return False
        if chunk.sent or chunk.failed:
            await session.execute(update(BroadcastStats).where(BroadcastStats.broadcast_id == batch.broadcast_id)
                                  .values(pushes_sent=BroadcastStats.pushes_sent + chunk.sent,
                                          pushes_failed=BroadcastStats.pushes_failed + chunk.failed))
        if chunk.gone_ids:
            await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(chunk.gone_ids)))
        if chunk.ok_ids:
            await session.execute(update(PushSubscription).where(PushSubscription.id.in_(chunk.ok_ids))
                                  .values(last_success_at=now, failures=0))
        if chunk.failed_ids:
            await session.execute(update(PushSubscription).where(PushSubscription.id.in_(chunk.failed_ids))
                                  .values(failures=PushSubscription.failures + 1))
            await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(chunk.failed_ids),
                                                                 PushSubscription.failures >= DROP_AFTER_FAILURES))
        await session.commit()
    return True


async def send_batch(runtime: Runtime, batch_id: int, *, after_checkpoint: AfterCheckpoint | None = None) -> None:
    """Send one batch from its resume point; a no-op unless the batch is pending (idempotent job)."""
    attempt = await _claim(runtime, batch_id)
    if attempt is None:
        return
    try:
        await _send_claimed(runtime, batch_id, attempt, after_checkpoint)
    except (Exception, asyncio.CancelledError) as exc:
        # Stopped or failed: give the batch back, due again after a backoff (a killed process leaves it
        # `sending`, and the sweep gives it back once stale).
        failure = not isinstance(exc, asyncio.CancelledError)
        delay = backoff_seconds(attempt) if failure else 0.0
        await asyncio.shield(_release(runtime, batch_id, attempt, delay=delay, failure=failure))
        raise


async def _send_claimed(runtime: Runtime, batch_id: int, attempt: int,
                        after_checkpoint: AfterCheckpoint | None) -> None:
    settings = runtime.settings
    async with runtime.read_session() as session:
        batch = await session.get(PushBatch, batch_id)
        broadcast = await session.get(Broadcast, batch.broadcast_id) if batch else None
        account = await accounts.get_account(session, broadcast.account_id) if broadcast else None
        areas = await area_codes(session, broadcast) if broadcast else []
    if batch is None or broadcast is None or account is None or broadcast.status != "published":
        await _finish(runtime, batch_id, attempt)  # withdrawn or gone: nothing more to push
        return
    alert = broadcast.kind == "alert"
    payload = payload_of(broadcast, account.name)
    urgency: webpush.Urgency = "high" if alert else "normal"
    topic = f"broadcast-{broadcast.id}"
    cursor, done = batch.next_user_id, 0
    while True:
        recipients = await _next_recipients(runtime, broadcast, areas, cursor, batch.until_user_id,
                                            settings.push_checkpoint_every, quiet_applies=not alert)
        if not recipients:
            break
        cost = sum(len(subs) for _, subs in recipients)
        wait = await _take_budget(runtime, broadcast.account_id, cost)
        if wait:
            await _release(runtime, batch_id, attempt, delay=wait, failure=False)
            return
        chunk, answered = await _deliver(runtime, recipients, payload, urgency=urgency, topic=topic)
        if not answered:
            # The push services are down or throttling us: try this chunk again later, nothing counted.
            await _release(runtime, batch_id, attempt, delay=backoff_seconds(attempt), failure=True)
            return
        if not await _checkpoint(runtime, batch, attempt, chunk):
            log.warning("push batch taken over by another worker", batch_id=batch_id)
            return
        cursor = chunk.last_user_id
        done += chunk.recipients
        if after_checkpoint is not None:
            await after_checkpoint(done)
    await _finish(runtime, batch_id, attempt)


async def resume(runtime: Runtime, *, limit: int = 10_000) -> int:
    """Give back batches of dead workers and enqueue every due pending batch; returns how many."""
    now = utcnow()
    async with runtime.session() as session:
        await session.execute(update(PushBatch)
                              .where(PushBatch.status == "sending", PushBatch.updated_at < now - STALE_AFTER)
                              .values(status="pending", next_attempt_at=now, updated_at=now))
        due = list(await session.scalars(
            select(PushBatch.id).where(PushBatch.status == "pending", PushBatch.next_attempt_at <= now)
            .order_by(PushBatch.next_attempt_at, PushBatch.id).limit(limit)))
        if due:
            # Not re-kicked again while this job waits in the queue (unless it is lost for STALE_AFTER).
            await session.execute(update(PushBatch).where(PushBatch.id.in_(due))
                                  .values(next_attempt_at=now + STALE_AFTER))
        await session.commit()
    for batch_id in due:
        await runtime.jobs.enqueue(SEND_JOB, batch_id=batch_id)
    if due:
        log.info("push batches re-kicked", batches=len(due))
    return len(due)
