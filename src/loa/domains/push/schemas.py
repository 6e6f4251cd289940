"""Request and response bodies of the push API (browsers send PushSubscription.toJSON() as is)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VapidKeyOut(BaseModel):
    public_key: str = Field(description="applicationServerKey for PushManager.subscribe (base64url)")


class SubscriptionKeys(Strict):
    p256dh: str = Field(min_length=80, max_length=100, description="base64url P-256 public key (65 bytes)")
    auth: str = Field(min_length=20, max_length=30, description="base64url auth secret (16 bytes)")


class SubscriptionIn(Strict):
    endpoint: str = Field(min_length=12, max_length=1000)
    expirationTime: float | None = Field(default=None, ge=0)  # the browser's own field name
    keys: SubscriptionKeys


class SubscriptionOut(BaseModel):
    id: str
    endpoint: str
    created_at: datetime


class EndpointIn(Strict):
    endpoint: str = Field(min_length=1, max_length=1000)


class QuietHours(Strict):
    quiet_from: str | None = Field(default=None, max_length=5, examples=["22:00"])
    quiet_until: str | None = Field(default=None, max_length=5, examples=["06:30"])


class AccountPushIn(Strict):
    enabled: bool


class AccountPushOut(BaseModel):
    account_id: str
    push_enabled: bool
