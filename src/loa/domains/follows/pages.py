"""Following from an account's page: plain forms (they work without scripts), each answered by going back to
the account's page, which then shows the new state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Path
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.follows import service
from loa.domains.people.models import User
from loa.domains.push import service as push
from loa.kit.effects import commit
from loa.kit.sessions import write_session
from loa.web.deps import page_router, page_user

router = page_router()

Handle = Annotated[str, Path(min_length=1, max_length=60)]
Write = Annotated[AsyncSession, Depends(write_session)]
Citizen = Annotated[User, Depends(page_user)]


def _back(handle: str) -> RedirectResponse:
    return RedirectResponse(f"/a/{handle}", status_code=303)


@router.post("/a/{handle}/follow")
async def follow(handle: Handle, session: Write, user: Citizen) -> RedirectResponse:
    account = await accounts.get_account_by_handle(session, handle)
    await service.follow(session, user=user, account_id=account.id)
    await commit(session)
    return _back(account.handle)


@router.post("/a/{handle}/unfollow")
async def unfollow(handle: Handle, session: Write, user: Citizen) -> RedirectResponse:
    account = await accounts.get_account_by_handle(session, handle)
    await service.unfollow(session, user=user, account_id=account.id)
    await commit(session)
    return _back(account.handle)


@router.post("/a/{handle}/push")
async def account_push(handle: Handle, session: Write, user: Citizen,
                       enabled: Annotated[str, Form(max_length=1)] = "1") -> RedirectResponse:
    """Pushes from one followed account on or off (its announcements stay in the feed either way)."""
    account = await accounts.get_account_by_handle(session, handle)
    await push.set_account_push(session, user=user, account_id=account.id, enabled=enabled == "1")
    await commit(session)
    return _back(account.handle)
