"""`/api/v1`: follow and unfollow (citizens), followers, tags and blocks (the account's own staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.schemas import AccountOut
from loa.domains.follows import service
from loa.domains.follows.schemas import BlockIn, BlockOut, FollowedAccountOut, FollowerOut, FollowOut, TagCount
from loa.domains.people.models import User
from loa.kit.auth import Principal, require_user, session_or_api_token
from loa.kit.effects import commit
from loa.kit.errors import Forbidden, Unauthorized
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["follows"])

AccountId = Annotated[int, Path(ge=1, le=2**62, description="Account id")]
UserId = Annotated[int, Path(ge=1, le=2**62, description="User id")]
TagPath = Annotated[str, Path(min_length=1, max_length=40)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]


async def _follow_state(session: AsyncSession, account_id: int, user_id: int) -> FollowOut:
    account = await accounts.get_account(session, account_id)
    from loa.domains.follows.models import Follow

    follow_row = await session.get(Follow, (account_id, user_id))
    return FollowOut(account_id=str(account_id), following=follow_row is not None,
                     followed_at=follow_row.created_at if follow_row else None,
                     follower_count=account.follower_count)


@router.post("/accounts/{account_id}/follow", response_model=FollowOut, summary="Follow an account")
async def follow(account_id: AccountId, session: Write, user: CurrentUser) -> FollowOut:
    await service.follow(session, user=user, account_id=account_id)
    await commit(session)
    return await _follow_state(session, account_id, user.id)


@router.delete("/accounts/{account_id}/follow", response_model=FollowOut, summary="Unfollow an account")
async def unfollow(account_id: AccountId, session: Write, user: CurrentUser) -> FollowOut:
    await service.unfollow(session, user=user, account_id=account_id)
    await commit(session)
    return await _follow_state(session, account_id, user.id)


@router.get("/accounts/{account_id}/follow", response_model=FollowOut, summary="Whether I follow the account")
async def follow_state(account_id: AccountId, session: Read, user: CurrentUser) -> FollowOut:
    return await _follow_state(session, account_id, user.id)


@router.get("/me/follows", response_model=Page[FollowedAccountOut], summary="Accounts I follow")
async def my_follows(session: Read, user: CurrentUser, cursor: CursorParam = None,
                     limit: LimitParam = 50) -> Page[FollowedAccountOut]:
    rows, next_cursor = await service.followed_accounts(session, user=user, cursor=cursor, limit=limit)
    return Page(items=[FollowedAccountOut(account=AccountOut.of(account), followed_at=follow_row.created_at)
                       for account, follow_row in rows], next_cursor=next_cursor)


async def _follower_reader(account_id: int, principal: Principal) -> User | None:
    """Staff by session, or an integration whose token belongs to this account and has the followers scope."""
    if principal.api_token is not None:
        token = principal.api_token
        if token.account_id != account_id:
            raise Forbidden("Khóa API không có quyền này / The API token does not allow this", code="scope")
        return None
    if principal.user is None:
        raise Unauthorized("Bạn cần đăng nhập / Login required", code="login_required")
    return principal.user


@router.get("/accounts/{account_id}/followers", response_model=Page[FollowerOut],
            summary="The account's followers (its own staff, or a token with the followers scope)")
async def list_followers(
    account_id: AccountId,
    session: Read,
    principal: Annotated[Principal, Depends(session_or_api_token("followers"))],
    commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[FollowerOut]:
    actor = await _follower_reader(account_id, principal)
    await accounts.get_account(session, account_id)
    followers, next_cursor = await service.list_followers(
        session, account_id=account_id, actor=actor, commune_code=commune_code, province_code=province_code,
        tag=tag, cursor=cursor, limit=limit,
    )
    return Page(items=[FollowerOut(user_id=str(f.user_id), display_name=f.display_name, commune_code=f.commune_code,
                                   followed_at=f.followed_at, tags=f.tags) for f in followers],
                next_cursor=next_cursor)


@router.get("/accounts/{account_id}/follower-tags", response_model=list[TagCount], summary="Tags and their counts")
async def follower_tags(account_id: AccountId, session: Read, user: CurrentUser) -> list[TagCount]:
    await accounts.get_account(session, account_id)
    rows = await service.tag_counts(session, account_id=account_id, actor=user)
    return [TagCount(tag=tag, followers=count) for tag, count in rows]


@router.put("/accounts/{account_id}/followers/{user_id}/tags/{tag}", status_code=204, summary="Tag a follower")
async def tag_follower(account_id: AccountId, user_id: UserId, tag: TagPath, session: Write,
                       user: CurrentUser) -> Response:
    await accounts.get_account(session, account_id)
    await service.tag_follower(session, account_id=account_id, actor=user, user_id=user_id, tag=tag)
    await commit(session)
    return Response(status_code=204)


@router.delete("/accounts/{account_id}/followers/{user_id}/tags/{tag}", status_code=204,
               summary="Remove a tag from a follower")
async def untag_follower(account_id: AccountId, user_id: UserId, tag: TagPath, session: Write,
                         user: CurrentUser) -> Response:
    await accounts.get_account(session, account_id)
    await service.untag_follower(session, account_id=account_id, actor=user, user_id=user_id, tag=tag)
    await commit(session)
    return Response(status_code=204)


@router.get("/accounts/{account_id}/blocks", response_model=list[BlockOut], summary="Blocked citizens")
async def list_blocks(account_id: AccountId, session: Read, user: CurrentUser) -> list[BlockOut]:
    await accounts.get_account(session, account_id)
    rows = await service.list_blocks(session, account_id=account_id, actor=user)
    return [BlockOut(user_id=str(block.user_id), display_name=name, reason=block.reason, created_at=block.created_at)
            for block, name in rows]


@router.post("/accounts/{account_id}/blocks", response_model=BlockOut, status_code=201, summary="Block a citizen")
async def block(account_id: AccountId, body: BlockIn, session: Write, user: CurrentUser) -> BlockOut:
    await accounts.get_account(session, account_id)
    row = await service.block_follower(session, account_id=account_id, actor=user, user_id=int(body.user_id),
                                       reason=body.reason)
    blocked = await session.get(User, row.user_id)
    await commit(session)
    return BlockOut(user_id=str(row.user_id), display_name=blocked.display_name if blocked else "",
                    reason=row.reason, created_at=row.created_at)


@router.delete("/accounts/{account_id}/blocks/{user_id}", status_code=204, summary="Unblock a citizen")
async def unblock(account_id: AccountId, user_id: UserId, session: Write, user: CurrentUser) -> Response:
    await accounts.get_account(session, account_id)
    await service.unblock_follower(session, account_id=account_id, actor=user, user_id=user_id)
    await commit(session)
    return Response(status_code=204)
