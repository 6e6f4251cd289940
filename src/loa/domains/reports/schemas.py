"""Request and response bodies of the reports API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loa.domains.reports.service import MAX_DESCRIPTION
from loa.domains.reports.workflow import CITIZEN_ACTIONS, STAFF_ACTIONS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldChoice(BaseModel):
    key: str
    name: str


class CategoryField(BaseModel):
    code: str
    label: str
    label_en: str
    datatype: str
    required: bool
    order: int
    values: list[FieldChoice]


class CategoryOut(BaseModel):
    code: str
    name: str
    name_en: str
    description: str
    group: str
    fields: list[CategoryField]
    deadline: str = Field(description="The default handling deadline, in words")
    public_rounding_m: int = Field(description="On the public page the location is rounded to this (0: exact)")


class ReportIn(_Strict):
    category: str = Field(max_length=40, description="A category code (`GET /report-categories`)")
    description: str = Field(max_length=MAX_DESCRIPTION * 2, description="10–4,000 characters")
    title: str = Field("", max_length=200)
    fields: dict[str, Any] = Field(default_factory=dict, description="The category's extra fields by code")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=300)
    commune_code: str | None = Field(None, pattern=r"^\d{5}$", description="Needed with an address and no position")
    occurred_at: datetime | None = Field(None, description="When it happened (with a time zone)")
    public: bool = Field(True, description="Shown on the public page, without the reporter")


class AccountBrief(BaseModel):
    id: int
    name: str
    handle: str


class PhotoOut(BaseModel):
    id: int
    url: str
    thumbnail_url: str
    width: int
    height: int


class DocumentOut(BaseModel):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class EventOut(BaseModel):
    id: int
    type: str
    label: str
    from_status: str | None
    to_status: str | None
    actor: str
    note: str
    created_at: datetime
    data: dict[str, Any]
    public: bool | None = None
    actor_id: int | None = None
    actor_name: str | None = None


class ReportOut(BaseModel):
    """A report as its reporter sees it (staff get more: `StaffReportOut`)."""

    id: int
    code: str
    category: str
    category_name: str
    account: AccountBrief
    status: str
    title: str
    description: str
    fields: dict[str, Any]
    latitude: float | None
    longitude: float | None
    address: str
    commune_code: str | None
    province_code: str | None
    occurred_at: datetime | None
    public: bool
    received_at: datetime
    due_at: datetime
    overdue: bool
    answer: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    rating_comment: str | None
    duplicate_of: str | None
    photos: list[PhotoOut]
    documents: list[DocumentOut] = Field(description="Shown to the reporter and the handling staff only")
    timeline: list[EventOut]
    actions: list[str] = Field(description="What the viewer may do now")


class StaffReportOut(ReportOut):
    forward_by: datetime = Field(description="A report the account is not competent for is transferred by then "
                                             "(5 working days after receipt)")
    hidden: bool
    assigned_to: int | None
    reporter_name: str | None = Field(description="Staff only; never public")
    late: bool
    remind_at: datetime | None
    paused_at: datetime | None
    reminded_at: datetime | None = Field(description="When the assignee was reminded of the current deadline")
    escalated_at: datetime | None = Field(description="When the owners and admins were told the current "
                                                      "deadline had passed")


class ReportRow(BaseModel):
    """A line of a list."""

    id: int
    code: str
    category: str
    status: str
    title: str
    commune_code: str | None
    received_at: datetime
    due_at: datetime
    overdue: bool
    assigned_to: int | None = None


class NearbyOut(BaseModel):
    code: str
    title: str
    status: str
    distance_m: int
    received_at: datetime


class StaffActionIn(_Strict):
    action: Literal[STAFF_ACTIONS]  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=MAX_DESCRIPTION * 2, description="A reason, a question, an answer")
    assignee_id: int | None = Field(None, ge=1, le=2**62)
    duplicate_of: str | None = Field(None, max_length=20, description="The original's code or id (merge)")
    to_account_id: int | None = Field(None, ge=1, le=2**62, description="The competent account (transfer)")
    public: bool = Field(True, description="Shown to the reporter on the timeline")


class CitizenActionIn(_Strict):
    action: Literal[CITIZEN_ACTIONS]  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=MAX_DESCRIPTION * 2)


class RatingIn(_Strict):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=1000)


class HiddenIn(_Strict):
    hidden: bool
    reason: str | None = Field(None, max_length=500)
