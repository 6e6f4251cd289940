"""The citizen's landing page (search of official accounts) and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.schemas import AccountOut
from loa.kit import i18n
from loa.kit.errors import AppError
from loa.kit.sessions import read_session
from loa.web.deps import Viewer, page_router, safe_next, viewer
from loa.web.render import pick, render, translate

router = page_router()

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
MAX_QUERY_LENGTH = 200
RESULTS = 20
MOST_FOLLOWED = 6  # the landing page stays short on a phone: the search is what matters


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
               found: Annotated[Viewer, Depends(viewer)],
               q: Annotated[str, Query()] = "") -> HTMLResponse:
    if len(q) > MAX_QUERY_LENGTH:  # the search box again, with what was typed and why it cannot be searched
        error = translate(request, "Please shorten your search to at most 200 characters.")
        return render(request, "home.html", {"q": q[:2000], "accounts": [], "error": error}, status_code=422)
    error = None
    try:
        results, _ = await accounts.search_accounts(session, q=q or None, limit=RESULTS if q else MOST_FOLLOWED)
    except AppError as exc:
        results, error = [], pick(request, exc.message)
    return render(request, "home.html", {
        "q": q, "accounts": [AccountOut.of(account, locale=found.lang) for account in results], "error": error,
    }, status_code=422 if error else 200)


@router.get("/lang")
async def switch_language(request: Request, to: str = "", next: str = "/") -> RedirectResponse:
    """Remember the chosen language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, i18n.language(to), max_age=LANGUAGE_COOKIE_AGE, path="/", samesite="lax",
                        secure=request.app.state.runtime.settings.is_production, httponly=True)
    return response
