"""Rendering pages: one Jinja2 environment for every page, with the language, the viewer and the helpers
each template needs.

    return render(request, "people/login.html", {"form": form}, status_code=422)

Every template gets: `viewer`, `user` (or None), `lang`, `csrf_token` (or None), `current_path` (for
`next`), `dev_pages` (the developer pages exist); the globals `static_url()`, `csrf_field()`,
`login_url()`; `_()`/`gettext`/`ngettext`/`{% trans %}` and the filters of `loa.kit.i18n`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from loa.kit import i18n
from loa.kit.csrf import FIELD as CSRF_FIELD
from loa.web.assets import static_url
from loa.web.deps import Viewer, here, login_url

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _viewer_of(request: Request) -> Viewer:
    found: Viewer | None = getattr(request.state, "viewer", None)
    return found if found is not None else Viewer(user=None, session=None, lang=i18n.language_of(request))


def _common(request: Request) -> dict[str, Any]:
    found = _viewer_of(request)
    return {
        "viewer": found,
        "user": found.user,
        "lang": found.lang,
        "csrf_token": found.csrf_token,
        "current_path": here(request) if request.method in ("GET", "HEAD") else request.url.path,
        "dev_pages": not request.app.state.runtime.settings.is_production,
        "languages": i18n.LANGUAGE_NAMES,
    }


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden field that carries the session's CSRF token in a form (nothing without a session)."""
    token = context.get("csrf_token")
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_common])
i18n.install(templates.env)
templates.env.globals.update(static_url=static_url, csrf_field=csrf_field, login_url=login_url)


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """A page in the viewer's language. Pages shown to a signed-in person are never stored by caches (nor
    shown again by the back button after signing out)."""
    response = templates.TemplateResponse(request, template, dict(context or {}), status_code=status_code,
                                          headers=dict(headers or {}))
    response.headers.setdefault("Vary", "Cookie")  # the language and the person come from cookies
    response.headers.setdefault("X-Frame-Options", "DENY")  # no page of ours inside another site's frame
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if _viewer_of(request).session is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def translate(request: Request, message: str) -> str:
    """`message` (an English msgid) in the viewer's language, for text made in Python code."""
    return i18n.gettext(_viewer_of(request).lang, message)


def translate_plural(request: Request, singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` (English msgids with `%(num)d`) for `n`, in the viewer's language."""
    return i18n.ngettext(_viewer_of(request).lang, singular, plural, n) % {"num": n}


def pick(request: Request, message: str) -> str:
    """A service's bilingual message ("Tiếng Việt / English") in the viewer's language."""
    return i18n.pick(message, _viewer_of(request).lang)
