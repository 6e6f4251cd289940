"""`/api/v1/accounts/{id}/apps…` and `/webhooks…`: the account's owners and admins manage its apps, API keys
and webhook endpoints and read their logs; `/api/v1/oauth/…`: an app gets and revokes its tokens."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.integrations import service, webhooks
from loa.domains.integrations.access import call_log
from loa.domains.integrations.models import AppToken, IntegrationApp, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loa.domains.integrations.schemas import (
    AppCreate,
    AppCreated,
    AppOut,
    AttemptOut,
    CallOut,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    EventTypeOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    TokenResponse,
)
from loa.domains.people.models import User
from loa.kit.auth import require_user
from loa.kit.effects import commit
from loa.kit.errors import Invalid
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["integrations"])

Id = Annotated[int, Path(ge=1, le=2**62)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]

EVENT_DESCRIPTIONS = {
    "follow": "Một người theo dõi tài khoản / Someone followed the account",
    "unfollow": "Một người bỏ theo dõi / Someone unfollowed the account",
    "message.received": "Người dân gửi tin nhắn (kèm loại: text, image, file, location, link) / A citizen's message",
    "message.sent": "Tài khoản gửi tin nhắn (cán bộ, tự động, ứng dụng) / The account sent a message",
    "message.seen": "Người dân đã xem tin nhắn của tài khoản / The citizen read the account's messages",
    "report.created": "Có phản ánh mới gửi đến tài khoản / A new report reached the account",
    "report.status_changed": "Phản ánh chuyển trạng thái / A report moved on",
    "broadcast.published": "Bản tin được phát hành / A broadcast was published",
}


def _app_out(app: IntegrationApp) -> AppOut:
    return AppOut(id=str(app.id), client_id=app.client_id, name=app.name, scopes=app.scopes,
                  created_at=app.created_at, revoked_at=app.revoked_at)


def _key_out(key: AppToken) -> KeyOut:
    return KeyOut(id=str(key.id), name=key.name, prefix=key.prefix, scopes=key.scopes, created_at=key.created_at,
                  expires_at=key.expires_at, revoked_at=key.revoked_at)


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(id=str(endpoint.id), url=endpoint.url, format=endpoint.format, events=endpoint.events,
                       description=endpoint.description, enabled=endpoint.enabled,
                       consecutive_failures=endpoint.consecutive_failures, disabled_reason=endpoint.disabled_reason,
                       disabled_at=endpoint.disabled_at, created_at=endpoint.created_at)


def _delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt] | None = None) -> DeliveryOut:
    return DeliveryOut(
        id=str(delivery.id), event_id=delivery.event_id, event_type=delivery.event_type, status=delivery.status,
        attempts=delivery.attempts, next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code, last_error=delivery.last_error, created_at=delivery.created_at,
        delivered_at=delivery.delivered_at, payload=delivery.payload,
        log=[AttemptOut(status_code=a.status_code, error=a.error, duration_ms=a.duration_ms, created_at=a.created_at)
             for a in attempts or ()])


# --- apps --------------------------------------------------------------------------------------------------


@router.post("/accounts/{account_id}/apps", response_model=AppCreated, status_code=201,
             summary="Create an app (its client secret is shown once)")
async def create_app(account_id: Id, body: AppCreate, session: Write, user: CurrentUser) -> AppCreated:
    app, secret = await service.create_app(session, account_id=account_id, actor=user, name=body.name,
                                           scopes=body.scopes)
    await commit(session)
    return AppCreated(**_app_out(app).model_dump(), client_secret=secret)


@router.get("/accounts/{account_id}/apps", response_model=list[AppOut], summary="The account's apps")
async def list_apps(account_id: Id, session: Read, user: CurrentUser) -> list[AppOut]:
    return [_app_out(app) for app in await service.list_apps(session, account_id=account_id, actor=user)]


@router.delete("/accounts/{account_id}/apps/{app_id}", response_model=AppOut,
               summary="Revoke an app and every token it holds")
async def revoke_app(account_id: Id, app_id: Id, session: Write, user: CurrentUser) -> AppOut:
    app = await service.revoke_app(session, account_id=account_id, app_id=app_id, actor=user)
    await commit(session)
    return _app_out(app)


@router.post("/accounts/{account_id}/apps/{app_id}/secret", response_model=AppCreated,
             summary="Replace the app's client secret (the old one stops working)")
async def rotate_secret(account_id: Id, app_id: Id, session: Write, user: CurrentUser) -> AppCreated:
    app, secret = await service.rotate_secret(session, account_id=account_id, app_id=app_id, actor=user)
    await commit(session)
    return AppCreated(**_app_out(app).model_dump(), client_secret=secret)


@router.post("/accounts/{account_id}/apps/{app_id}/keys", response_model=KeyCreated, status_code=201,
             summary="Create an API key for the app (shown once)")
async def create_key(account_id: Id, app_id: Id, body: KeyCreate, session: Write, user: CurrentUser) -> KeyCreated:
    key, plain = await service.create_api_key(session, account_id=account_id, app_id=app_id, actor=user,
                                               name=body.name, scopes=body.scopes,
                                               expires_in_days=body.expires_in_days)
    await commit(session)
    return KeyCreated(**_key_out(key).model_dump(), key=plain)


@router.get("/accounts/{account_id}/apps/{app_id}/keys", response_model=list[KeyOut], summary="The app's API keys")
async def list_keys(account_id: Id, app_id: Id, session: Read, user: CurrentUser) -> list[KeyOut]:
    return [_key_out(key) for key in await service.list_api_keys(session, account_id=account_id, app_id=app_id,
                                                                 actor=user)]


@router.delete("/accounts/{account_id}/apps/{app_id}/keys/{key_id}", response_model=KeyOut,
               summary="Revoke an API key")
async def revoke_key(account_id: Id, app_id: Id, key_id: Id, session: Write, user: CurrentUser) -> KeyOut:
    key = await service.revoke_api_key(session, account_id=account_id, app_id=app_id, key_id=key_id, actor=user)
    await commit(session)
    return _key_out(key)


@router.get("/accounts/{account_id}/apps/{app_id}/calls", response_model=Page[CallOut],
            summary="The app's calls to the API, newest first")
async def list_calls(request: Request, account_id: Id, app_id: Id, session: Read, user: CurrentUser,
                     cursor: CursorParam = None, limit: LimitParam = 50) -> Page[CallOut]:
    await call_log(request.app.state.runtime).flush()  # this process's latest calls included
    calls, next_cursor = await service.list_calls(session, account_id=account_id, app_id=app_id, actor=user,
                                                  cursor=cursor, limit=limit)
    return Page(items=[CallOut(method=c.method, route=c.route, status=c.status, duration_ms=c.duration_ms,
                               created_at=c.created_at) for c in calls], next_cursor=next_cursor)


# --- the token flow ----------------------------------------------------------------------------------------

# Client ids, secrets and tokens are printable ASCII (we issue them): anything else, a NUL byte above all
# (PostgreSQL refuses it in text), is a clear 422 before it reaches the database.
_CREDENTIAL = r"^[\x21-\x7e]+$"
ClientId = Annotated[str, Form(min_length=1, max_length=40, pattern=_CREDENTIAL)]
Credential = Annotated[str, Form(min_length=1, max_length=256, pattern=_CREDENTIAL)]
OptionalCredential = Annotated[str | None, Form(min_length=1, max_length=256, pattern=_CREDENTIAL)]


@router.post("/oauth/token", response_model=TokenResponse, tags=["open api"],
             summary="Get tokens: client_credentials (client id + secret) or refresh_token (single use)")
async def token(
    session: Write,
    grant_type: Annotated[Literal["client_credentials", "refresh_token"], Form()],
    client_id: ClientId,
    client_secret: OptionalCredential = None,
    refresh_token: OptionalCredential = None,
    scope: Annotated[str | None, Form(max_length=200, pattern=r"^[\x20-\x7e]*$",
                                      description="Space-separated; default: all the app's")] = None,
) -> TokenResponse:
    if grant_type == "client_credentials":
        if not client_secret:
            raise Invalid("Thiếu client_secret / client_secret is required", code="invalid_request")
        issued = await service.grant_client_credentials(session, client_id=client_id, client_secret=client_secret,
                                                        scope=scope)
    else:
        if not refresh_token:
            raise Invalid("Thiếu refresh_token / refresh_token is required", code="invalid_request")
        try:
            issued = await service.grant_refresh(session, client_id=client_id, refresh_token=refresh_token,
                                                 client_secret=client_secret)
        except Invalid as exc:
            if (exc.details or {}).get("family_revoked"):
                await commit(session)  # the revocation of the leaked chain stands
            raise
    await commit(session)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in,
                         refresh_token=issued.refresh_token, scope=" ".join(issued.scopes))


@router.post("/oauth/revoke", status_code=200, tags=["open api"], summary="Revoke a token (RFC 7009)")
async def revoke(session: Write, client_id: ClientId, client_secret: Credential, token: Credential) -> Response:
    await service.revoke_token(session, client_id=client_id, client_secret=client_secret, token=token)
    await commit(session)
    return Response(status_code=200)


# --- webhooks ----------------------------------------------------------------------------------------------


@router.get("/webhooks/events", response_model=list[EventTypeOut], summary="The events webhooks can report")
async def event_types() -> list[EventTypeOut]:
    return [EventTypeOut(type=name, description=EVENT_DESCRIPTIONS[name]) for name in webhooks.EVENT_TYPES]


@router.post("/accounts/{account_id}/webhooks", response_model=EndpointCreated, status_code=201,
             summary="Add a webhook endpoint (its signing secret is shown once)")
async def create_endpoint(account_id: Id, body: EndpointCreate, session: Write, user: CurrentUser) -> EndpointCreated:
    endpoint = await webhooks.create_endpoint(session, account_id=account_id, actor=user, url=body.url,
                                              events=body.events, description=body.description,
                                              payload_format=body.format)
    await commit(session)
    return EndpointCreated(**_endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/accounts/{account_id}/webhooks", response_model=list[EndpointOut], summary="The account's endpoints")
async def list_endpoints(account_id: Id, session: Read, user: CurrentUser) -> list[EndpointOut]:
    return [_endpoint_out(e) for e in await webhooks.list_endpoints(session, account_id=account_id, actor=user)]


@router.patch("/accounts/{account_id}/webhooks/{endpoint_id}", response_model=EndpointOut,
              summary="Change an endpoint, or enable it again")
async def update_endpoint(account_id: Id, endpoint_id: Id, body: EndpointUpdate, session: Write,
                          user: CurrentUser) -> EndpointOut:
    endpoint = await webhooks.update_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=user,
                                              url=body.url, events=body.events, description=body.description,
                                              enabled=body.enabled, payload_format=body.format)
    await commit(session)
    return _endpoint_out(endpoint)


@router.delete("/accounts/{account_id}/webhooks/{endpoint_id}", status_code=204, summary="Remove an endpoint")
async def delete_endpoint(account_id: Id, endpoint_id: Id, session: Write, user: CurrentUser) -> Response:
    await webhooks.delete_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=user)
    await commit(session)
    return Response(status_code=204)


@router.get("/accounts/{account_id}/webhooks/{endpoint_id}/deliveries", response_model=Page[DeliveryOut],
            summary="The delivery log, newest first, with every attempt")
async def list_deliveries(account_id: Id, endpoint_id: Id, session: Read, user: CurrentUser,
                          status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
                          cursor: CursorParam = None, limit: LimitParam = 50) -> Page[DeliveryOut]:
    rows, next_cursor = await webhooks.list_deliveries(session, account_id=account_id, endpoint_id=endpoint_id,
                                                       actor=user, status=status, cursor=cursor, limit=limit)
    return Page(items=[_delivery_out(delivery, attempts) for delivery, attempts in rows], next_cursor=next_cursor)


@router.post("/accounts/{account_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
             response_model=DeliveryOut, status_code=202, summary="Send a delivery again")
async def replay(account_id: Id, endpoint_id: Id, delivery_id: Id, session: Write, user: CurrentUser) -> DeliveryOut:
    copy = await webhooks.replay(session, account_id=account_id, endpoint_id=endpoint_id, delivery_id=delivery_id,
                                 actor=user)
    await commit(session)
    return _delivery_out(copy)
