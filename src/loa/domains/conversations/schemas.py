"""Request and response bodies of the conversations API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from loa.domains.conversations import automation
from loa.domains.conversations.content import MAX_TEXT

CLIENT_REF_PATTERN = r"^[A-Za-z0-9_.:-]+$"
CLIENT_REF_HELP = ("The sender's own id for this message: sending again with the same reference returns the "
                   "stored message instead of storing it twice")
ClientRef = Annotated[str | None, Field(min_length=1, max_length=64, pattern=CLIENT_REF_PATTERN,
                                        description=CLIENT_REF_HELP)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextMessageIn(_Strict):
    kind: Literal["text"] = "text"
    text: str = Field(max_length=MAX_TEXT * 2, description="1–2,000 characters after trimming")
    client_ref: ClientRef = None


class LinkMessageIn(_Strict):
    kind: Literal["link"]
    url: str = Field(max_length=2000, description="An http(s) address")
    text: str = Field("", max_length=1000)
    client_ref: ClientRef = None


class LocationMessageIn(_Strict):
    kind: Literal["location"]
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    text: str = Field("", max_length=1000)
    client_ref: ClientRef = None


def _kind(value: Any) -> str:
    # "kind" may be left out of a plain text message.
    return str(value.get("kind", "text")) if isinstance(value, dict) else getattr(value, "kind", "text")


MessageIn = Annotated[
    Annotated[TextMessageIn, Tag("text")] | Annotated[LinkMessageIn, Tag("link")]
    | Annotated[LocationMessageIn, Tag("location")],
    Discriminator(_kind, custom_error_type="invalid_kind",
                  custom_error_message="kind must be text, link or location (photos and files: the uploads endpoint)"),
]


class StartConversationIn(_Strict):
    citizen_id: int = Field(ge=1, le=2**62)
    message: MessageIn


class AttachmentOut(BaseModel):
    url: str
    thumbnail_url: str | None = None
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None


class LocationOut(BaseModel):
    latitude: float | None
    longitude: float | None
    commune_code: str | None
    commune_name: str | None = None
    province_name: str | None = None


class SentBy(BaseModel):
    id: int
    name: str


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    account_id: int
    direction: Literal["in", "out"] = Field(description="in: from the citizen; out: from the account")
    kind: Literal["text", "image", "file", "location", "link"]
    text: str
    attachment: AttachmentOut | None = None
    location: LocationOut | None = None
    url: str | None = None
    auto: Literal["welcome", "keyword", "out_of_hours"] | None = Field(
        None, description="Set on automatic answers")
    client_ref: str | None = None
    created_at: datetime


class StaffMessageOut(MessageOut):
    sent_by: SentBy | None = Field(None, description="The staff member who wrote a reply (staff only)")


class AccountBrief(BaseModel):
    id: int
    name: str
    handle: str
    verified: bool


class MyConversationOut(BaseModel):
    """A conversation as its citizen sees it."""

    id: int
    account: AccountBrief
    last_message_id: int
    last_message_at: datetime | None
    preview: str
    unread: int
    seen_by_account_up_to: int = Field(description="The account has read the citizen's messages up to this id")


class ConversationOut(BaseModel):
    """An inbox row (staff)."""

    id: int
    account_id: int
    citizen: SentBy
    state: Literal["open", "waiting", "closed"]
    assigned_to: SentBy | None
    labels: list[str]
    has_unread: bool
    unread: int
    last_message_id: int
    last_message_at: datetime | None
    last_direction: Literal["in", "out"] | None
    preview: str
    seen_by_citizen_up_to: int
    first_response_seconds: int | None
    created_at: datetime


class SeenIn(_Strict):
    message_id: int | None = Field(None, ge=1, le=2**62, description="Read up to this message; default all")


class AssignIn(_Strict):
    assignee_id: int | None = Field(description="A member of the account's inbox staff, or null to unassign",
                                    ge=1, le=2**62)


class StateIn(_Strict):
    state: Literal["open", "waiting", "closed"]


class NoteIn(_Strict):
    text: str = Field(max_length=2000)


class NoteOut(BaseModel):
    id: int
    text: str
    author: SentBy | None
    created_at: datetime


class LabelsIn(_Strict):
    labels: list[Annotated[str, Field(max_length=40)]] = Field(max_length=10)


class LabelsOut(BaseModel):
    labels: list[str]


class CannedIn(_Strict):
    title: str = Field(max_length=100)
    text: str = Field(max_length=MAX_TEXT * 2)


class CannedEdit(_Strict):
    title: str | None = Field(None, max_length=100)
    text: str | None = Field(None, max_length=MAX_TEXT * 2)


class CannedOut(BaseModel):
    id: int
    title: str
    text: str
    updated_at: datetime


class OfficeRangeOut(BaseModel):
    start: str
    end: str


class OfficeHoursOut(BaseModel):
    days: dict[str, list[OfficeRangeOut]]
    closed_on_holidays: bool


class AutomationOut(BaseModel):
    welcome_enabled: bool
    welcome_text: str
    out_of_hours_enabled: bool
    out_of_hours_text: str
    office_hours: OfficeHoursOut

    @classmethod
    def of(cls, settings: automation.AutomationSettings) -> AutomationOut:
        stored: dict[str, Any] = automation.office_hours_to_json(settings.office_hours)
        days = {day: [OfficeRangeOut(start=start, end=end) for start, end in ranges]
                for day, ranges in stored["days"].items()}
        return cls(welcome_enabled=settings.welcome_enabled, welcome_text=settings.welcome_text,
                   out_of_hours_enabled=settings.out_of_hours_enabled, out_of_hours_text=settings.out_of_hours_text,
                   office_hours=OfficeHoursOut(days=days, closed_on_holidays=stored["closed_on_holidays"]))


class RuleOut(BaseModel):
    id: int
    priority: int
    keywords: list[str]
    match: Literal["contains", "exact"]
    reply: str
    enabled: bool


class SearchHit(BaseModel):
    citizen_name: str
    message: StaffMessageOut


class SpamIn(_Strict):
    reason: str = Field("", max_length=500)
    block: bool = Field(False, description="Also block the citizen from writing and following")


class AccountReportIn(_Strict):
    reason: str = Field("", max_length=500)


class ReportOut(BaseModel):
    id: int
    conversation_id: int
    account_id: int
    side: Literal["staff", "citizen"]
    reason: str
    status: Literal["open", "reviewed"]
    created_at: datetime
