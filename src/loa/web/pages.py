"""The citizen's home (`/`): for a visitor the search of official accounts, for a signed-in citizen their feed and
the accounts they follow; the language switch; the service worker of Web Push (`/sw.js`, served from the root so
that it may receive pushes for the whole site).

Also what every citizen page shares: choosing a province and a commune, account cards, office hours and
contacts as people read them, and whether a request is htmx asking for a fragment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.accounts.schemas import AccountOut
from loa.domains.broadcasts import service as broadcasts
from loa.domains.broadcasts.models import Broadcast
from loa.domains.conversations import service as conversations
from loa.domains.follows import service as follows
from loa.domains.geo import service as geo
from loa.domains.geo.schemas import Unit
from loa.domains.people.models import User
from loa.kit import i18n
from loa.kit.errors import AppError
from loa.kit.i18n import N_
from loa.kit.sessions import read_session
from loa.web.assets import STATIC_DIR
from loa.web.deps import Viewer, page_router, page_user, safe_next, viewer
from loa.web.render import pick, render, translate

router = page_router()

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
MAX_QUERY_LENGTH = 200
RESULTS = 20
MOST_FOLLOWED = 6  # the landing page stays short on a phone: the search is what matters
FEED_SHOWN = 15
FOLLOWED_SHOWN = 200
CONVERSATIONS_SHOWN = 3
MAX_COMMUNES = 1000  # the largest province has fewer than 200
MAX_LIVE_CURSOR = 8000


# --- shared by the citizen pages ------------------------------------------------------------------------


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def htmx_target(request: Request) -> str | None:
    """The id of the element an htmx request will swap (None for a page load)."""
    return request.headers.get("hx-target") if is_htmx(request) else None


def lang_of(request: Request) -> str:
    return request.state.viewer.lang


def account_out(request: Request, account: Account) -> AccountOut:
    return AccountOut.of(account, locale=lang_of(request))


async def provinces(session: AsyncSession) -> list[Unit]:
    return await geo.list_provinces(session)


async def communes(session: AsyncSession, province_code: str | None) -> list[Unit]:
    """The communes of a province for a select (none without a known province)."""
    if not province_code or await geo.get_province(session, province_code) is None:
        return []
    return await geo.list_communes(session, province_code, limit=MAX_COMMUNES)


@dataclass(frozen=True)
class Area:
    """A province and a commune chosen in a form, with the choices to show for them."""

    province_code: str
    commune_code: str
    provinces: list[Unit]
    communes: list[Unit]


async def area(session: AsyncSession, province_code: str | None, commune_code: str | None) -> Area:
    """What a province/commune pair of selects shows. A commune alone gives its province; a commune of another
    province than the one chosen is dropped (the province was changed and the commune not yet)."""
    province_code = (province_code or "").strip()[:2]
    commune_code = (commune_code or "").strip()[:5]
    commune = await geo.get_commune(session, commune_code) if commune_code.isdigit() else None
    if commune is None:
        commune_code = ""
    elif not province_code:
        province_code = commune.province_code or ""
    elif commune.province_code != province_code:
        commune_code = ""
    return Area(province_code, commune_code, await provinces(session), await communes(session, province_code))


WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days_of(spec: dict[str, Any]) -> list[int]:
    """The weekdays (0 = Monday) of one row of office hours: {"weekday": 0, ...} or {"days": "mon-fri", ...}."""
    if isinstance(spec.get("weekday"), int) and 0 <= spec["weekday"] <= 6:
        return [spec["weekday"]]
    days: list[int] = []
    for part in str(spec.get("days", "")).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first in _DAY_KEYS and (not last or last in _DAY_KEYS):
            start, end = _DAY_KEYS.index(first), _DAY_KEYS.index(last or first)
            days.extend(range(start, end + 1) if start <= end else [])
    return days


def office_hours(request: Request, hours: Iterable[dict[str, Any]]) -> list[str]:
    """Office hours as people read them: "Thứ Hai – Thứ Sáu: 07:30–17:00", days with the same hours together."""
    by_day: dict[int, list[str]] = {}
    for spec in hours:
        opens, closes = spec.get("opens") or spec.get("open"), spec.get("closes") or spec.get("close")
        if not isinstance(opens, str) or not isinstance(closes, str):
            continue
        for day in _days_of(spec):
            by_day.setdefault(day, []).append(f"{opens}–{closes}")
    lines: list[str] = []
    day = 0
    while day < 7:
        if day not in by_day:
            day += 1
            continue
        last = day
        while last + 1 in by_day and by_day[last + 1] == by_day[day]:
            last += 1
        names = translate(request, WEEKDAYS[day]) if last == day else \
            f"{translate(request, WEEKDAYS[day])} – {translate(request, WEEKDAYS[last])}"
        lines.append(f"{names}: {', '.join(sorted(by_day[day]))}")
        day = last + 1
    return lines


@dataclass(frozen=True)
class Contact:
    label: str
    value: str
    href: str | None


def contacts(request: Request, given: dict[str, Any]) -> list[Contact]:
    """An account's contacts with a label each; links only to telephone numbers, e-mail and http(s) sites."""
    shown: list[Contact] = []
    for key, label in (("hotline", N_("Hotline")), ("phone", N_("Phone")), ("email", N_("E-mail")),
                       ("website", N_("Website")), ("address", N_("Address"))):
        value = given.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        href = None
        if key in ("hotline", "phone"):
            href = "tel:" + "".join(char for char in value if char.isdigit() or char == "+")
        elif key == "email" and "@" in value:
            href = f"mailto:{value}"
        elif key == "website" and value.startswith(("https://", "http://")):
            href = value
        shown.append(Contact(translate(request, label), value, href))
    return shown


