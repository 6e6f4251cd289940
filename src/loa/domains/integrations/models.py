"""Integrations: an account's apps and their tokens, the calls they make, idempotency keys, webhook endpoints
and the outbox of webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, BigId, JsonType, UTCDateTime, check_in, utcnow

SCOPES = ("messages", "followers", "broadcasts", "reports", "stats")
TOKEN_KINDS = ("access", "refresh", "api_key")
DELIVERY_STATUSES = ("pending", "delivered", "failed")
WEBHOOK_FORMATS = ("loa", "zalo")  # Standard Webhooks, or Zalo OA's event shape and signature
UPLOAD_KINDS = ("image", "file")


class IntegrationApp(Base):
    """An account's integration (its own chatbot, case system, portal). It acts through a staff identity of its
    own (`bot_user_id`, an admin of the account with no way to log in), so every domain's access rules apply
    to it unchanged and it can never reach another account."""

    __tablename__ = "integration_apps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    bot_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppToken(Base):
    """An access token, a refresh token (single use; `family` ties a chain of them together so that a reused
    one revokes the whole chain) or a long-lived API key. Stored as SHA-256 only."""

    __tablename__ = "app_tokens"
    __table_args__ = (CheckConstraint(check_in("kind", TOKEN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("integration_apps.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    family: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppCall(Base):
    """One call of an app to the API: lean on purpose (it is written on every call)."""

    __tablename__ = "app_calls"
    __table_args__ = (Index("ix_app_calls_app_id_id", "app_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("integration_apps.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(7))
    route: Mapped[str] = mapped_column(String(120))
    status: Mapped[int] = mapped_column(SmallInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IdempotencyKey(Base):
    """The first answer to a POST carrying `Idempotency-Key`, replayed for a retry of the same request."""

    __tablename__ = "idempotency_keys"

    app_id: Mapped[int] = mapped_column(ForeignKey("integration_apps.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)  # None while the first request runs
    response: Mapped[Any] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint(check_in("format", WEBHOOK_FORMATS), name="format"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))  # needed to sign: kept, shown once
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    format: Mapped[str] = mapped_column(String(10), default="loa", server_default="loa")
    description: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: written in the transaction of the change it reports (an outbox), sent by
    whichever worker claims it (`lease_until`), retried with backoff. Rows of one `order_key` (a conversation)
    go out one at a time, in id order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(check_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "order_key", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))  # the `webhook-id` header: receivers deduplicate on it
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    order_key: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """The delivery log staff read: every try, its answer and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntegrationUpload(Base):
    """A photo or document an app uploaded to send in messages (Zalo's `attachment_id` / file `token`): already
    cleaned and stored privately; each message that uses it gets its own copy, so that erasing one person's
    conversation never removes another's. Usable for UPLOAD_TTL, then swept with its files."""

    __tablename__ = "integration_uploads"
    __table_args__ = (CheckConstraint(check_in("kind", UPLOAD_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("integration_apps.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    attachment: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
