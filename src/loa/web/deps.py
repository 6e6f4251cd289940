"""Who is looking at a page, and the dependencies that require signing in or a role.

Every page router is made with `page_router()`, which loads the viewer once per request (templates read it:
the header's sign-in state, the CSRF token of forms, the language). A route that needs a person depends on
`page_user`, `page_staff` or `page_operator`: without a live session the browser is sent to the right sign-in
page with `?next=<where it was going>` and comes back there afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.people.models import LoginSession, User
from loa.kit.auth import optional_principal
from loa.kit.errors import Forbidden
from loa.kit.i18n import language_of
from loa.kit.sessions import read_session, write_session

CITIZEN_LOGIN = "/login"
STAFF_LOGIN = "/console/login"
SECOND_FACTOR = "/console/login/totp"
MAX_NEXT_LENGTH = 2000

NOT_STAFF = ("Trang này dành cho cán bộ của cơ quan, đơn vị. Hãy đăng nhập bằng tài khoản cán bộ / "
             "This page is for agency staff. Sign in with a staff login")
NOT_OPERATOR = ("Trang này chỉ dành cho quản trị viên nền tảng / "
                "This page is for platform operators only")


@dataclass
class Viewer:
    """The person behind the browser. `session` is also set while a staff sign-in waits for its second
    factor (then `user` is None): its CSRF token protects the second-factor form."""

    user: User | None
    session: LoginSession | None
    lang: str

    @property
    def csrf_token(self) -> str | None:
        return self.session.csrf_token if self.session is not None else None

    @property
    def is_staff(self) -> bool:
        # Staff sign in with a password and a second factor; citizens with their phone only.
        return self.user is not None and (self.user.password_hash is not None or self.user.is_operator)

    @property
    def is_operator(self) -> bool:
        return self.user is not None and self.user.is_operator

    @property
    def awaiting_second_factor(self) -> bool:
        return self.user is None and self.session is not None and self.session.stage == "second_factor"


async def viewer(request: Request) -> Viewer:
    """The viewer, read once per request (kept in `request.state.viewer`)."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    principal = await optional_principal(request)
    found = Viewer(user=principal.user, session=principal.session, lang=language_of(request))
    request.state.viewer = found
    return found


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for HTML pages: every route loads the viewer first."""
    dependencies: Sequence[Any] = [*kwargs.pop("dependencies", []), Depends(viewer)]
    return APIRouter(dependencies=list(dependencies), **kwargs)


# --- where to go next -------------------------------------------------------------------------------


def safe_next(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site ("/me?tab=1"), else `default`: a sign-in link can never send
    someone to another site."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return default  # browsers read "/\evil.example" as another host, and no header may be split
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def here(request: Request) -> str:
    """The path and query of this request, for `next`. For a form post, the page the form was on."""
    if request.method not in ("GET", "HEAD"):
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc and referer.netloc == request.headers.get("host"):
            return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
        return "/"
    query = request.url.query
    return safe_next(request.url.path + (f"?{query}" if query else ""))


def login_url(login: str, next_path: str) -> str:
    return f"{login}?next={quote(next_path, safe='/')}" if next_path != "/" else login


class SignInRequired(Exception):
    """Raised by the page dependencies: the page error handler redirects to `login_url(login, next_path)`."""

    def __init__(self, login: str, next_path: str) -> None:
        super().__init__(login)
        self.login = login
        self.next_path = next_path

    @property
    def url(self) -> str:
        return login_url(self.login, self.next_path)


class WrongRole(Forbidden):
    """Signed in, but not as someone this page is for: a 403 page that offers the right sign-in."""

    def __init__(self, message: str, login: str, next_path: str) -> None:
        super().__init__(message, code="not_permitted")
        self.sign_in_url = login_url(login, next_path)


# --- dependencies -------------------------------------------------------------------------------------


def _signed_in(request: Request, found: Viewer, login: str) -> User:
    if found.user is not None:
        return found.user
    if found.awaiting_second_factor:
        raise SignInRequired(SECOND_FACTOR, here(request))
    raise SignInRequired(login, here(request))


async def page_user(request: Request, found: Viewer = Depends(viewer)) -> User:
    """Anyone signed in (citizen or staff); others go to the citizen sign-in."""
    return _signed_in(request, found, CITIZEN_LOGIN)


async def page_staff(request: Request, found: Viewer = Depends(viewer)) -> User:
    """Agency staff (signed in with password and second factor); others go to the staff sign-in."""
    user = _signed_in(request, found, STAFF_LOGIN)
    if not found.is_staff:
        raise WrongRole(NOT_STAFF, STAFF_LOGIN, here(request))
    return user


async def page_operator(request: Request, found: Viewer = Depends(viewer)) -> User:
    """Platform operators only."""
    user = _signed_in(request, found, STAFF_LOGIN)
    if not found.is_operator:
        raise WrongRole(NOT_OPERATOR, STAFF_LOGIN, here(request))
    return user


# The parameters console pages declare: `user: Staff, session: Read` (a page) or `session: Write` (a form).
Staff = Annotated[User, Depends(page_staff)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
