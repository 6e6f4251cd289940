"""The agency console's integrations, for the account's owners and administrators: its apps (client id and secret,
scopes, revocation) with their API keys, and its webhook endpoints with their delivery log and replays.

A client secret, an API key or an endpoint's signing secret is shown once, in the answer to the form that made it
(the page is rendered there, not redirected to): Loa keeps only a hash of the first two, and a second visit never
shows any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.integrations import service, webhooks
from loa.domains.integrations.models import (
    DELIVERY_STATUSES,
    SCOPES,
    WEBHOOK_FORMATS,
    AppToken,
    IntegrationApp,
    WebhookEndpoint,
)
from loa.domains.integrations.zalo_events import ZALO_EVENT_TYPES
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError
from loa.kit.i18n import N_
from loa.web.console import MANAGERS, AccountId, Desk, back_to, console_page, open_desk, rolled_back
from loa.web.deps import Read, Staff, Write, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, translate

router = page_router()

Text = Annotated[str, Form()]
Ticked = Annotated[list[str] | None, Form()]  # the values of the ticked checkboxes of one name
DELIVERIES_SHOWN = 30
KEY_LIFETIMES = ("", "30", "90", "365")  # days; "" never expires

SCOPE_LABELS = {
    "messages": N_("Messages: read and answer the inbox"),
    "followers": N_("Followers: read the list and tags"),
    "broadcasts": N_("Broadcasts: write and publish"),
    "reports": N_("Reports: read and handle"),
    "stats": N_("Statistics: read the figures"),
}
EVENT_LABELS = {
    "follow": N_("Someone followed the account"),
    "unfollow": N_("Someone unfollowed the account"),
    "message.received": N_("A citizen sent a message"),
    "message.sent": N_("The account sent a message"),
    "message.seen": N_("A citizen read the account's messages"),
    "report.created": N_("A new report reached the account"),
    "report.status_changed": N_("A report moved on"),
    "broadcast.published": N_("A broadcast was published"),
}
FORMAT_LABELS = {
    "loa": N_("Loa (Standard Webhooks signature)"),
    "zalo": N_("Zalo OA compatible (for an existing Zalo integration)"),
}
DELIVERY_LABELS = {"pending": N_("Waiting to be sent"), "delivered": N_("Delivered"), "failed": N_("Failed")}
LIFETIME_LABELS = {"": N_("Never expires"), "30": N_("30 days"), "90": N_("90 days"), "365": N_("1 year")}
# Confirmations of this page's own actions (`?done=…`), beside the console's shared ones.
DONE = {
    "revoked": N_("Revoked: it no longer works."),
    "enabled": N_("Turned on: waiting deliveries go out again."),
    "disabled": N_("Turned off: nothing is sent to it until it is turned on again."),
    "replayed": N_("Queued to be sent again: it appears at the top of the log."),
}


def _labels(request: Request, labels: dict[str, str], keys: Sequence[str]) -> list[tuple[str, str]]:
    """(key, label in the viewer's language) for each key; a key the page has no words for shows as itself."""
    return [(key, translate(request, labels[key]) if key in labels else key) for key in keys]


def _done(request: Request) -> str | None:
    key = request.query_params.get("done")
    return translate(request, DONE[key]) if key in DONE else None


def _common(request: Request) -> dict[str, object]:
    done = _done(request)
    return {"scope_labels": dict(_labels(request, SCOPE_LABELS, SCOPES)),
            "event_labels": dict(_labels(request, EVENT_LABELS, webhooks.EVENT_TYPES)),
            "format_labels": dict(_labels(request, FORMAT_LABELS, WEBHOOK_FORMATS)),
            **({"done": done} if done else {})}


# --- the overview: apps and endpoints -----------------------------------------------------------------------


async def _overview(request: Request, session: AsyncSession, user: User, desk: Desk, *,
                    app_form: FormState | None = None, endpoint_form: FormState | None = None,
                    status_code: int = 200) -> HTMLResponse:
    apps = await service.list_apps(session, account_id=desk.account_id, actor=user)
    endpoints = await webhooks.list_endpoints(session, account_id=desk.account_id, actor=user)
    return console_page(request, "console/integrations.html", desk, {
        "apps": apps, "endpoints": endpoints, **_common(request),
        "app_form": app_form or FormState(),
        "endpoint_form": endpoint_form or FormState.of(format=WEBHOOK_FORMATS[0]),
        "scopes": _labels(request, SCOPE_LABELS, SCOPES),
        "events": _labels(request, EVENT_LABELS, webhooks.EVENT_TYPES),
        "formats": _labels(request, FORMAT_LABELS, WEBHOOK_FORMATS),
        "chosen_scopes": app_form.values.get("scopes", "").split() if app_form else [],
        "chosen_events": endpoint_form.values.get("events", "").split() if endpoint_form else [],
        "max_endpoints": webhooks.MAX_ENDPOINTS, "zalo_events": ZALO_EVENT_TYPES,
    }, status_code=status_code)


@router.get("/console/{account_id}/integrations", response_class=HTMLResponse)
async def integrations(request: Request, account_id: AccountId, user: Staff, session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, MANAGERS)
    return await _overview(request, session, user, desk)


def _ticked(values: list[str] | None, allowed: Sequence[str]) -> list[str]:
    """The ticked values a form may carry (anything else is dropped, as a checkbox cannot send it)."""
    return [value for value in dict.fromkeys(values or ()) if value in allowed]


@router.post("/console/{account_id}/integrations/apps", response_class=HTMLResponse)
async def create_app(request: Request, account_id: AccountId, user: Staff, session: Write, name: Text = "",
                     scopes: Ticked = None) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    chosen = _ticked(scopes, SCOPES)
    form = FormState.of(name=name, scopes=" ".join(chosen))
    if not name.strip():
        form.fail("name", translate(request, "Give the app a name, e.g. the system it connects."))
    if not chosen:
        form.fail("scopes", translate(request, "Tick at least one thing the app may do."))
    if form.ok:
        try:
            app, secret = await service.create_app(session, account_id=account_id, actor=user, name=name,
                                                   scopes=chosen)
        except AppError as exc:
            form.fail("scopes" if exc.code == "invalid_scope" else "name", pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        return await _overview(request, session, user, desk, app_form=form, status_code=422)
    app_id = app.id
    await commit(session)
    return await _app_page(request, session, user, desk, app_id, secret=secret, status_code=201)


# --- one app and its API keys -------------------------------------------------------------------------------


async def _app_page(request: Request, session: AsyncSession, user: User, desk: Desk, app_id: int, *,
                    secret: str | None = None, new_key: tuple[AppToken, str] | None = None,
                    key_form: FormState | None = None, status_code: int = 200) -> HTMLResponse:
    app: IntegrationApp = await service.managed_app(session, account_id=desk.account_id, app_id=app_id, actor=user)
    return console_page(request, "console/integrations_app.html", desk, {
        "app": app, "keys": await service.list_api_keys(session, account_id=desk.account_id, app_id=app_id,
                                                        actor=user),
        "secret": secret, "new_key": new_key, **_common(request),
        "key_form": key_form or FormState(),
        "key_scopes": _labels(request, SCOPE_LABELS, app.scopes),
        "chosen_scopes": key_form.values.get("scopes", "").split() if key_form else list(app.scopes),
        "lifetimes": _labels(request, LIFETIME_LABELS, KEY_LIFETIMES),
    }, status_code=status_code)


@router.get("/console/{account_id}/integrations/apps/{app_id}", response_class=HTMLResponse)
async def app_page(request: Request, account_id: AccountId, app_id: AccountId, user: Staff,
                   session: Read) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, MANAGERS)
    return await _app_page(request, session, user, desk, app_id)


@router.post("/console/{account_id}/integrations/apps/{app_id}/revoke")
async def revoke_app(account_id: AccountId, app_id: AccountId, user: Staff, session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    await service.revoke_app(session, account_id=account_id, app_id=app_id, actor=user)
    await commit(session)
    return back_to(f"{desk.base}/integrations/apps/{app_id}", "revoked")


@router.post("/console/{account_id}/integrations/apps/{app_id}/keys", response_class=HTMLResponse)
async def create_key(request: Request, account_id: AccountId, app_id: AccountId, user: Staff, session: Write,
                     name: Text = "", scopes: Ticked = None, lifetime: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    app = await service.managed_app(session, account_id=account_id, app_id=app_id, actor=user)
    chosen = _ticked(scopes, app.scopes)
    form = FormState.of(name=name, scopes=" ".join(chosen), lifetime=lifetime)
    if not name.strip():
        form.fail("name", translate(request, "Give the key a name, e.g. where it is used."))
    if not chosen:
        form.fail("scopes", translate(request, "Tick at least one thing the key may do."))
    if lifetime not in KEY_LIFETIMES:
        form.fail("lifetime", translate(request, "Choose how long the key works."))
    if form.ok:
        try:
            key, plain = await service.create_api_key(session, account_id=account_id, app_id=app_id, actor=user,
                                                      name=name, scopes=chosen,
                                                      expires_in_days=int(lifetime) if lifetime else None)
        except AppError as exc:  # a revoked app, or scopes it no longer has
            form.fail("scopes" if exc.code == "invalid_scope" else "__all__", pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        return await _app_page(request, session, user, desk, app_id, key_form=form, status_code=422)
    await commit(session)
    return await _app_page(request, session, user, desk, app_id, new_key=(key, plain), status_code=201)


@router.post("/console/{account_id}/integrations/apps/{app_id}/keys/{key_id}/revoke")
async def revoke_key(account_id: AccountId, app_id: AccountId, key_id: AccountId, user: Staff,
                     session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    await service.revoke_api_key(session, account_id=account_id, app_id=app_id, key_id=key_id, actor=user)
    await commit(session)
    return back_to(f"{desk.base}/integrations/apps/{app_id}", "revoked")


# --- webhook endpoints and their delivery log ---------------------------------------------------------------


@router.post("/console/{account_id}/integrations/webhooks", response_class=HTMLResponse)
async def create_endpoint(request: Request, account_id: AccountId, user: Staff, session: Write, url: Text = "",
                          events: Ticked = None, format: Text = "", description: Text = "") -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    chosen = _ticked(events, webhooks.EVENT_TYPES)
    form = FormState.of(url=url, events=" ".join(chosen), format=format, description=description)
    if not url.strip():
        form.fail("url", translate(request, "Enter the address that receives the events, e.g. "
                                            "https://example.gov.vn/loa-webhook"))
    if not chosen:
        form.fail("events", translate(request, "Tick at least one event to send."))
    if format not in WEBHOOK_FORMATS:
        form.fail("format", translate(request, "Choose the format of the events."))
    elif format == "zalo" and set(chosen) - set(ZALO_EVENT_TYPES):
        form.fail("events", translate(request, "Zalo's format has only follow and message events: untick the "
                                               "others, or choose Loa's format."))
    if form.ok:
        try:
            endpoint = await webhooks.create_endpoint(session, account_id=account_id, actor=user, url=url,
                                                      events=chosen, payload_format=format,
                                                      description=description)
        except AppError as exc:
            field = {"invalid_url": "url", "invalid_events": "events", "invalid_format": "format"}.get(
                exc.code or "", "__all__")
            form.fail(field, pick(request, exc.message))
    if not form.ok:
        desk = await rolled_back(session, user, desk)
        return await _overview(request, session, user, desk, endpoint_form=form, status_code=422)
    endpoint_id, secret = endpoint.id, endpoint.secret
    await commit(session)
    return await _endpoint_page(request, session, user, desk, endpoint_id, secret=secret, status_code=201)


async def _endpoint_page(request: Request, session: AsyncSession, user: User, desk: Desk, endpoint_id: int, *,
                         status: str = "", cursor: str | None = None, secret: str | None = None,
                         error: str | None = None, status_code: int = 200) -> HTMLResponse:
    endpoint: WebhookEndpoint = await webhooks.managed_endpoint(session, account_id=desk.account_id,
                                                                endpoint_id=endpoint_id, actor=user)
    deliveries, next_cursor = await webhooks.list_deliveries(
        session, account_id=desk.account_id, endpoint_id=endpoint_id, actor=user, status=status or None,
        cursor=cursor, limit=DELIVERIES_SHOWN)
    return console_page(request, "console/integrations_endpoint.html", desk, {
        "endpoint": endpoint, "deliveries": deliveries, "next_cursor": next_cursor, "status": status,
        "statuses": _labels(request, DELIVERY_LABELS, DELIVERY_STATUSES), "secret": secret, "error": error,
        **_common(request),
    }, status_code=status_code)


@router.get("/console/{account_id}/integrations/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(request: Request, account_id: AccountId, endpoint_id: AccountId, user: Staff, session: Read,
                        status: Annotated[str, Query(max_length=20)] = "",
                        cursor: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    desk = await open_desk(session, user, account_id, MANAGERS)
    return await _endpoint_page(request, session, user, desk, endpoint_id,
                                status=status if status in DELIVERY_STATUSES else "", cursor=cursor)


async def _switch(account_id: int, endpoint_id: int, user: User, session: AsyncSession, *, on: bool) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    await webhooks.update_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=user, enabled=on)
    await commit(session)
    return back_to(f"{desk.base}/integrations/webhooks/{endpoint_id}", "enabled" if on else "disabled")


@router.post("/console/{account_id}/integrations/webhooks/{endpoint_id}/enable")
async def enable_endpoint(account_id: AccountId, endpoint_id: AccountId, user: Staff, session: Write) -> Response:
    return await _switch(account_id, endpoint_id, user, session, on=True)


@router.post("/console/{account_id}/integrations/webhooks/{endpoint_id}/disable")
async def disable_endpoint(account_id: AccountId, endpoint_id: AccountId, user: Staff, session: Write) -> Response:
    return await _switch(account_id, endpoint_id, user, session, on=False)


@router.post("/console/{account_id}/integrations/webhooks/{endpoint_id}/delete")
async def delete_endpoint(account_id: AccountId, endpoint_id: AccountId, user: Staff, session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    await webhooks.delete_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=user)
    await commit(session)
    return back_to(f"{desk.base}/integrations", "deleted")


@router.post("/console/{account_id}/integrations/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
             response_class=HTMLResponse)
async def replay(request: Request, account_id: AccountId, endpoint_id: AccountId, delivery_id: AccountId,
                 user: Staff, session: Write) -> Response:
    desk = await open_desk(session, user, account_id, MANAGERS)
    try:
        await webhooks.replay(session, account_id=account_id, endpoint_id=endpoint_id, delivery_id=delivery_id,
                              actor=user)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        desk = await rolled_back(session, user, desk)  # a turned-off endpoint: say so on its page
        return await _endpoint_page(request, session, user, desk, endpoint_id, error=pick(request, exc.message),
                                    status_code=exc.status_code)
    await commit(session)
    return back_to(f"{desk.base}/integrations/webhooks/{endpoint_id}", "replayed")
