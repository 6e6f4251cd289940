from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loa.domains.broadcasts.models import Broadcast

Kind = Literal["article", "notice", "alert"]
ProvinceCode = Annotated[str, Field(pattern=r"^\d{2}$")]
CommuneCode = Annotated[str, Field(pattern=r"^\d{5}$")]
Tag = Annotated[str, Field(min_length=1, max_length=40)]


class Targeting(BaseModel):
    """Empty everywhere: every follower. Otherwise followers in any listed area or with any listed tag."""

    model_config = ConfigDict(extra="forbid")

    provinces: list[ProvinceCode] = Field(default_factory=list, max_length=34)
    communes: list[CommuneCode] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500, pattern=r"^(https?://|/)")


class BroadcastDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000, description="Markdown; raw HTML is shown as text")
    cover_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://|/)")
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)
    targeting: Targeting = Field(default_factory=Targeting)
    publish_at: datetime | None = Field(default=None, description="Schedule; ISO-8601 with a time zone")


class BroadcastEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=50_000)
    cover_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://|/)")
    attachments: list[Attachment] | None = Field(default=None, max_length=10)
    targeting: Targeting | None = None
    publish_at: datetime | None = None


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=1000)


class ReadCursor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broadcast_id: str = Field(pattern=r"^\d{1,18}$")


class BroadcastOut(BaseModel):
    id: str
    account_id: str
    kind: str
    status: str
    title: str
    body_html: str | None = Field(description="Null once withdrawn")
    cover_url: str | None
    attachments: list[dict[str, Any]]
    targeting: Targeting
    publish_at: datetime | None
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, broadcast: Broadcast) -> BroadcastOut:
        withdrawn = broadcast.status == "withdrawn"
        return cls(
            id=str(broadcast.id), account_id=str(broadcast.account_id), kind=broadcast.kind, status=broadcast.status,
            title=broadcast.title, body_html=None if withdrawn else broadcast.body_html,
            cover_url=None if withdrawn else broadcast.cover_url,
            attachments=[] if withdrawn else broadcast.attachments,
            targeting=Targeting(provinces=broadcast.target_provinces, communes=broadcast.target_communes,
                                tags=broadcast.target_tags),
            publish_at=broadcast.publish_at, published_at=broadcast.published_at,
            withdrawn_at=broadcast.withdrawn_at, withdraw_reason=broadcast.withdraw_reason,
            created_at=broadcast.created_at,
        )


class StaffBroadcastOut(BroadcastOut):
    body_source: str
    rejection_reason: str | None
    created_by: str | None

    @classmethod
    def of(cls, broadcast: Broadcast) -> StaffBroadcastOut:  # type: ignore[override]
        return cls(**BroadcastOut.of(broadcast).model_dump(), body_source=broadcast.body_source,
                   rejection_reason=broadcast.rejection_reason,
                   created_by=str(broadcast.created_by) if broadcast.created_by else None)


class FeedItem(BroadcastOut):
    account_name: str


class UnreadCount(BaseModel):
    account_id: str
    unread: int = Field(description="Capped at 100")


class Reach(BaseModel):
    broadcast_id: str
    targeted: int
    pushes_planned: int
    pushes_sent: int
    pushes_failed: int
    reads: int


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_day: int | None = Field(ge=1, le=1000)


class QuotaOut(BaseModel):
    account_id: str
    per_day: int
