"""Citizen pages of accounts: discover (`/accounts`: search as you type, by province, commune and kind) and an
account's own page (`/a/{handle}`: profile, office hours, follow, its announcements, live)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service
from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import Account
from loa.domains.broadcasts import service as broadcasts
from loa.domains.broadcasts.models import Broadcast
from loa.domains.follows import service as follows
from loa.domains.follows.models import Follow
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError
from loa.kit.sessions import read_session, write_session
from loa.web.deps import Viewer, page_router, viewer
from loa.web.pages import (
    FeedEntry,
    account_out,
    area,
    contacts,
    feed_entries,
    htmx_target,
    live_url,
    office_hours,
)
from loa.web.render import pick, render, translate

router = page_router()

PAGE = 20
THREAD = 20
MAX_QUERY = 200
Handle = Annotated[str, Path(min_length=1, max_length=60)]


def _kinds(lang: str) -> list[tuple[str, str]]:
    return sorted(((kind, labels[1] if lang == "en" else labels[0]) for kind, labels in KIND_LABELS.items()),
                  key=lambda item: item[1])


@router.get("/accounts", response_class=HTMLResponse)
async def discover(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
                   q: Annotated[str, Query()] = "", province: Annotated[str, Query()] = "",
                   commune: Annotated[str, Query()] = "", kind: Annotated[str, Query()] = "",
                   all: Annotated[str, Query()] = "", cursor: Annotated[str, Query(max_length=200)] = "",
                   ) -> HTMLResponse:
    """Search as you type: htmx asks for the results alone (or the next page of them); a page load gets the
    whole page, so the search works without scripts and its address can be shared."""
    lang = request.state.viewer.lang
    chosen = await area(session, province, commune)
    kind = kind if kind in KIND_LABELS else ""
    context = {"q": q[:2000], "area": chosen, "kind": kind, "kinds": _kinds(lang), "all": all == "1",
               "accounts": [], "next_cursor": None, "error": None, "more": bool(cursor)}
    status = 200
    if len(q) > MAX_QUERY:
        context["error"] = translate(request, "Please shorten your search to at most 200 characters.")
        status = 422
    else:
        try:
            rows, next_cursor = await service.search_accounts(
                session, q=q or None, province_code=chosen.province_code or None,
                commune_code=chosen.commune_code or None, kind=kind or None, verified=None if all == "1" else True,
                cursor=cursor or None, limit=PAGE)
            context["accounts"] = [account_out(request, account) for account in rows]
            context["next_cursor"] = next_cursor
        except AppError as exc:
            context["error"], status = pick(request, exc.message), exc.status_code
    target = htmx_target(request)
    if target == "results-list":  # "show more": the next page of results, appended
        return render(request, "citizen/_discover_more.html", context, status_code=status)
    if target == "results":
        return render(request, "citizen/_discover_results.html", context, status_code=status)
    return render(request, "citizen/discover.html", context, status_code=status)


# --- an account's page -----------------------------------------------------------------------------------


async def _thread(session: AsyncSession, account: Account, user: User | None,
                  follow: Follow | None) -> list[FeedEntry]:
    """What this reader sees of the account's announcements: a follower also those meant for their area or
    their tags, everyone else the public ones."""
    if user is not None and follow is not None:
        rows, _ = await broadcasts.feed(session, user=user, account_id=account.id, limit=THREAD)
        return feed_entries(rows, {account.id: follow.last_read_broadcast_id})
    public: list[Broadcast]
    public, _ = await broadcasts.public_thread(session, account_id=account.id, cursor=None, limit=THREAD)
    return [FeedEntry(broadcast, account.name, False) for broadcast in public]


@router.get("/a/{handle}", response_class=HTMLResponse)
async def account_page(request: Request, handle: Handle, found: Annotated[Viewer, Depends(viewer)],
                       session: Annotated[AsyncSession, Depends(write_session)]) -> HTMLResponse:
    account = await service.get_account_by_handle(session, handle)
    user = found.user
    follow = await session.get(Follow, (account.id, user.id)) if user is not None else None
    blocked = user is not None and await follows.is_blocked(session, account.id, user.id)
    thread = await _thread(session, account, user, follow)
    unread = sum(1 for entry in thread if entry.unread)
    if follow is not None and thread and thread[0].broadcast.id > follow.last_read_broadcast_id:
        # Opening the account's page is reading its announcements: the unread count on the home page goes.
        await broadcasts.mark_read(session, user=found.user, account_id=account.id,  # type: ignore[arg-type]
                                   broadcast_id=thread[0].broadcast.id)
        await commit(session)
    position = (await broadcasts.latest_published(session, [account.id]))[account.id]
    commune = await geo.get_commune(session, account.commune_code) if account.commune_code else None
    province = await geo.get_province(session, account.province_code)
    return render(request, "citizen/account.html", {
        "account": account_out(request, account), "following": follow is not None, "blocked": blocked,
        "push_enabled": follow.push_enabled if follow is not None else False,
        "thread": thread, "unread": unread, "hours": office_hours(request, account.office_hours or []),
        "contacts": contacts(request, account.contacts or {}), "commune": commune, "province": province,
        "live": live_url(f"/api/v1/live/accounts/{account.id}", {f"account:{account.id}": position}),
    })


@router.get("/a/{handle}/broadcasts", response_class=HTMLResponse)
async def account_thread(request: Request, handle: Handle, found: Annotated[Viewer, Depends(viewer)],
                         session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    """The announcements alone, for the account's page to refresh when the account publishes."""
    account = await service.get_account_by_handle(session, handle)
    follow = await session.get(Follow, (account.id, found.user.id)) if found.user is not None else None
    thread = await _thread(session, account, found.user, follow)
    return render(request, "citizen/_thread.html", {"thread": thread, "account": account_out(request, account)})
