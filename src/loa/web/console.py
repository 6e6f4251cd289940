"""The agency console's entry (`/console`) and the operators' administration entry (`/admin`): the accounts a
staff member works for, with their followers; the applications waiting for verification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.schemas import AccountOut
from loa.domains.people.models import User
from loa.kit.i18n import N_
from loa.kit.sessions import read_session
from loa.web.deps import page_operator, page_router, page_staff
from loa.web.render import render, translate

router = page_router()

ROLE_LABELS = {"owner": N_("Owner"), "admin": N_("Administrator"), "editor": N_("Editor"), "agent": N_("Agent"),
               "viewer": N_("Viewer")}
VERIFICATION_LABELS = {"unverified": N_("Not verified"), "pending": N_("Verification under review"),
                       "verified": N_("verified"), "rejected": N_("Verification refused")}
WAITING_SHOWN = 50


@dataclass
class Membership:
    account: AccountOut
    role_label: str
    verification_label: str


@router.get("/console", response_class=HTMLResponse)
async def dashboard(request: Request, user: Annotated[User, Depends(page_staff)],
                    session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    lang = request.state.viewer.lang
    memberships = [
        Membership(AccountOut.of(account, locale=lang), translate(request, ROLE_LABELS[role]),
                   translate(request, VERIFICATION_LABELS[account.verification_status]))
        for account, role in await accounts.accounts_of_member(session, user.id)
    ]
    total = sum(item.account.follower_count for item in memberships)
    return render(request, "console/dashboard.html", {"memberships": memberships, "total_followers": total})


@router.get("/admin", response_class=HTMLResponse)
async def admin_overview(request: Request, user: Annotated[User, Depends(page_operator)],
                         session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    waiting, _ = await accounts.list_applications(session, operator=user, status="pending", cursor=None,
                                                  limit=WAITING_SHOWN)
    return render(request, "admin/overview.html", {"applications": waiting})
