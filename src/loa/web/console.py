"""What every page of the agency console shares: the account being managed with the viewer's role on it (its
access check), the account switcher, the side menu by role and the live stream of the account (the operators'
administration, `/admin`, lives in the domains' `admin_pages`).

    desk = await open_desk(session, user, account_id, roles=INBOX_ROLES)
    return console_page(request, "console/inbox.html", desk, {...})

`open_desk` is the one place a console page checks access: no such account → 404, not its staff or not a
role the page allows → 403 (the services check again when they act).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import Account
from loa.domains.conversations.views import inbox_channel
from loa.domains.people.models import User
from loa.domains.reports import notices
from loa.kit.i18n import N_
from loa.kit.sessions import read_session
from loa.kit.sse import MAX_CURSOR_CHARS, EventStream, parse_cursor
from loa.web.deps import page_router, page_staff
from loa.web.render import pick, render, translate

router = page_router()

AccountId = Annotated[int, Path(ge=1, le=2**62)]
ROLE_LABELS = {"owner": N_("Owner"), "admin": N_("Administrator"), "editor": N_("Editor"), "agent": N_("Agent"),
               "viewer": N_("Viewer")}
ALL_ROLES = accounts.STAFF_ROLES
MANAGERS = accounts.MANAGERS
INBOX_ROLES = ("owner", "admin", "agent")  # as the conversations service: who answers the inbox
FOLLOWER_ROLES = ("owner", "admin", "editor", "agent")  # as the follows service: viewers read statistics only
SWITCHER_LIMIT = 60  # more accounts than this: the switcher links to the list of them

# The side menu: (section, label, path after /console/{id}, roles that see it).
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("dashboard", N_("Today"), "", ALL_ROLES),
    ("inbox", N_("Inbox"), "/inbox", INBOX_ROLES),
    ("broadcasts", N_("Broadcasts"), "/broadcasts", ALL_ROLES),
    ("reports", N_("Reports"), "/reports", ALL_ROLES),
    ("followers", N_("Followers"), "/followers", FOLLOWER_ROLES),
    ("stats", N_("Statistics"), "/stats", ALL_ROLES),
    ("staff", N_("Staff and roles"), "/staff", ALL_ROLES),
    ("automation", N_("Automatic answers"), "/automation", INBOX_ROLES),
    ("integrations", N_("API keys and webhooks"), "/integrations", MANAGERS),
    ("profile", N_("Profile and verification"), "/profile", ALL_ROLES),
)

# Short confirmations after a form did its work (`?done=…` on the page it leads back to).
DONE_MESSAGES = {
    "saved": N_("Saved."),
    "sent": N_("Sent."),
    "deleted": N_("Deleted."),
    "added": N_("Added."),
    "removed": N_("Removed."),
    "submitted": N_("Sent for approval. An administrator of the account will review it."),
    "published": N_("Published: followers see it now."),
    "scheduled": N_("Approved and scheduled."),
    "rejected": N_("Sent back to its author with your reason."),
    "withdrawn": N_("Withdrawn."),
    "blocked": N_("Blocked: this person no longer follows the account and cannot write to it."),
    "unblocked": N_("Unblocked."),
    "applied": N_("Your application was sent to the platform's operators."),
    "read": N_("Marked as read."),
}


@dataclass
class Desk:
    """The account a console page works on, the viewer's role there and the accounts to switch to."""

    account: Account
    role: str
    memberships: list[tuple[Account, str]] = field(default_factory=list)
    account_id: int = 0  # kept apart from `account`, whose attributes a rollback expires

    @property
    def base(self) -> str:
        return f"/console/{self.account_id}"

    def can(self, roles: Iterable[str]) -> bool:
        return self.role in tuple(roles)

    @property
    def manager(self) -> bool:
        return self.role in MANAGERS


async def open_desk(session: AsyncSession, user: User, account_id: int, roles: Iterable[str] = ALL_ROLES) -> Desk:
    """The account for a console page, with the access check (404: no such account; 403: not its staff, or
    not in a role this page is for)."""
    role = await accounts.require_account_role(session, account_id, user, roles)
    account = await accounts.get_account(session, account_id)
    return Desk(account=account, role=role, memberships=await accounts.accounts_of_member(session, user.id),
                account_id=account_id)


