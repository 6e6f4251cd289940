"""Errors on pages are pages: a 404, 403, 422, 429 or 500 in the viewer's language, never a stack trace.
A page that needs a signed-in person redirects to the sign-in page and back.

Browsers get the page (they ask for `text/html`; htmx requests too); the JSON API, Open311, media, static
files and any client that does not ask for HTML keep the JSON error envelope of `loa.kit.errors`: these
handlers wrap those and only answer differently to browsers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from loa.kit.errors import AppError, TooMany, Unauthorized
from loa.kit.i18n import language_of, pick
from loa.web.deps import CITIZEN_LOGIN, STAFF_LOGIN, SignInRequired, WrongRole, here, login_url, viewer
from loa.web.render import render

log = structlog.get_logger(__name__)

# Paths whose clients are programs: they keep the JSON errors.
MACHINE_PREFIXES = ("/api/", "/open311/", "/zalo/", "/media/", "/static/", "/healthz", "/metrics", "/openapi.json",
                    "/docs")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    if request.url.path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "") or _is_htmx(request)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """A 303 to `url`; htmx is told to load it as a whole page (not to swap the sign-in form into a fragment)."""
    if _is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _login_for(path: str) -> str:
    return STAFF_LOGIN if path.startswith(("/console", "/admin")) else CITIZEN_LOGIN


async def error_page(request: Request, status_code: int, message: str | None = None, *,
                     sign_in_url: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """The error page; `message` (already in the viewer's language) adds to the status's own explanation."""
    try:
        await viewer(request)  # the header shows who is signed in, in their language
    except Exception:  # the database may be what failed: show the page as to a visitor
        log.warning("viewer unavailable for the error page", exc_info=True)
    try:
        return render(request, "error.html", {"status": status_code, "message": message,
                                              "sign_in_url": sign_in_url}, status_code=status_code,
                      headers=headers)
    except Exception:  # never a second stack trace: a plain bilingual line
        log.exception("error page failed", path=request.url.path)
        return PlainTextResponse("Đã có lỗi xảy ra / Something went wrong", status_code=status_code)


def install_page_errors(app: FastAPI) -> None:
    """Call after `loa.kit.errors.install_error_handlers`: its handlers still answer the machine paths."""
    json_handlers: dict[type[Exception], Handler] = {
        kind: app.exception_handlers[kind]  # type: ignore[misc]
        for kind in (AppError, RequestValidationError, StarletteHTTPException, Exception)
    }

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return redirect(request, exc.url)

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if not is_page(request):
            return await json_handlers[AppError](request, exc)
        if isinstance(exc, Unauthorized):  # an expired session, typically: sign in again, then come back
            return redirect(request, login_url(_login_for(request.url.path), here(request)))
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
        return await error_page(request, exc.status_code, pick(exc.message, language_of(request)),
                                sign_in_url=exc.sign_in_url if isinstance(exc, WrongRole) else None,
                                headers=headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await json_handlers[RequestValidationError](request, exc)
        return await error_page(request, 422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page(request):
            return await json_handlers[StarletteHTTPException](request, exc)
        return await error_page(request, exc.status_code, headers=getattr(exc, "headers", None))

    async def unexpected(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await json_handlers[Exception](request, exc)
        log.exception("unhandled error", path=request.url.path)
        return await error_page(request, 500)

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)