def live_url(path: str, positions: dict[str, int]) -> str:
    """A live stream's address that starts where the page was drawn (`channel=position` pairs, as `Last-Event-ID`
    carries them): what happens between drawing the page and the stream opening is replayed, not missed."""
    pairs: list[str] = []
    size = 0
    for channel, position in positions.items():
        pair = f"{channel}={position}"
        size += len(pair) + 1
        if size > MAX_LIVE_CURSOR:  # the stream's own limit; channels left out start from their latest event
            break
        pairs.append(pair)
    return f"{path}?{urlencode({'last_event_id': ','.join(pairs)})}" if pairs else path


@dataclass(frozen=True)
class FeedEntry:
    broadcast: Broadcast
    account_name: str
    unread: bool


def feed_entries(rows: Sequence[tuple[Broadcast, str]], last_read: dict[int, int]) -> list[FeedEntry]:
    return [FeedEntry(broadcast, name, broadcast.id > last_read.get(broadcast.account_id, broadcast.id))
            for broadcast, name in rows]


# --- the home page ----------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
               found: Annotated[Viewer, Depends(viewer)],
               q: Annotated[str, Query()] = "", deleted: Annotated[str, Query()] = "") -> HTMLResponse:
    if found.user is not None and not found.is_staff and not q:
        return await _my_home(request, session, found.user)
    if len(q) > MAX_QUERY_LENGTH:  # the search box again, with what was typed and why it cannot be searched
        error = translate(request, "Please shorten your search to at most 200 characters.")
        return render(request, "citizen/landing.html", {"q": q[:2000], "accounts": [], "error": error},
                      status_code=422)
    error = None
    try:
        results, _ = await accounts.search_accounts(session, q=q or None, limit=RESULTS if q else MOST_FOLLOWED)
    except AppError as exc:
        results, error = [], pick(request, exc.message)
    return render(request, "citizen/landing.html", {
        "q": q, "accounts": [account_out(request, account) for account in results], "error": error,
        "deleted": deleted == "1" and found.user is None,
    }, status_code=422 if error else 200)


async def _my_home(request: Request, session: AsyncSession, user: User) -> HTMLResponse:
    followed, _ = await follows.followed_accounts(session, user=user, cursor=None, limit=FOLLOWED_SHOWN)
    unread = dict(await broadcasts.unread_counts(session, user=user))
    last_read = {account.id: follow.last_read_broadcast_id for account, follow in followed}
    rows, _ = await broadcasts.feed(session, user=user, limit=FEED_SHOWN)
    talks, _ = await conversations.citizen_conversations(session, citizen=user, cursor=None,
                                                        limit=CONVERSATIONS_SHOWN)
    mine = sorted((account_out(request, account) for account, _ in followed),
                  key=lambda account: (-unread.get(int(account.id), 0), account.name))
    positions = await broadcasts.latest_published(session, [account.id for account, _ in followed])
    return render(request, "citizen/home.html", {
        "feed": feed_entries(rows, last_read), "followed": mine,
        "unread": {str(account_id): count for account_id, count in unread.items()},
        "unread_total": sum(unread.values()), "conversations": talks,
        "live": live_url("/api/v1/live", {f"account:{account_id}": latest
                                          for account_id, latest in positions.items()}),
    })


@router.get("/me/feed", response_class=HTMLResponse)
async def my_feed(request: Request, user: Annotated[User, Depends(page_user)],
                  session: Annotated[AsyncSession, Depends(read_session)]) -> HTMLResponse:
    """The feed alone, for the home page to refresh when a followed account publishes."""
    followed, _ = await follows.followed_accounts(session, user=user, cursor=None, limit=FOLLOWED_SHOWN)
    last_read = {account.id: follow.last_read_broadcast_id for account, follow in followed}
    rows, _ = await broadcasts.feed(session, user=user, limit=FEED_SHOWN)
    return render(request, "citizen/_feed.html", {"feed": feed_entries(rows, last_read)})


# --- language and the service worker ------------------------------------------------------------------------


@router.get("/lang")
async def switch_language(request: Request, to: str = "", next: str = "/") -> RedirectResponse:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, i18n.language(to), max_age=LANGUAGE_COOKIE_AGE, path="/", samesite="lax",
                        secure=request.app.state.runtime.settings.is_production, httponly=True)
    return response


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    """The service worker that shows pushes. Served from the root: its scope is then the whole site. Never
    cached long: browsers check it for updates."""
    body = (STATIC_DIR / "sw.js").read_bytes()
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache",
                                                                 "X-Content-Type-Options": "nosniff"})