async def rolled_back(session: AsyncSession, user: User, desk: Desk) -> Desk:
    """After a refused change: its transaction undone, and the page's account read again (a rollback expires
    every object the session had loaded)."""
    await session.rollback()
    return await open_desk(session, user, desk.account_id)


def done_message(request: Request) -> str | None:
    key = request.query_params.get("done")
    return translate(request, DONE_MESSAGES[key]) if key in DONE_MESSAGES else None


def console_page(request: Request, template: str, desk: Desk, context: Mapping[str, Any] | None = None, *,
                 status_code: int = 200) -> HTMLResponse:
    """A console page with its menu (the sections the viewer's role opens), switcher and confirmation."""
    sections = [(key, translate(request, label), desk.base + path) for key, label, path, roles in SECTIONS
                if desk.can(roles)]
    return render(request, template, {
        "desk": desk, "account": desk.account, "sections": sections,
        "role_label": translate(request, ROLE_LABELS[desk.role]),
        "switcher": desk.memberships if len(desk.memberships) <= SWITCHER_LIMIT else None,
        "done": done_message(request), **(context or {}),
    }, status_code=status_code)


def back_to(url: str, done: str | None = None) -> RedirectResponse:
    """After a form did its work: back to a page (303), with a confirmation to show there."""
    if done:
        url += ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(url, status_code=303)


# --- the list of accounts, the switcher, the live stream ---------------------------------------------------


@dataclass
class Membership:
    account: Account
    kind_label: str
    role_label: str
    verification_label: str


@dataclass
class NoticeLine:
    notice: Any
    account: Account
    report: Any
    text: str


NOTICES_SHOWN = 10


async def notice_lines(request: Request, session: AsyncSession, user: User, *, account_id: int | None = None,
                       limit: int = NOTICES_SHOWN) -> list[NoticeLine]:
    """The staff member's unread notices (deadlines near and passed), in their language."""
    rows = await notices.my_notices(session, user, account_id=account_id, unread=True, limit=limit)
    return [NoticeLine(notice, account, report, pick(request, notice.text))
            for notice, account, report in rows[:limit]]


VERIFICATION_LABELS = {"unverified": N_("Not verified"), "pending": N_("Verification under review"),
                       "verified": N_("verified"), "rejected": N_("Verification refused")}


@router.get("/console", response_class=HTMLResponse)
async def overview(request: Request, user: Annotated[User, Depends(page_staff)],
                   session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    """Every account the staff member works for, with their role: where the console starts."""
    lang = request.state.viewer.lang
    memberships = [Membership(account, KIND_LABELS[account.kind][1 if lang == "en" else 0],
                              translate(request, ROLE_LABELS[role]),
                              translate(request, VERIFICATION_LABELS[account.verification_status]))
                   for account, role in await accounts.accounts_of_member(session, user.id)]
    total = sum(item.account.follower_count for item in memberships)
    return render(request, "console/dashboard.html", {
        "memberships": memberships, "total_followers": total, "notices": await notice_lines(request, session, user)})


@router.get("/console/open")
async def switch(user: Annotated[User, Depends(page_staff)],
                 account: Annotated[int, Query(ge=1, le=2**62)]) -> RedirectResponse:
    """The switcher's form: to the chosen account's console (which checks access)."""
    return RedirectResponse(f"/console/{account}", status_code=303)


@router.get("/console/{account_id}/live", response_class=EventStream, response_model=None)
async def live(request: Request, account_id: AccountId, user: Annotated[User, Depends(page_staff)],
               session: Annotated[AsyncSession, Depends(read_session)],
               last_event_id: Annotated[str | None, Header(alias="Last-Event-ID",
                                                           max_length=MAX_CURSOR_CHARS)] = None) -> EventStream:
    """The account's live events for its open console pages: the inbox (to those who answer it) and the
    account's own (reports moving, broadcasts to approve, follows)."""
    role = await accounts.require_account_role(session, account_id, user, ALL_ROLES)
    channels = [f"staff:{account_id}"] + ([inbox_channel(account_id)] if role in INBOX_ROLES else [])
    await session.close()  # the stream lasts: it must not hold a database connection
    return EventStream(request.app.state.runtime.live, channels, parse_cursor(last_event_id, channels))
