"""One announcement on a page of its own (`/broadcasts/{id}`): where a push notification leads, and what a
link to an announcement shows. Targeted announcements only to those they target; drafts to nobody."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.broadcasts import service
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.kit.sessions import write_session
from loa.web.deps import Viewer, page_router, viewer
from loa.web.pages import account_out
from loa.web.render import render

router = page_router()

BroadcastId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
async def broadcast_page(request: Request, broadcast_id: BroadcastId, found: Annotated[Viewer, Depends(viewer)],
                         session: Annotated[AsyncSession, Depends(write_session)]) -> HTMLResponse:
    broadcast = await service.open_broadcast(session, broadcast_id=broadcast_id, user=found.user)
    account = await accounts.get_account(session, broadcast.account_id)
    if found.user is not None and await follows.is_following(session, user_id=found.user.id, account_id=account.id):
        await service.mark_read(session, user=found.user, account_id=account.id, broadcast_id=broadcast.id)
    await commit(session)  # the read counted once in the reach, the read cursor moved
    # body_html is rendered from Markdown and sanitised by the service (nh3) when it is written.
    body = Markup(broadcast.body_html)  # noqa: S704
    return render(request, "citizen/broadcast.html", {"broadcast": broadcast, "body": body,
                                                      "account": account_out(request, account)})
