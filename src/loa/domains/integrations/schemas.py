"""Request and response shapes of the integrations API (ids are strings, times ISO-8601 with time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loa.domains.integrations.models import SCOPES
from loa.domains.integrations.webhooks import EVENT_TYPES

Scope = Literal[SCOPES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- apps and keys -----------------------------------------------------------------------------------------


class AppCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES))


class AppOut(BaseModel):
    id: str
    client_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class AppCreated(AppOut):
    client_secret: str = Field(description="Shown once: store it now.")


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES))
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="Shown once: store it now.")


class CallOut(BaseModel):
    method: str
    route: str
    status: int
    duration_ms: int
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type
    expires_in: int
    refresh_token: str
    scope: str


# --- webhooks ----------------------------------------------------------------------------------------------


WebhookFormat = Literal["loa", "zalo"]
FORMAT_HELP = ("`loa`: Loa's payload signed per Standard Webhooks; `zalo`: Zalo OA's event shape signed with "
               "`X-ZEvent-Signature` (follow, unfollow and message events only).")


class EndpointCreate(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str = Field(default="", max_length=200)
    format: WebhookFormat = Field(default="loa", description=FORMAT_HELP)


class EndpointUpdate(Strict):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    format: WebhookFormat | None = Field(default=None, description=FORMAT_HELP)


class EndpointOut(BaseModel):
    id: str
    url: str
    format: str
    events: list[str]
    description: str
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_…`; for the `zalo` format, the whole string is "
                                    "the OA secret key of the signature). Shown once.")


class AttemptOut(BaseModel):
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    log: list[AttemptOut] = []


class EventTypeOut(BaseModel):
    type: str
    description: str


# --- the native API --------------------------------------------------------------------------------------------


class OaOut(BaseModel):
    id: str
    handle: str
    name: str
    verified: bool
    follower_count: int
    scopes: list[str]


class ConversationOut(BaseModel):
    id: str
    user_id: str
    user_name: str
    state: str
    has_unread: bool
    last_message_at: datetime | None
    preview: str | None


class SendMessage(Strict):
    text: str = Field(default="", max_length=2000,
                      description="The message, or the caption (≤ 500 characters) of an attachment")
    attachment_id: str | None = Field(default=None, min_length=1, max_length=48,
                                      description="An upload from `POST /oa/media/attachments`: sends a photo or "
                                                  "document")


class AttachmentOut(BaseModel):
    attachment_id: str
    kind: Literal["image", "file"]
    name: str | None
    content_type: str | None
    size: int | None
    width: int | None = None
    height: int | None = None
    expires_at: datetime


class FollowerOut(BaseModel):
    user_id: str
    display_name: str
    commune_code: str | None
    followed_at: datetime
    tags: list[str]


class TagIn(Strict):
    tag: str = Field(min_length=1, max_length=40)


class BroadcastCreate(Strict):
    kind: Literal["article", "notice", "alert"] = "notice"
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000)
    cover_url: str | None = Field(default=None, max_length=500)
    provinces: list[str] = Field(default_factory=list, max_length=50)
    communes: list[str] = Field(default_factory=list, max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=20)
    publish_at: datetime | None = None


class BroadcastOut(BaseModel):
    id: str
    kind: str
    status: str
    title: str
    publish_at: datetime | None
    published_at: datetime | None
    created_at: datetime


class ReportOut(BaseModel):
    id: str
    code: str
    status: str
    title: str
    description: str
    address: str
    commune_code: str | None
    received_at: datetime
    due_at: datetime
    overdue: bool


class ReportAction(Strict):
    action: str = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=5000)
    public: bool = True


class MediaOut(BaseModel):
    url: str
    width: int
    height: int
    bytes: int
    content_type: str
