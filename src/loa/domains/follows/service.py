"""Follows: citizens follow accounts; staff see, tag and block their own account's followers only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.db.raw import RawSelect, dialect_insert
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.follows.models import Follow, FollowDailyCount, FollowerBlock, FollowerTag
from loa.domains.geo import service as geo
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.kit.effects import publish_after_commit
from loa.kit.errors import Forbidden, Invalid, NotFound
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.text import fold

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOT_A_FOLLOWER = "Người này không theo dõi tài khoản / This person does not follow the account"
FollowHook = Callable[[AsyncSession, Account, User], Awaitable[None]]
FOLLOW_HOOKS: list[FollowHook] = []


def register_follow_hook(hook: FollowHook) -> None:
    """`hook(session, account, user)` runs in the transaction of every new follow (e.g. a welcome message)."""
    if hook not in FOLLOW_HOOKS:
        FOLLOW_HOOKS.append(hook)


# Who may see and manage followers: not viewers, whose role is statistics only.
FOLLOWER_STAFF = ("owner", "admin", "editor", "agent")
MAX_TAGS_PER_FOLLOWER = 20



async def is_blocked(session: AsyncSession, account_id: int, user_id: int) -> bool:
    return await session.get(FollowerBlock, (account_id, user_id)) is not None


Pair = tuple[int, int]  # (account id, user id)


# Looked up by user, whose index is selective, and filtered in Python: a tuple IN costs more to build than to
# run. Driver-level, as the message writer's own statements.
_SELECT_BLOCKS = RawSelect(FollowerBlock.__tablename__, ("account_id", "user_id"), where_in="user_id")
_SELECT_FOLLOWS = RawSelect(Follow.__tablename__, ("account_id", "user_id"), where_in="user_id")


def blocked_pairs(session: Session, pairs: set[Pair]) -> set[Pair]:
    """Which of these (account, user) pairs are blocks: one query for a batch (the message writer's, in its
    synchronous transaction)."""
    return _pairs_with_rows(session, _SELECT_BLOCKS, pairs)


def following_pairs(session: Session, pairs: set[Pair]) -> set[Pair]:
    """Which of these (account, user) pairs are follows (as `blocked_pairs`)."""
    return _pairs_with_rows(session, _SELECT_FOLLOWS, pairs)


def _pairs_with_rows(session: Session, query: RawSelect, pairs: set[Pair]) -> set[Pair]:
    if not pairs:
        return set()
    found = query.fetch(session, sorted({user_id for _, user_id in pairs}))
    return {(account_id, user_id) for account_id, user_id in found if (account_id, user_id) in pairs}


async def follow(session: AsyncSession, *, user: User, account_id: int) -> Follow:
    """Follow an account (idempotent). The follower's commune is recorded for area targeting."""
    account = await accounts.get_account(session, account_id)
    if await is_blocked(session, account_id, user.id):
        raise Forbidden("Tài khoản này đã chặn bạn / This account has blocked you", code="blocked")
    statement = (
        dialect_insert(session)(Follow)
        .values(account_id=account.id, user_id=user.id, commune_code=user.home_commune_code,
                created_at=utcnow())
        .on_conflict_do_nothing()
    )
    inserted = (await session.execute(statement)).rowcount == 1
    if inserted:
        await accounts.change_follower_count(session, account.id, +1)
        await _count_day(session, account.id, follows=1)
        # To the account's staff only: who follows is not public.
        publish_after_commit(session, f"staff:{account.id}",
                             {"type": "follow", "account_id": str(account.id), "user_id": str(user.id)})
        for hook in FOLLOW_HOOKS:
            await hook(session, account, user)
    found = await session.get(Follow, (account.id, user.id), populate_existing=True)
    assert found is not None
    return found


async def unfollow(session: AsyncSession, *, user: User, account_id: int) -> bool:
    await accounts.get_account(session, account_id)
    return await _remove_follow(session, account_id, user.id)


async def _remove_follow(session: AsyncSession, account_id: int, user_id: int) -> bool:
    result = await session.execute(delete(Follow).where(Follow.account_id == account_id, Follow.user_id == user_id))
    if result.rowcount != 1:
        return False
    await session.execute(delete(FollowerTag).where(FollowerTag.account_id == account_id,
                                                    FollowerTag.user_id == user_id))
    await accounts.change_follower_count(session, account_id, -1)
    await _count_day(session, account_id, unfollows=1)
    publish_after_commit(session, f"staff:{account_id}",
                         {"type": "unfollow", "account_id": str(account_id), "user_id": str(user_id)})
    return True


def vn_day(moment: datetime) -> date:
    return moment.astimezone(VN).date()


async def _count_day(session: AsyncSession, account_id: int, **increments: int) -> None:
    """Adds to the account's follows of today (Vietnam's day), in the follow's own transaction: one upsert on
    the row of the day, as the follower count is one update of the account."""
    values = {"follows": increments.get("follows", 0), "unfollows": increments.get("unfollows", 0)}
    statement = dialect_insert(session)(FollowDailyCount).values(account_id=account_id, day=vn_day(utcnow()),
                                                                 **values)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={name: getattr(FollowDailyCount, name) + statement.excluded[name] for name in increments}))


