"""Cross-site request forgery protection for cookie-authenticated requests (pure ASGI).

For unsafe methods: a browser's `Sec-Fetch-Site` must say same-origin (or none: typed by the user);
without it, `Origin` must be our own. And when a live session cookie comes along, the session's token
must come too, in the `X-CSRF-Token` header (scripts, htmx) or the `csrf_token` form field (plain
forms). `Authorization: Bearer` requests carry no ambient credential and pass: a cross-site page
cannot set that header without a CORS preflight we never grant.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loa.kit.auth import load_login, session_cookie_name
from loa.kit.errors import error_body

if TYPE_CHECKING:
    from loa.runtime import Runtime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
HEADER = "x-csrf-token"
FIELD = "csrf_token"
MAX_FORM_BYTES = 32 * 1024 * 1024  # forms with uploads; above this the token must come as a header
REFUSAL = "Yêu cầu bị từ chối để bảo vệ tài khoản của bạn (CSRF) / Request refused: cross-site request forgery check"
# Sign-in routes (the API's and the pages') are checked even without a session cookie: a forged sign-in
# would put the victim into the attacker's account. Without a session there is no token yet, so for them
# the origin check is what protects.
ALWAYS_CHECKED = ("/api/v1/auth/", "/login", "/console/login")
REFUSAL_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Yêu cầu bị từ chối / Request refused · Loa</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>Yêu cầu bị từ chối</h1>
<p>Biểu mẫu đã cũ hoặc không được gửi từ trang của Loa, nên chúng tôi không thực hiện để bảo vệ tài khoản
của bạn. Hãy quay lại, tải lại trang rồi gửi lại.</p>
<h2 lang="en">Request refused</h2>
<p lang="en">The form was out of date or did not come from a Loa page, so nothing was done, to protect your
account. Go back, reload the page and send it again.</p>
<p><a href="/">Trang chủ / Home</a></p>
</body></html>
"""


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, always_checked: Iterable[str] = ALWAYS_CHECKED) -> None:
        self.app = app
        self.always_checked = tuple(always_checked)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("authorization", "").lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        cookies = cookie_parser(headers.get("cookie", ""))
        token = cookies.get(session_cookie_name(runtime.settings))
        if token is None and not scope["path"].startswith(self.always_checked):
            await self.app(scope, receive, send)
            return
        if not self._same_origin(scope, headers, runtime):
            await _refuse(scope, headers, send)
            return
        expected = await _csrf_token_of(scope, runtime, token) if token else None
        if expected is None:  # no live session: the request is anonymous and the route decides
            await self.app(scope, receive, send)
            return
        supplied = headers.get(HEADER)
        if supplied is None and headers.get("content-type", "").lower().startswith(FORM_TYPES):
            body = await _read_body(receive, headers)
            if body is not None:
                supplied = await _form_token(scope, body)
                receive = _replay(body, receive)
        if not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
            await _refuse(scope, headers, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _same_origin(scope: Scope, headers: Headers, runtime: Runtime) -> bool:
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site.lower() in ("same-origin", "none")
        origin = headers.get("origin")
        if origin is None:
            return True  # neither header (an old browser or not a browser): the token decides
        allowed = {f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()}
        if runtime.settings.public_url and (public := _origin_of(runtime.settings.public_url)):
            allowed.add(public)
        return origin.lower() in allowed


async def _csrf_token_of(scope: Scope, runtime: Runtime, token: str) -> str | None:
    if len(token) > 128:
        return None
    found = await load_login(scope, runtime, token)
    return found[0].csrf_token if found is not None else None


async def _read_body(receive: Receive, headers: Headers) -> bytes | None:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_token(scope: Scope, body: bytes) -> str | None:
    request = Request(scope, _replay(body, _disconnected))
    try:
        form = await request.form(max_files=100, max_fields=1000)
    except Exception:  # a malformed form has no token; the refusal says enough
        return None
    try:
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


async def _refuse(scope: Scope, headers: Headers, send: Send) -> None:
    # A browser's page navigation (a plain form post) gets a page it can show; everything else the JSON error.
    if "text/html" in headers.get("accept", "") and not scope["path"].startswith("/api/"):
        body, content_type = REFUSAL_PAGE.encode(), b"text/html; charset=utf-8"
    else:
        body = json.dumps(error_body("csrf", REFUSAL), ensure_ascii=False).encode()
        content_type = b"application/json"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install_csrf(app: FastAPI) -> None:
    app.add_middleware(CsrfMiddleware)
