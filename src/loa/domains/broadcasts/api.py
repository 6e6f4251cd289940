"""`/api/v1`: compose, approve, schedule, withdraw (staff); the public thread, the feed, read cursors."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.broadcasts import service
from loa.domains.broadcasts.schemas import (
    BroadcastDraft,
    BroadcastEdit,
    BroadcastOut,
    FeedItem,
    QuotaIn,
    QuotaOut,
    Reach,
    ReadCursor,
    Reason,
    StaffBroadcastOut,
    UnreadCount,
)
from loa.domains.people.models import User
from loa.kit.auth import Principal, optional_principal, require_operator, require_user
from loa.kit.effects import commit
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["broadcasts"])

AccountId = Annotated[int, Path(ge=1, le=2**62)]
BroadcastId = Annotated[int, Path(ge=1, le=2**62)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]
Status = Literal["draft", "pending", "scheduled", "published", "withdrawn", "rejected"]


@router.post("/accounts/{account_id}/broadcasts", response_model=StaffBroadcastOut, status_code=201,
             summary="Compose a broadcast (owner, admin, editor)")
async def create_broadcast(account_id: AccountId, body: BroadcastDraft, session: Write,
                           user: CurrentUser) -> StaffBroadcastOut:
    broadcast = await service.create_draft(
        session, account_id=account_id, actor=user, kind=body.kind, title=body.title, body=body.body,
        cover_url=body.cover_url, attachments=[item.model_dump() for item in body.attachments],
        targeting=service.TargetingInput(**body.targeting.model_dump()), publish_at=body.publish_at,
    )
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.get("/accounts/{account_id}/broadcasts/manage", response_model=Page[StaffBroadcastOut],
            summary="All the account's broadcasts, drafts included (its staff)")
async def manage_broadcasts(account_id: AccountId, session: Read, user: CurrentUser, status: Status | None = None,
                            cursor: CursorParam = None, limit: LimitParam = 20) -> Page[StaffBroadcastOut]:
    await accounts.get_account(session, account_id)
    rows, next_cursor = await service.list_for_staff(session, account_id=account_id, actor=user, status=status,
                                                     cursor=cursor, limit=limit)
    return Page(items=[StaffBroadcastOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/accounts/{account_id}/broadcasts", response_model=Page[BroadcastOut],
            summary="The account's public broadcasts, newest first")
async def public_broadcasts(account_id: AccountId, session: Read, cursor: CursorParam = None,
                            limit: LimitParam = 20) -> Page[BroadcastOut]:
    rows, next_cursor = await service.public_thread(session, account_id=account_id, cursor=cursor, limit=limit)
    return Page(items=[BroadcastOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/broadcasts/{broadcast_id}", response_model=BroadcastOut, summary="Read a broadcast")
async def read_broadcast(broadcast_id: BroadcastId, session: Write,
                         principal: Annotated[Principal, Depends(optional_principal)]) -> BroadcastOut:
    broadcast = await service.open_broadcast(session, broadcast_id=broadcast_id, user=principal.user)
    await commit(session)
    return BroadcastOut.of(broadcast)


@router.get("/broadcasts/{broadcast_id}/manage", response_model=StaffBroadcastOut,
            summary="A broadcast with its source and review state (its account's staff)")
async def manage_broadcast(broadcast_id: BroadcastId, session: Read, user: CurrentUser) -> StaffBroadcastOut:
    return StaffBroadcastOut.of(await service.staff_broadcast(session, broadcast_id, user))


@router.patch("/broadcasts/{broadcast_id}", response_model=StaffBroadcastOut, summary="Edit a draft")
async def edit_broadcast(broadcast_id: BroadcastId, body: BroadcastEdit, session: Write,
                         user: CurrentUser) -> StaffBroadcastOut:
    changes = body.model_dump(exclude_unset=True)
    if body.attachments is not None:
        changes["attachments"] = [item.model_dump() for item in body.attachments]
    broadcast = await service.edit_draft(session, broadcast_id=broadcast_id, actor=user, changes=changes)
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.post("/broadcasts/{broadcast_id}/submit", response_model=StaffBroadcastOut, summary="Ask for approval")
async def submit_broadcast(broadcast_id: BroadcastId, session: Write, user: CurrentUser) -> StaffBroadcastOut:
    broadcast = await service.submit(session, broadcast_id=broadcast_id, actor=user)
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.post("/broadcasts/{broadcast_id}/approve", response_model=StaffBroadcastOut,
             summary="Approve: publish now or at publish_at (owner, admin; verified accounts only)")
async def approve_broadcast(broadcast_id: BroadcastId, session: Write, user: CurrentUser) -> StaffBroadcastOut:
    broadcast = await service.approve(session, broadcast_id=broadcast_id, actor=user)
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.post("/broadcasts/{broadcast_id}/reject", response_model=StaffBroadcastOut, summary="Send back with a reason")
async def reject_broadcast(broadcast_id: BroadcastId, body: Reason, session: Write,
                           user: CurrentUser) -> StaffBroadcastOut:
    broadcast = await service.reject(session, broadcast_id=broadcast_id, actor=user, reason=body.reason)
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.post("/broadcasts/{broadcast_id}/withdraw", response_model=StaffBroadcastOut,
             summary="Withdraw with a reason (followers see it as withdrawn)")
async def withdraw_broadcast(broadcast_id: BroadcastId, body: Reason, session: Write,
                             user: CurrentUser) -> StaffBroadcastOut:
    broadcast = await service.withdraw(session, broadcast_id=broadcast_id, actor=user, reason=body.reason)
    await commit(session)
    return StaffBroadcastOut.of(broadcast)


@router.get("/broadcasts/{broadcast_id}/reach", response_model=Reach, summary="Aggregate reach (staff)")
async def broadcast_reach(broadcast_id: BroadcastId, session: Read, user: CurrentUser) -> Reach:
    stats = await service.reach(session, broadcast_id=broadcast_id, actor=user)
    return Reach(broadcast_id=str(broadcast_id), targeted=stats.targeted, pushes_planned=stats.pushes_planned,
                 pushes_sent=stats.pushes_sent, pushes_failed=stats.pushes_failed, reads=stats.reads)


@router.put("/admin/accounts/{account_id}/broadcast-quota", response_model=QuotaOut,
            summary="Set an account's daily broadcast quota (operators; null restores the default)")
async def put_quota(account_id: AccountId, body: QuotaIn, session: Write,
                    operator: Annotated[User, Depends(require_operator)]) -> QuotaOut:
    per_day = await service.set_daily_quota(session, account_id=account_id, operator=operator, per_day=body.per_day)
    await commit(session)
    return QuotaOut(account_id=str(account_id), per_day=per_day)


@router.get("/me/feed", response_model=Page[FeedItem], summary="My feed: broadcasts of the accounts I follow")
async def my_feed(session: Read, user: CurrentUser, account_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                  cursor: CursorParam = None, limit: LimitParam = 20) -> Page[FeedItem]:
    rows, next_cursor = await service.feed(session, user=user, account_id=account_id, cursor=cursor, limit=limit)
    return Page(items=[FeedItem(**BroadcastOut.of(b).model_dump(), account_name=name) for b, name in rows],
                next_cursor=next_cursor)


@router.get("/me/unread", response_model=list[UnreadCount], summary="Unread broadcasts per followed account")
async def my_unread(session: Read, user: CurrentUser) -> list[UnreadCount]:
    return [UnreadCount(account_id=str(account_id), unread=count)
            for account_id, count in await service.unread_counts(session, user=user)]


@router.put("/accounts/{account_id}/read-cursor", status_code=204, summary="Mark broadcasts up to this one read")
async def mark_read(account_id: AccountId, body: ReadCursor, session: Write, user: CurrentUser) -> None:
    await service.mark_read(session, user=user, account_id=account_id, broadcast_id=int(body.broadcast_id))
    await commit(session)