@dataclass(frozen=True)
class DayCounts:
    follows: int
    unfollows: int

    @property
    def net(self) -> int:
        return self.follows - self.unfollows


async def day_counts(session: AsyncSession, *, account_id: int, day: date) -> DayCounts:
    """The account's follows and unfollows of one Vietnamese day (one row read)."""
    row = await session.get(FollowDailyCount, (account_id, day))
    return DayCounts(row.follows, row.unfollows) if row is not None else DayCounts(0, 0)


async def is_following(session: AsyncSession, *, user_id: int, account_id: int) -> bool:
    return await session.get(Follow, (account_id, user_id)) is not None


async def followed_accounts(session: AsyncSession, *, user: User, cursor: str | None,
                            limit: int) -> tuple[list[tuple[Account, Follow]], str | None]:
    after = cursor_int(decode_cursor(cursor), "account_id")
    query = (
        select(Account, Follow)
        .join(Follow, Follow.account_id == Account.id)
        .where(Follow.user_id == user.id)
        .order_by(Follow.account_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Follow.account_id > after)
    rows = list((await session.execute(query)).all())
    next_cursor = encode_cursor({"account_id": rows[limit - 1][0].id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- staff side -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Follower:
    user_id: int
    display_name: str
    commune_code: str | None
    followed_at: datetime
    tags: list[str]


async def list_followers(
    session: AsyncSession,
    *,
    account_id: int,
    actor: User | None,
    commune_code: str | None = None,
    province_code: str | None = None,
    tag: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Follower], str | None]:
    """A page of the account's followers (no phone numbers: staff see names, areas and tags).

    `actor` None means an already-authorised integration (API token scoped to this account)."""
    if actor is not None:
        await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    after = cursor_int(decode_cursor(cursor), "user_id")
    query = (
        select(Follow, User.display_name)
        .join(User, User.id == Follow.user_id)
        .where(Follow.account_id == account_id)
        .order_by(Follow.user_id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Follow.user_id > after)
    if commune_code:
        query = query.where(Follow.commune_code == commune_code)
    elif province_code:
        await geo.require_province(session, province_code)
        query = query.where(Follow.commune_code.in_(geo.commune_codes_query(province_code)))
    if tag:
        query = query.join(
            FollowerTag,
            (FollowerTag.account_id == Follow.account_id) & (FollowerTag.user_id == Follow.user_id)
            & (FollowerTag.tag == normalise_tag(tag)),
        )
    rows = list((await session.execute(query)).all())
    page = rows[:limit]
    tags = await _tags_of(session, account_id, [follow.user_id for follow, _ in page])
    followers = [
        Follower(follow.user_id, name, follow.commune_code, follow.created_at, tags.get(follow.user_id, []))
        for follow, name in page
    ]
    next_cursor = encode_cursor({"user_id": page[-1][0].user_id}) if len(rows) > limit else None
    return followers, next_cursor


async def get_follower(session: AsyncSession, *, account_id: int, actor: User, user_id: int) -> Follower:
    """One follower of the account, as `list_followers` shows them (anyone else: 404)."""
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    row = (await session.execute(select(Follow, User.display_name).join(User, User.id == Follow.user_id).where(
        Follow.account_id == account_id, Follow.user_id == user_id))).first()
    if row is None:
        raise NotFound(NOT_A_FOLLOWER, code="follower_not_found")
    follow, name = row
    tags = await follower_tags(session, account_id=account_id, user_id=user_id)
    return Follower(user_id, name, follow.commune_code, follow.created_at, tags)


async def follower_tags(session: AsyncSession, *, account_id: int, user_id: int) -> list[str]:
    """The account's tags on a person, in order (none for a person who does not follow it)."""
    return (await _tags_of(session, account_id, [user_id])).get(user_id, [])


async def follower_ids(session: AsyncSession, *, account_id: int, actor: User, tag: str | None, offset: int,
                       limit: int) -> tuple[int, list[int]]:
    """How many follow the account (with `tag`, if given), and a page of their ids by offset, the latest
    follower first (the paging of the Zalo-compatible surface)."""
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    query = select(Follow.user_id).where(Follow.account_id == account_id)
    if tag:
        query = query.join(FollowerTag, (FollowerTag.account_id == Follow.account_id)
                           & (FollowerTag.user_id == Follow.user_id)).where(FollowerTag.tag == normalise_tag(tag))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(await session.scalars(query.order_by(Follow.created_at.desc(), Follow.user_id.desc())
                                     .offset(offset).limit(limit)))
    return total, ids


async def _tags_of(session: AsyncSession, account_id: int, user_ids: list[int]) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(FollowerTag.user_id, FollowerTag.tag)
        .where(FollowerTag.account_id == account_id, FollowerTag.user_id.in_(user_ids))
        .order_by(FollowerTag.tag)
    )
    tags: dict[int, list[str]] = {}
    for user_id, tag in rows.all():
        tags.setdefault(user_id, []).append(tag)
    return tags


def normalise_tag(tag: str) -> str:
    """Tags compare folded, so "Hộ nghèo" and "ho ngheo" are one tag."""
    folded = fold(tag)
    if not 1 <= len(folded) <= 40:
        raise Invalid("Nhãn phải dài 1–40 ký tự / A tag is 1–40 characters", code="invalid_tag")
    return folded


async def _require_follower(session: AsyncSession, account_id: int, user_id: int) -> Follow:
    follow_row = await session.get(Follow, (account_id, user_id))
    if follow_row is None:
        raise NotFound(NOT_A_FOLLOWER, code="follower_not_found")
    return follow_row


async def tag_follower(session: AsyncSession, *, account_id: int, actor: User, user_id: int, tag: str) -> str:
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    await _require_follower(session, account_id, user_id)
    tag = normalise_tag(tag)
    count = await session.scalar(
        select(func.count()).where(FollowerTag.account_id == account_id, FollowerTag.user_id == user_id)
    )
    if await session.get(FollowerTag, (account_id, user_id, tag)) is None:
        if (count or 0) >= MAX_TAGS_PER_FOLLOWER:
            raise Invalid("Quá nhiều nhãn cho một người / Too many tags on one follower", code="too_many_tags")
        session.add(FollowerTag(account_id=account_id, user_id=user_id, tag=tag))
        await session.flush()
    return tag


async def untag_follower(session: AsyncSession, *, account_id: int, actor: User, user_id: int, tag: str) -> None:
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    await session.execute(delete(FollowerTag).where(
        FollowerTag.account_id == account_id, FollowerTag.user_id == user_id, FollowerTag.tag == normalise_tag(tag)
    ))


async def remove_tag(session: AsyncSession, *, account_id: int, actor: User, tag: str) -> None:
    """Takes a tag off every follower of the account that has it."""
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    await session.execute(delete(FollowerTag).where(FollowerTag.account_id == account_id,
                                                    FollowerTag.tag == normalise_tag(tag)))


async def tag_counts(session: AsyncSession, *, account_id: int, actor: User) -> list[tuple[str, int]]:
    await accounts.require_role(session, account_id, actor, FOLLOWER_STAFF)
    rows = await session.execute(
        select(FollowerTag.tag, func.count())
        .where(FollowerTag.account_id == account_id)
        .group_by(FollowerTag.tag)
        .order_by(FollowerTag.tag)
    )
    return [(tag, count) for tag, count in rows.all()]


async def block_follower(session: AsyncSession, *, account_id: int, actor: User, user_id: int,
                         reason: str = "") -> FollowerBlock:
    """Block a citizen: their follow ends and they cannot follow (or write) again until unblocked."""
    await accounts.require_role(session, account_id, actor, ("owner", "admin", "agent"))
    if await session.get(User, user_id) is None:
        raise NotFound("Không tìm thấy người dùng / User not found", code="user_not_found")
    existing = await session.get(FollowerBlock, (account_id, user_id))
    if existing is not None:
        return existing
    await _remove_follow(session, account_id, user_id)
    block = FollowerBlock(account_id=account_id, user_id=user_id, blocked_by=actor.id, reason=reason)
    session.add(block)
    await session.flush()
    return block


async def unblock_follower(session: AsyncSession, *, account_id: int, actor: User, user_id: int) -> None:
    await accounts.require_role(session, account_id, actor, ("owner", "admin", "agent"))
    result = await session.execute(delete(FollowerBlock).where(
        FollowerBlock.account_id == account_id, FollowerBlock.user_id == user_id
    ))
    if result.rowcount != 1:
        raise NotFound("Người này không bị chặn / Not blocked", code="block_not_found")


async def list_blocks(session: AsyncSession, *, account_id: int, actor: User) -> list[tuple[FollowerBlock, str]]:
    await accounts.require_role(session, account_id, actor, ("owner", "admin", "agent"))
    rows = await session.execute(
        select(FollowerBlock, User.display_name)
        .join(User, User.id == FollowerBlock.user_id)
        .where(FollowerBlock.account_id == account_id)
        .order_by(FollowerBlock.created_at.desc())
    )
    return list(rows.all())


# --- personal data hooks (export and erasure) -----------------------------------------------------


async def export_follows(session: AsyncSession, user_id: int) -> list[dict[str, str | None]]:
    rows = await session.execute(
        select(Account.id, Account.name, Follow.created_at, Follow.commune_code)
        .join(Follow, Follow.account_id == Account.id)
        .where(Follow.user_id == user_id)
        .order_by(Follow.created_at)
    )
    return [
        {"account_id": str(account_id), "account_name": name, "followed_at": created.isoformat(),
         "commune_code": commune}
        for account_id, name, created, commune in rows.all()
    ]


async def forget_follows(session: AsyncSession, user_id: int) -> None:
    """Before a user is erased: end their follows so every follower count stays exact."""
    account_ids = list(await session.scalars(select(Follow.account_id).where(Follow.user_id == user_id)))
    for account_id in account_ids:
        await _remove_follow(session, account_id, user_id)


people.register_exporter("follows", export_follows)
people.register_eraser("follows", forget_follows)
