"""Broadcasts: compose → approve → schedule/publish → (withdraw), and the citizen's feed.

A broadcast is stored once with its targeting; a follower's feed is read by joining their follows to
the broadcasts' targeting terms (fan-out on read), so publishing to ten million followers writes a
handful of rows. The only per-recipient work, push delivery, is planned by a job after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.kinds import NATIONAL_KINDS
from loa.domains.accounts.models import Account
from loa.domains.broadcasts.models import (
    AccountBroadcastQuota,
    Broadcast,
    BroadcastRead,
    BroadcastStats,
    BroadcastTarget,
)
from loa.domains.follows import service as follows
from loa.domains.follows.models import Follow, FollowerTag
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import enqueue_after_commit, publish_after_commit, runtime_of
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.richtext import render_markdown
from loa.kit.sse import replay_source
from loa.kit.text import clean_line

VN = ZoneInfo("Asia/Ho_Chi_Minh")
COMPOSERS = ("owner", "admin", "editor")
APPROVERS = ("owner", "admin")
EDITABLE = ("draft", "rejected")
BODY_LIMITS = {"article": 50_000, "notice": 2_000, "alert": 1_000}
UNREAD_CAP = 100


@dataclass(frozen=True)
class TargetingInput:
    provinces: Sequence[str] = ()
    communes: Sequence[str] = ()
    tags: Sequence[str] = ()


# --- composing ------------------------------------------------------------------------------------


async def _validate_targeting(session: AsyncSession, account: Account, targeting: TargetingInput) -> TargetingInput:
    """Known areas, and only areas the account serves: a commune's account its commune, a province's
    account its province, a national account anywhere."""
    provinces = sorted(set(targeting.provinces))
    communes = sorted(set(targeting.communes))
    tags = sorted({follows.normalise_tag(tag) for tag in targeting.tags})
    national = account.kind in NATIONAL_KINDS
    for code in provinces:
        await geo.require_province(session, code, field="targeting.provinces")
        if not national and (account.commune_code is not None or code != account.province_code):
            raise Invalid(f"Tài khoản không phục vụ tỉnh/thành phố {code} / The account does not serve that province",
                          code="area_not_served")
    for code in communes:
        commune = await geo.require_commune(session, code, field="targeting.communes")
        if not national and (commune.province_code != account.province_code
                             or (account.commune_code is not None and code != account.commune_code)):
            raise Invalid(f"Tài khoản không phục vụ xã/phường {code} / The account does not serve that commune",
                          code="area_not_served")
    return TargetingInput(provinces, communes, tags)


def _check_body(kind: str, body: str) -> None:
    if len(body) > BODY_LIMITS[kind]:
        raise Invalid(f"Nội dung quá dài (tối đa {BODY_LIMITS[kind]} ký tự) / Body too long for a {kind}",
                      code="body_too_long")


def _check_publish_at(publish_at: datetime | None) -> datetime | None:
    if publish_at is None:
        return None
    if publish_at.tzinfo is None:
        raise Invalid("Thời điểm đăng cần múi giờ / publish_at needs a time zone", code="naive_datetime")
    if publish_at > utcnow() + timedelta(days=366):
        raise Invalid("Chỉ hẹn giờ trong vòng một năm / Schedule within a year", code="too_far")
    return publish_at


async def create_draft(session: AsyncSession, *, account_id: int, actor: User, kind: str, title: str, body: str = "",
                       cover_url: str | None = None, attachments: list[dict[str, Any]] | None = None,
                       targeting: TargetingInput = TargetingInput(), publish_at: datetime | None = None) -> Broadcast:
    account = await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, COMPOSERS)
    title = clean_line(title)
    if not title:
        raise Invalid("Cần có tiêu đề / A title is required", code="title_required")
    _check_body(kind, body)
    checked = await _validate_targeting(session, account, targeting)
    broadcast = Broadcast(
        account_id=account_id, kind=kind, status="draft", title=title, body_source=body,
        body_html=render_markdown(body), cover_url=cover_url, attachments=attachments or [],
        target_all=not (checked.provinces or checked.communes or checked.tags),
        target_provinces=list(checked.provinces), target_communes=list(checked.communes),
        target_tags=list(checked.tags), created_by=actor.id, publish_at=_check_publish_at(publish_at),
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound("Không tìm thấy bản tin / Broadcast not found", code="broadcast_not_found")
    return broadcast


async def staff_broadcast(session: AsyncSession, broadcast_id: int, actor: User,
                          roles: Sequence[str] = accounts.STAFF_ROLES) -> Broadcast:
    """The broadcast, for staff of its own account only (others get 404: drafts are not public)."""
    broadcast = await get_broadcast(session, broadcast_id)
    if await accounts.member_role(session, broadcast.account_id, actor.id) is None:
        raise NotFound("Không tìm thấy bản tin / Broadcast not found", code="broadcast_not_found")
    await accounts.require_role(session, broadcast.account_id, actor, roles)
    return broadcast


async def edit_draft(session: AsyncSession, *, broadcast_id: int, actor: User, changes: dict[str, Any]) -> Broadcast:
    broadcast = await staff_broadcast(session, broadcast_id, actor, COMPOSERS)
    if broadcast.status not in EDITABLE:
        raise Conflict("Chỉ sửa được bản nháp / Only drafts can be edited", code="not_editable")
    account = await accounts.get_account(session, broadcast.account_id)
    if changes.get("kind"):
        broadcast.kind = changes["kind"]
    if changes.get("title") is not None:
        broadcast.title = clean_line(changes["title"]) or broadcast.title
    if changes.get("body") is not None:
        broadcast.body_source = changes["body"]
    _check_body(broadcast.kind, broadcast.body_source)
    broadcast.body_html = render_markdown(broadcast.body_source)
    for field in ("cover_url", "attachments"):
        if field in changes and changes[field] is not None:
            setattr(broadcast, field, changes[field])
    if changes.get("targeting") is not None:
        checked = await _validate_targeting(session, account, TargetingInput(**changes["targeting"]))
        broadcast.target_provinces, broadcast.target_communes = list(checked.provinces), list(checked.communes)
        broadcast.target_tags = list(checked.tags)
        broadcast.target_all = not (checked.provinces or checked.communes or checked.tags)
    if "publish_at" in changes:
        broadcast.publish_at = _check_publish_at(changes["publish_at"])
    broadcast.status = "draft"
    await session.flush()
    return broadcast


# --- approval and publishing ----------------------------------------------------------------------


async def submit(session: AsyncSession, *, broadcast_id: int, actor: User) -> Broadcast:
    broadcast = await staff_broadcast(session, broadcast_id, actor, COMPOSERS)
    if broadcast.status not in EDITABLE:
        raise Conflict("Bản tin đã được gửi duyệt / Already submitted", code="not_editable")
    broadcast.status = "pending"
    broadcast.submitted_at = utcnow()
    broadcast.rejection_reason = None
    await session.flush()
    publish_after_commit(session, f"staff:{broadcast.account_id}",
                         {"type": "broadcast.submitted", "broadcast_id": str(broadcast.id)})
    return broadcast


async def reject(session: AsyncSession, *, broadcast_id: int, actor: User, reason: str) -> Broadcast:
    broadcast = await staff_broadcast(session, broadcast_id, actor, APPROVERS)
    if broadcast.status != "pending":
        raise Conflict("Bản tin không ở trạng thái chờ duyệt / Not awaiting approval", code="not_pending")
    broadcast.status = "rejected"
    broadcast.rejection_reason = reason.strip()
    broadcast.decided_by, broadcast.decided_at = actor.id, utcnow()
    await session.flush()
    return broadcast


async def _daily_quota(session: AsyncSession, account_id: int) -> int:
    override = await session.get(AccountBroadcastQuota, account_id)
    return override.per_day if override else runtime_of(session).settings.broadcast_daily_quota


async def _published_today(session: AsyncSession, account_id: int, now: datetime) -> int:
    local_midnight = now.astimezone(VN).replace(hour=0, minute=0, second=0, microsecond=0)
    return await session.scalar(select(func.count()).where(
        Broadcast.account_id == account_id, Broadcast.published_at >= local_midnight,
    )) or 0


async def published_today(session: AsyncSession, *, account_id: int, now: datetime | None = None) -> int:
    """Broadcasts the account published today (Vietnam's day): an index range, bounded by the daily quota."""
    return await _published_today(session, account_id, now or utcnow())


async def pending_count(session: AsyncSession, *, account_id: int) -> int:
    """Broadcasts waiting for an approver (never published: the index's range of the account's unpublished)."""
    return await session.scalar(select(func.count()).where(
        Broadcast.account_id == account_id, Broadcast.published_at.is_(None), Broadcast.status == "pending")) or 0


async def approve(session: AsyncSession, *, broadcast_id: int, actor: User) -> Broadcast:
    """An admin approves: published now, or scheduled for `publish_at`. Editors cannot approve."""
    broadcast = await staff_broadcast(session, broadcast_id, actor, APPROVERS)
    if broadcast.status not in ("pending", "draft"):
        raise Conflict("Bản tin không ở trạng thái chờ duyệt / Not awaiting approval", code="not_pending")
    account = await accounts.get_account(session, broadcast.account_id)
    if not account.verified:
        raise Forbidden("Chỉ tài khoản đã xác minh mới được phát tin / Only verified accounts broadcast",
                        code="account_not_verified")
    broadcast.decided_by, broadcast.decided_at = actor.id, utcnow()
    if broadcast.publish_at is not None and broadcast.publish_at > utcnow():
        broadcast.status = "scheduled"
        await session.flush()
        return broadcast
    await publish_now(session, broadcast)
    return broadcast


async def publish_now(session: AsyncSession, broadcast: Broadcast) -> None:
    """Publish: a few rows whatever the audience; push planning and live delivery follow the commit."""
    now = utcnow()
    if await _published_today(session, broadcast.account_id, now) >= await _daily_quota(session, broadcast.account_id):
        raise TooMany("Đã hết hạn mức bản tin hôm nay / Today's broadcast quota is used up",
                      code="quota_exceeded", retry_after=3600)
    broadcast.status = "published"
    broadcast.published_at = now
    terms = [("all", "")] if broadcast.target_all else (
        [("province", code) for code in broadcast.target_provinces]
        + [("commune", code) for code in broadcast.target_communes]
        + [("tag", tag) for tag in broadcast.target_tags]
    )
    session.add_all(BroadcastTarget(broadcast_id=broadcast.id, account_id=broadcast.account_id, scope=scope,
                                    value=value) for scope, value in terms)
    session.add(BroadcastStats(broadcast_id=broadcast.id))
    await session.flush()
    publish_after_commit(session, f"account:{broadcast.account_id}", live_event(broadcast, "broadcast.published"))
    enqueue_after_commit(session, "broadcasts.plan_push", broadcast_id=broadcast.id)


def live_event(broadcast: Broadcast, event_type: str) -> dict[str, Any]:
    """The event on the account's public channel. Broadcasts for tagged followers stay private: the event
    only says there is something new, and each follower's feed shows it to those it targets."""
    event: dict[str, Any] = {"type": event_type, "id": broadcast.id, "broadcast_id": str(broadcast.id),
                             "account_id": str(broadcast.account_id), "kind": broadcast.kind}
    if broadcast.target_tags:
        return event | {"restricted": True}
    return event | {"title": broadcast.title,
                    "areas": {"provinces": broadcast.target_provinces, "communes": broadcast.target_communes}}


REPLAY_LIMIT = 500


@replay_source("account")
async def replay_account(runtime: Any, channel: str, after: int | None) -> list[tuple[int, str, dict[str, Any]]]:
    """What a reconnecting client missed on `account:{id}`: broadcasts published after `after`, in order."""
    try:
        account_id = int(channel.split(":", 1)[1])
    except ValueError:
        return []
    query = select(Broadcast).where(Broadcast.account_id == account_id, Broadcast.published_at.is_not(None))
    if after is None:
        query = query.order_by(Broadcast.id.desc()).limit(1)
    else:
        query = query.where(Broadcast.id > after).order_by(Broadcast.id).limit(REPLAY_LIMIT)
    async with runtime.read_session() as session:
        rows = list(await session.scalars(query))
    return [(row.id, "broadcast.published", live_event(row, "broadcast.published")) for row in rows]


async def latest_published(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, int]:
    """The newest published broadcast id of each account (0 for none): the position a page's live stream starts
    from (`account:{id}=<position>`), so that what is published while the page loads is replayed, not missed."""
    wanted = sorted(set(account_ids))
    positions = dict.fromkeys(wanted, 0)
    if wanted:
        rows = await session.execute(select(Broadcast.account_id, func.max(Broadcast.id)).where(
            Broadcast.account_id.in_(wanted), Broadcast.published_at.is_not(None)).group_by(Broadcast.account_id))
        positions.update({account_id: latest for account_id, latest in rows.all()})
    return positions


async def has_due(session: AsyncSession) -> bool:
    """Whether a scheduled broadcast's time has come (read first, so that an idle sweep never takes
    SQLite's write lock)."""
    return await session.scalar(select(Broadcast.id).where(
        Broadcast.status == "scheduled", Broadcast.publish_at <= utcnow()).limit(1)) is not None


async def publish_due(session: AsyncSession, *, limit: int = 100) -> int:
    """Publish scheduled broadcasts whose time has come (a sweep calls this)."""
    due = list(await session.scalars(
        select(Broadcast).where(Broadcast.status == "scheduled", Broadcast.publish_at <= utcnow())
        .order_by(Broadcast.publish_at).limit(limit)
    ))
    published = 0
    for broadcast in due:
        try:
            await publish_now(session, broadcast)
            published += 1
        except TooMany:
            continue  # stays scheduled; tomorrow's quota takes it
    return published


async def withdraw(session: AsyncSession, *, broadcast_id: int, actor: User, reason: str) -> Broadcast:
    """Withdrawn, not deleted: followers see that it was withdrawn and why."""
    broadcast = await staff_broadcast(session, broadcast_id, actor, APPROVERS)
    if broadcast.status not in ("published", "scheduled"):
        raise Conflict("Chỉ thu hồi được bản tin đã đăng / Only published broadcasts are withdrawn",
                       code="not_published")
    was_published = broadcast.status == "published"
    broadcast.status = "withdrawn" if was_published else "draft"
    if was_published:
        broadcast.withdrawn_at, broadcast.withdrawn_by = utcnow(), actor.id
        broadcast.withdraw_reason = reason.strip()
        # No event id: a withdrawal of an older broadcast must not be skipped as already seen.
        withdrawn_event = live_event(broadcast, "broadcast.withdrawn") | {"reason": broadcast.withdraw_reason}
        withdrawn_event.pop("id")
        publish_after_commit(session, f"account:{broadcast.account_id}", withdrawn_event)
    await session.flush()
    return broadcast


async def list_for_staff(session: AsyncSession, *, account_id: int, actor: User, status: str | None,
                         cursor: str | None, limit: int) -> tuple[list[Broadcast], str | None]:
    await accounts.require_role(session, account_id, actor, accounts.STAFF_ROLES)
    before = cursor_int(decode_cursor(cursor), "id")
    query = select(Broadcast).where(Broadcast.account_id == account_id)
    if status:
        query = query.where(Broadcast.status == status)
    if before is not None:
        query = query.where(Broadcast.id < before)
    rows = list(await session.scalars(query.order_by(Broadcast.id.desc()).limit(limit + 1)))
    return rows[:limit], (encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None)


async def article_slice(session: AsyncSession, *, account_id: int, actor: User, offset: int,
                        limit: int) -> tuple[int, list[Broadcast]]:
    """How many articles the account has, and a page of them by offset, the newest first (the paging of the
    Zalo-compatible surface), for any of its staff."""
    await accounts.require_role(session, account_id, actor, accounts.STAFF_ROLES)
    mine = (Broadcast.account_id == account_id, Broadcast.kind == "article")
    total = int(await session.scalar(select(func.count()).where(*mine)) or 0)
    rows = await session.scalars(select(Broadcast).where(*mine).order_by(Broadcast.id.desc())
                                 .offset(offset).limit(limit))
    return total, list(rows)


async def reach(session: AsyncSession, *, broadcast_id: int, actor: User) -> BroadcastStats:
    await staff_broadcast(session, broadcast_id, actor)
    stats = await session.get(BroadcastStats, broadcast_id)
    return stats or BroadcastStats(broadcast_id=broadcast_id, targeted=0, pushes_planned=0, pushes_sent=0,
                                   pushes_failed=0, reads=0)


# --- reading: the public thread, the citizen's feed, read cursors -----------------------------------


async def public_thread(session: AsyncSession, *, account_id: int, cursor: str | None,
                        limit: int) -> tuple[list[Broadcast], str | None]:
    """An account's broadcasts to all its followers, newest first (area- and tag-targeted ones are for
    the followers they target, in their feed)."""
    await accounts.get_account(session, account_id)
    before = cursor_int(decode_cursor(cursor), "id")
    query = select(Broadcast).where(Broadcast.account_id == account_id, Broadcast.target_all.is_(True),
                                    Broadcast.status.in_(("published", "withdrawn")))
    if before is not None:
        query = query.where(Broadcast.id < before)
    rows = list(await session.scalars(query.order_by(Broadcast.id.desc()).limit(limit + 1)))
    return rows[:limit], (encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None)


async def _visible_ids(session: AsyncSession, user: User, account_id: int | None) -> Select[Any]:
    """Ids of broadcasts `user` may see: of accounts they follow, since they followed, targeting them by
    their current commune/province or their tags on that account."""
    province = None
    if user.home_commune_code:
        commune = await geo.get_commune(session, user.home_commune_code)
        province = commune.province_code if commune else None
    matches = [and_(BroadcastTarget.scope == "all", BroadcastTarget.value == "")]
    if user.home_commune_code:
        matches.append(and_(BroadcastTarget.scope == "commune", BroadcastTarget.value == user.home_commune_code))
    if province:
        matches.append(and_(BroadcastTarget.scope == "province", BroadcastTarget.value == province))
    matches.append(and_(BroadcastTarget.scope == "tag", BroadcastTarget.value.in_(
        select(FollowerTag.tag).where(FollowerTag.account_id == Follow.account_id, FollowerTag.user_id == user.id)
    )))
    query = (
        select(Broadcast.id)
        .join(BroadcastTarget, BroadcastTarget.broadcast_id == Broadcast.id)
        .join(Follow, and_(Follow.account_id == BroadcastTarget.account_id, Follow.user_id == user.id))
        .where(or_(*matches), Broadcast.status.in_(("published", "withdrawn")),
               Broadcast.published_at >= Follow.created_at)
    )
    if account_id is not None:
        query = query.where(BroadcastTarget.account_id == account_id)
    return query


async def feed(session: AsyncSession, *, user: User, account_id: int | None = None, cursor: str | None = None,
               limit: int = 20) -> tuple[list[tuple[Broadcast, str]], str | None]:
    """The citizen's feed (all followed accounts, or one account's thread as this follower sees it)."""
    before = cursor_int(decode_cursor(cursor), "id")
    visible = await _visible_ids(session, user, account_id)
    if before is not None:
        visible = visible.where(Broadcast.id < before)
    ids = visible.distinct().order_by(Broadcast.id.desc()).limit(limit + 1).subquery()
    rows = list(await session.execute(
        select(Broadcast, Account.name).join(ids, ids.c.id == Broadcast.id)
        .join(Account, Account.id == Broadcast.account_id).order_by(Broadcast.id.desc())
    ))
    page = [(broadcast, name) for broadcast, name in rows[:limit]]
    return page, (encode_cursor({"id": page[-1][0].id}) if len(rows) > limit else None)


async def unread_counts(session: AsyncSession, *, user: User) -> list[tuple[int, int]]:
    """(account id, unread) for each followed account with unread broadcasts, capped at UNREAD_CAP."""
    visible = (await _visible_ids(session, user, None)).where(Broadcast.id > Follow.last_read_broadcast_id)
    visible = visible.add_columns(BroadcastTarget.account_id).distinct().subquery()
    rows = await session.execute(
        select(visible.c.account_id, func.count()).group_by(visible.c.account_id).order_by(visible.c.account_id)
    )
    return [(account_id, min(count, UNREAD_CAP)) for account_id, count in rows]


async def mark_read(session: AsyncSession, *, user: User, account_id: int, broadcast_id: int) -> None:
    """Move the follow's read cursor forward (never back)."""
    if not await follows.is_following(session, user_id=user.id, account_id=account_id):
        raise NotFound("Bạn chưa theo dõi tài khoản này / You do not follow this account", code="not_following")
    await session.execute(
        update(Follow).where(Follow.account_id == account_id, Follow.user_id == user.id,
                             Follow.last_read_broadcast_id < broadcast_id)
        .values(last_read_broadcast_id=broadcast_id)
    )


async def open_broadcast(session: AsyncSession, *, broadcast_id: int, user: User | None) -> Broadcast:
    """A broadcast as a reader sees it: public ones to anyone, targeted ones to those targeted, drafts to
    nobody here. A signed-in reader's first open is counted once in the reach."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast.status not in ("published", "withdrawn"):
        raise NotFound("Không tìm thấy bản tin / Broadcast not found", code="broadcast_not_found")
    if not broadcast.target_all:
        visible = user is not None and await session.scalar(
            (await _visible_ids(session, user, broadcast.account_id)).where(Broadcast.id == broadcast_id).limit(1)
        )
        if not visible:
            raise NotFound("Không tìm thấy bản tin / Broadcast not found", code="broadcast_not_found")
    if user is not None and await session.get(BroadcastRead, (broadcast_id, user.id)) is None:
        session.add(BroadcastRead(broadcast_id=broadcast_id, user_id=user.id))
        await session.execute(update(BroadcastStats).where(BroadcastStats.broadcast_id == broadcast_id)
                              .values(reads=BroadcastStats.reads + 1))
        await session.flush()
    return broadcast



async def count_targeted(session: AsyncSession, broadcast: Broadcast) -> int:
    """How many followers a published broadcast targets (for its reach): one counting query in the
    background job, never at publish time."""
    query = select(func.count()).select_from(Follow).where(
        Follow.account_id == broadcast.account_id, Follow.created_at <= broadcast.published_at
    )
    if not broadcast.target_all:
        communes = set(broadcast.target_communes)
        for province in broadcast.target_provinces:
            communes.update(await session.scalars(geo.commune_codes_query(province)))
        terms = []
        if communes:
            terms.append(Follow.user_id.in_(select(User.id).where(User.home_commune_code.in_(sorted(communes)))))
        if broadcast.target_tags:
            terms.append(Follow.user_id.in_(select(FollowerTag.user_id).where(
                FollowerTag.account_id == broadcast.account_id, FollowerTag.tag.in_(broadcast.target_tags))))
        query = query.where(or_(*terms))
    return await session.scalar(query) or 0


async def record_targeted(session: AsyncSession, broadcast: Broadcast) -> None:
    targeted = await count_targeted(session, broadcast)
    await session.execute(update(BroadcastStats).where(BroadcastStats.broadcast_id == broadcast.id)
                          .values(targeted=targeted))


async def set_daily_quota(session: AsyncSession, *, account_id: int, operator: User, per_day: int | None) -> int:
    """An operator raises or lowers one account's daily quota (None: back to the platform default)."""
    if not operator.is_operator:
        raise Forbidden("Chỉ quản trị nền tảng / Platform operators only", code="not_operator")
    await accounts.get_account(session, account_id)
    override = await session.get(AccountBroadcastQuota, account_id)
    if per_day is None:
        if override is not None:
            await session.delete(override)
    elif override is None:
        session.add(AccountBroadcastQuota(account_id=account_id, per_day=per_day))
    else:
        override.per_day = per_day
    await session.flush()
    return await _daily_quota(session, account_id)


async def unplanned_broadcasts(session: AsyncSession, *, older_than: timedelta, limit: int = 100) -> list[int]:
    """Published broadcasts whose push planning has not happened `older_than` after publishing."""
    return list(await session.scalars(
        select(Broadcast.id).where(Broadcast.status == "published", Broadcast.push_planned_at.is_(None),
                                   Broadcast.published_at <= utcnow() - older_than)
        .order_by(Broadcast.id).limit(limit)
    ))


async def delete_draft(session: AsyncSession, *, broadcast_id: int, actor: User) -> None:
    """A draft nobody was ever shown is deleted (a published one is withdrawn instead, so followers know)."""
    broadcast = await staff_broadcast(session, broadcast_id, actor, COMPOSERS)
    if broadcast.status not in EDITABLE:
        raise Conflict("Chỉ xóa được bản nháp / Only drafts can be deleted", code="not_editable")
    await session.delete(broadcast)
    await session.flush()
