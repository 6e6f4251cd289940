"""The agency console's followers: the list by area and tag (names, areas and tags only: never phone numbers),
tagging for targeted broadcasts, blocking and unblocking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.follows import service
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError
from loa.web.console import FOLLOWER_ROLES, AccountId, Desk, back_to, console_page, open_desk, rolled_back
from loa.web.deps import Read, Staff, Write, page_router, safe_next
from loa.web.forms import Form as FormState
from loa.web.render import pick

router = page_router()

Text = Annotated[str, Form()]
BLOCKERS = ("owner", "admin", "agent")  # as the follows service
PAGE = 50
COMMUNES_SHOWN = 1000


def _back(desk: Desk, back: str) -> str:
    """The list as it was filtered (only ever this account's followers page)."""
    target = safe_next(back, f"{desk.base}/followers")
    return target if target.startswith(f"{desk.base}/followers") else f"{desk.base}/followers"


async def _page(request: Request, session: AsyncSession, user: User, desk: Desk, *, tag: str = "",
                province: str = "", commune: str = "", cursor: str | None = None, form: FormState | None = None,
                status_code: int = 200) -> HTMLResponse:
    error = None
    followers: list[service.Follower] = []
    next_cursor = None
    try:
        followers, next_cursor = await service.list_followers(
            session, account_id=desk.account.id, actor=user, tag=tag or None, province_code=province or None,
            commune_code=commune or None, cursor=cursor, limit=PAGE)
    except AppError as exc:
        error = pick(request, exc.message)
    codes = sorted({f.commune_code for f in followers if f.commune_code})
    places = {code: unit.name for code, unit in (await geo.get_units(session, "commune", codes)).items()}
    provinces = await geo.list_provinces(session)
    communes = await geo.list_communes(session, province, limit=COMMUNES_SHOWN) \
        if province in {unit.code for unit in provinces} else []
    blocks = await service.list_blocks(session, account_id=desk.account.id, actor=user) if desk.can(BLOCKERS) else []
    query = "&".join(f"{key}={value}" for key, value in (("tag", tag), ("province", province), ("commune", commune))
                     if value)
    return console_page(request, "console/followers.html", desk, {
        "followers": followers, "next_cursor": next_cursor, "places": places, "provinces": provinces,
        "communes": communes, "tags": await service.tag_counts(session, account_id=desk.account.id, actor=user),
        "chosen": {"tag": tag, "province": province, "commune": commune}, "error": error, "blocks": blocks,
        "can_block": desk.can(BLOCKERS), "form": form or FormState(),
        "here": f"{desk.base}/followers" + (f"?{query}" if query else ""),
    }, status_code=422 if error else status_code)


@router.get("/console/{account_id}/followers", response_class=HTMLResponse)
async def followers(request: Request, account_id: AccountId, user: Staff, session: Read,
                    tag: Annotated[str, Query(max_length=40)] = "",
                    province: Annotated[str, Query(pattern=r"^(\d{2})?$")] = "",
                    commune: Annotated[str, Query(pattern=r"^(\d{5})?$")] = "",
                    cursor: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, FOLLOWER_ROLES)
    return await _page(request, session, user, desk, tag=tag, province=province, commune=commune, cursor=cursor)


@router.post("/console/{account_id}/followers/{user_id}/tags", response_class=HTMLResponse)
async def add_tag(request: Request, account_id: AccountId, user_id: AccountId, user: Staff, session: Write,
                  tag: Text = "", back: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, FOLLOWER_ROLES)
    try:
        await service.tag_follower(session, account_id=account_id, actor=user, user_id=user_id, tag=tag)
    except AppError as exc:
        desk = await rolled_back(session, user, desk)
        form = FormState.of(**{f"tag-{user_id}": tag})
        form.fail(f"tag-{user_id}", pick(request, exc.message))
        return await _page(request, session, user, desk, form=form, status_code=exc.status_code)
    await commit(session)
    return back_to(_back(desk, back), "saved")


@router.post("/console/{account_id}/followers/{user_id}/untag", response_class=HTMLResponse)
async def remove_tag(account_id: AccountId, user_id: AccountId, user: Staff, session: Write, tag: Text = "",
                     back: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, FOLLOWER_ROLES)
    await service.untag_follower(session, account_id=account_id, actor=user, user_id=user_id, tag=tag)
    await commit(session)
    return back_to(_back(desk, back), "removed")


@router.post("/console/{account_id}/followers/{user_id}/block", response_class=HTMLResponse)
async def block(account_id: AccountId, user_id: AccountId, user: Staff, session: Write, reason: Text = "",
                back: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, BLOCKERS)
    await service.block_follower(session, account_id=account_id, actor=user, user_id=user_id,
                                 reason=reason.strip()[:500])
    await commit(session)
    return back_to(_back(desk, back), "blocked")


@router.post("/console/{account_id}/followers/{user_id}/unblock", response_class=HTMLResponse)
async def unblock(account_id: AccountId, user_id: AccountId, user: Staff, session: Write,
                  back: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, BLOCKERS)
    await service.unblock_follower(session, account_id=account_id, actor=user, user_id=user_id)
    await commit(session)
    return back_to(_back(desk, back), "unblocked")
