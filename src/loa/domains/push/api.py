"""`/api/v1`: the VAPID key, a citizen's devices, quiet hours, and pushes per followed account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.people.models import User
from loa.domains.push import service
from loa.domains.push.schemas import (
    AccountPushIn,
    AccountPushOut,
    EndpointIn,
    QuietHours,
    SubscriptionIn,
    SubscriptionOut,
    VapidKeyOut,
)
from loa.kit import webpush
from loa.kit.auth import require_user
from loa.kit.effects import commit
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["push"])

AccountId = Annotated[int, Path(ge=1, le=2**62, description="Account id")]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]


@router.get("/push/key", response_model=VapidKeyOut, summary="The server's VAPID public key")
async def vapid_key(request: Request) -> VapidKeyOut:
    return VapidKeyOut(public_key=webpush.application_server_key(request.app.state.runtime.settings))


@router.post("/me/push-subscriptions", response_model=SubscriptionOut, status_code=201,
             summary="Register this browser for push notifications")
async def subscribe(body: SubscriptionIn, request: Request, session: Write, user: CurrentUser) -> SubscriptionOut:
    row = await service.subscribe(session, user=user, endpoint=body.endpoint, p256dh=body.keys.p256dh,
                                  auth=body.keys.auth, user_agent=request.headers.get("user-agent"),
                                  settings=request.app.state.runtime.settings)
    await commit(session)
    return SubscriptionOut(id=str(row.id), endpoint=row.endpoint, created_at=row.created_at)


@router.get("/me/push-subscriptions", response_model=list[SubscriptionOut], summary="My registered devices")
async def my_subscriptions(session: Read, user: CurrentUser) -> list[SubscriptionOut]:
    rows = await service.subscriptions_of(session, user.id)
    return [SubscriptionOut(id=str(row.id), endpoint=row.endpoint, created_at=row.created_at) for row in rows]


@router.delete("/me/push-subscriptions", status_code=204, summary="Unregister a browser (by its endpoint)")
async def unsubscribe(body: EndpointIn, session: Write, user: CurrentUser) -> Response:
    await service.unsubscribe(session, user=user, endpoint=body.endpoint)
    await commit(session)
    return Response(status_code=204)


@router.get("/me/push-preferences", response_model=QuietHours, summary="My quiet hours")
async def get_preferences(session: Read, user: CurrentUser) -> QuietHours:
    quiet_from, quiet_until = await service.get_quiet_hours(session, user.id)
    return QuietHours(quiet_from=quiet_from, quiet_until=quiet_until)


@router.put("/me/push-preferences", response_model=QuietHours,
            summary="Set quiet hours (Vietnam time; emergency alerts still come through)")
async def set_preferences(body: QuietHours, session: Write, user: CurrentUser) -> QuietHours:
    row = await service.set_quiet_hours(session, user=user, quiet_from=body.quiet_from, quiet_until=body.quiet_until)
    await commit(session)
    return QuietHours(quiet_from=row.quiet_from, quiet_until=row.quiet_until)


@router.put("/accounts/{account_id}/push", response_model=AccountPushOut,
            summary="Turn push notifications from a followed account on or off")
async def account_push(account_id: AccountId, body: AccountPushIn, session: Write, user: CurrentUser) -> AccountPushOut:
    enabled = await service.set_account_push(session, user=user, account_id=account_id, enabled=body.enabled)
    await commit(session)
    return AccountPushOut(account_id=str(account_id), push_enabled=enabled)
