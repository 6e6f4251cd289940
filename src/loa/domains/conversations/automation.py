"""Automatic answers of an agency account in citizen conversations: keyword replies and out-of-hours notices.

Pure functions over plain values, so the send path can decide without touching the database.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loa.kit.text import clean_line, fold, fold_words, nfc

VN = ZoneInfo("Asia/Ho_Chi_Minh")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# "24:00" cannot be a `time`; the last representable instant stands for the end of the day.
END_OF_DAY = time.max
_HHMM = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
_HHMM_PATTERN = _HHMM.pattern

MAX_RANGES_PER_DAY = 4
MAX_TEXT = 1000
MAX_KEYWORDS = 20
MAX_KEYWORD = 60
MAX_REPLY = 2000
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 1, 1000, 100

OUT_OF_HOURS_REPEAT = timedelta(hours=12)

MatchMode = Literal["contains", "exact"]


# --- office hours -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeHours:
    """Opening ranges per weekday ("mon".."sun"); a missing day is closed. Ranges are [start, end)."""

    days: dict[str, list[tuple[time, time]]]
    closed_on_holidays: bool = True


_MORNING = (time(7, 30), time(11, 30))
_AFTERNOON = (time(13, 30), time(17, 0))
# Administrative hours of Vietnamese public offices.
DEFAULT_OFFICE_HOURS = OfficeHours(days={day: [_MORNING, _AFTERNOON] for day in WEEKDAYS[:5]})


def parse_hhmm(value: str) -> time:
    """Parse "HH:MM": "07:30" → time(7, 30); "24:00" → END_OF_DAY."""
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise ValueError(f"Giờ không hợp lệ (HH:MM, 00:00–24:00) / Invalid time (HH:MM, 00:00–24:00): {value!r}")
    if value == "24:00":
        return END_OF_DAY
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def format_hhmm(value: time) -> str:
    return "24:00" if value == END_OF_DAY else f"{value.hour:02d}:{value.minute:02d}"


def office_hours_from_json(data: dict[str, Any]) -> OfficeHours:
    """Read the storage form `{"days": {"mon": [["07:30", "11:30"], ...]}, "closed_on_holidays": true}`."""
    raw_days = data.get("days") or {}
    days: dict[str, list[tuple[time, time]]] = {}
    for day in WEEKDAYS:  # canonical order, whatever order the JSON had
        ranges = raw_days.get(day)
        if ranges:
            days[day] = sorted((parse_hhmm(start), parse_hhmm(end)) for start, end in ranges)
    unknown = set(raw_days) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s) in office hours: {sorted(unknown)}")
    return OfficeHours(days=days, closed_on_holidays=bool(data.get("closed_on_holidays", True)))


def office_hours_to_json(hours: OfficeHours) -> dict[str, Any]:
    days = {
        day: [[format_hhmm(start), format_hhmm(end)] for start, end in sorted(hours.days[day])]
        for day in WEEKDAYS
        if hours.days.get(day)
    }
    return {"days": days, "closed_on_holidays": hours.closed_on_holidays}


@functools.lru_cache(maxsize=16)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    # Building the lunar calendar is costly; expand=False keeps the shared object read-only.
    return holidays.country_holidays("VN", years=year, expand=False)


def is_vn_holiday(day: date) -> bool:
    """A Vietnamese public holiday (Tết, 30/4, 1/5, 2/9, …, observed and substituted days included)."""
    return day in _vn_holidays(day.year)


def is_open(hours: OfficeHours, at: datetime) -> bool:
    """Whether the office is open at `at` (timezone-aware), judged in Vietnamese time."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("is_open needs a timezone-aware datetime")
    local = at.astimezone(VN)
    now = local.time()
    inside = any(start <= now < end for start, end in hours.days.get(WEEKDAYS[local.weekday()], ()))
    if not inside:
        return False
    return not (hours.closed_on_holidays and is_vn_holiday(local.date()))


# --- keyword rules ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordRule:
    id: int
    priority: int
    keywords: tuple[str, ...]  # as the admin typed them
    match: str  # "contains" or "exact"
    reply: str
    enabled: bool = True


def keyword_key(keyword: str) -> str:
    """The folded words of a keyword, space-joined: what matching compares (and what makes two keywords equal)."""
    return " ".join(fold_words(keyword))


@dataclass(frozen=True)
class _Contains:
    rule: KeywordRule
    needles: tuple[str, ...]  # " key " so a substring test is a whole-word run test


def _lead(key: str) -> str:
    return " ".join(key.split(" ", 2)[:2])


class CompiledRules:
    """Enabled rules in (priority, id) order with keywords folded once, ready for many messages.

    Indexed by each keyword's first word pair (or its only word) — Vietnamese syllables are few and shared, pairs are
    selective — so a message only tests the rules that could match it.
    """

    __slots__ = ("_by_lead", "_contains", "_exact", "rules")

    def __init__(self, rules: Iterable[KeywordRule] = ()) -> None:
        self.rules: tuple[KeywordRule, ...] = tuple(
            sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.id)))
        self._contains: dict[int, _Contains] = {}  # position in self.rules → needles
        self._by_lead: dict[str, list[int]] = {}
        self._exact: dict[str, int] = {}  # folded message → position of the first rule wanting it exactly
        for position, rule in enumerate(self.rules):
            # A keyword with no words left after folding can never match; drop it rather than match everything.
            keys = [key for key in dict.fromkeys(keyword_key(kw) for kw in rule.keywords) if key]
            if rule.match == "exact":
                for key in keys:
                    self._exact.setdefault(key, position)
            elif keys:
                self._contains[position] = _Contains(rule, tuple(f" {key} " for key in keys))
                for lead in dict.fromkeys(_lead(key) for key in keys):
                    self._by_lead.setdefault(lead, []).append(position)

    def __len__(self) -> int:
        return len(self._contains) + len(set(self._exact.values()))

    def match(self, text: str) -> KeywordRule | None:
        words = fold_words(text) if text else []
        if not words:
            return None
        joined = " ".join(words)
        # Words hold no spaces, so " a b " occurs in " … a b … " exactly when a, b is a contiguous run of words.
        padded = f" {joined} "
        exact = self._exact.get(joined)
        leads = {*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))}
        candidates = sorted({pos for lead in leads for pos in self._by_lead.get(lead, ())})
        for position in candidates:
            if exact is not None and position > exact:
                break
            if any(needle in padded for needle in self._contains[position].needles):
                return self.rules[position]
        return self.rules[exact] if exact is not None else None


def compile_rules(rules: Iterable[KeywordRule]) -> CompiledRules:
    return CompiledRules(rules)


def match_keyword(rules: Sequence[KeywordRule], text: str) -> KeywordRule | None:
    """First enabled rule (priority ascending, then id) whose keyword matches `text`. Compile once for many texts."""
    return compile_rules(rules).match(text)


# --- choosing the automatic answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutomationSettings:
    welcome_enabled: bool
    welcome_text: str
    out_of_hours_enabled: bool
    out_of_hours_text: str
    office_hours: OfficeHours


DEFAULT_WELCOME_TEXT = (
    "Cảm ơn bạn đã quan tâm. Chúng tôi sẽ trả lời tin nhắn của bạn trong giờ hành chính."
)
DEFAULT_OUT_OF_HOURS_TEXT = (
    "Hiện ngoài giờ làm việc. Chúng tôi đã nhận được tin nhắn và sẽ trả lời bạn trong giờ hành chính gần nhất. "
    "Trường hợp khẩn cấp, vui lòng gọi 113 (công an), 114 (cứu hỏa, cứu nạn cứu hộ) hoặc 115 (cấp cứu)."
)
DEFAULT_SETTINGS = AutomationSettings(
    welcome_enabled=False,
    welcome_text=DEFAULT_WELCOME_TEXT,
    out_of_hours_enabled=False,
    out_of_hours_text=DEFAULT_OUT_OF_HOURS_TEXT,
    office_hours=DEFAULT_OFFICE_HOURS,
)


@dataclass(frozen=True)
class AutoReply:
    reason: Literal["keyword", "out_of_hours"]
    text: str
    rule_id: int | None = None


def choose_auto_reply(settings: AutomationSettings, rules: CompiledRules, text: str, at: datetime,
                      last_out_of_hours_reply_at: datetime | None) -> AutoReply | None:
    """The automatic answer to a citizen's message sent at `at`, or None.

    A keyword answer wins (it answers the question); otherwise an out-of-hours notice, at most once per
    OUT_OF_HOURS_REPEAT per conversation so a citizen writing several messages at night gets it once.
    """
    rule = rules.match(text) if text else None
    if rule is not None:
        return AutoReply(reason="keyword", text=rule.reply, rule_id=rule.id)
    if not settings.out_of_hours_enabled or is_open(settings.office_hours, at):
        return None
    if last_out_of_hours_reply_at is not None and at - last_out_of_hours_reply_at < OUT_OF_HOURS_REPEAT:
        return None
    return AutoReply(reason="out_of_hours", text=settings.out_of_hours_text, rule_id=None)


# --- API input models -------------------------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    # Multi-line text: NFC and trimmed at both ends, inner line breaks kept.
    return nfc(value).strip()


class OfficeRange(BaseModel):
    """One opening range of a day, [start, end), "HH:MM" between 00:00 and 24:00."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(json_schema_extra={"pattern": _HHMM_PATTERN}, examples=["07:30"])
    end: str = Field(json_schema_extra={"pattern": _HHMM_PATTERN}, examples=["11:30"])

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("Giờ phải có dạng HH:MM, từ 00:00 đến 24:00 / Time must be HH:MM, from 00:00 to 24:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> OfficeRange:
        if self.start >= self.end:  # zero-padded HH:MM strings sort like times
            raise ValueError("Giờ kết thúc phải sau giờ bắt đầu / The end time must be after the start time")
        return self

    def to_times(self) -> tuple[time, time]:
        return parse_hhmm(self.start), parse_hhmm(self.end)


def _days_schema(schema: dict[str, Any]) -> None:
    # Tell clients (and fuzzers) the allowed weekday keys and the per-day limit, keeping the generated item schema.
    schema["propertyNames"] = {"enum": list(WEEKDAYS)}
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"]["maxItems"] = MAX_RANGES_PER_DAY


class OfficeHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: dict[str, list[OfficeRange]] = Field(
        default_factory=dict,
        description="Weekday (mon..sun) → opening ranges; a missing day is closed.",
        json_schema_extra=_days_schema,
    )
    closed_on_holidays: bool = True

    @field_validator("days")
    @classmethod
    def _valid_days(cls, days: dict[str, list[OfficeRange]]) -> dict[str, list[OfficeRange]]:
        unknown = [day for day in days if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"Ngày không hợp lệ: {', '.join(unknown)} (dùng mon..sun) / "
                             f"Unknown weekday: {', '.join(unknown)} (use mon..sun)")
        for day, ranges in days.items():
            if len(ranges) > MAX_RANGES_PER_DAY:
                raise ValueError(f"Tối đa {MAX_RANGES_PER_DAY} khoảng giờ mỗi ngày ({day}) / "
                                 f"At most {MAX_RANGES_PER_DAY} ranges per day ({day})")
            ordered = sorted(ranges, key=lambda r: r.start)
            for before, after in itertools.pairwise(ordered):
                if after.start < before.end:  # touching ranges (11:30–11:30) are fine
                    raise ValueError(f"Các khoảng giờ bị chồng lên nhau ({day}) / Overlapping ranges ({day})")
        return {day: sorted(days[day], key=lambda r: r.start) for day in WEEKDAYS if day in days}

    def to_office_hours(self) -> OfficeHours:
        return OfficeHours(
            days={day: [r.to_times() for r in ranges] for day, ranges in self.days.items() if ranges},
            closed_on_holidays=self.closed_on_holidays,
        )


class AutomationSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    welcome_enabled: bool
    welcome_text: str = Field(default="", json_schema_extra={"maxLength": MAX_TEXT})
    out_of_hours_enabled: bool
    out_of_hours_text: str = Field(default="", json_schema_extra={"maxLength": MAX_TEXT})
    office_hours: OfficeHoursIn

    @field_validator("welcome_text", "out_of_hours_text")
    @classmethod
    def _text(cls, value: str) -> str:
        # Length is checked as sent, so the limit published in the schema is the limit enforced.
        if len(value) > MAX_TEXT:
            raise ValueError(f"Nội dung tối đa {MAX_TEXT} ký tự / The text is at most {MAX_TEXT} characters")
        return _clean_text(value)

    @model_validator(mode="after")
    def _texts_when_enabled(self) -> AutomationSettingsIn:
        if self.welcome_enabled and not self.welcome_text:
            raise ValueError("Cần nhập lời chào khi bật tin chào / A welcome text is required when it is enabled")
        if self.out_of_hours_enabled and not self.out_of_hours_text:
            raise ValueError("Cần nhập nội dung tin ngoài giờ khi bật / "
                             "An out-of-hours text is required when it is enabled")
        return self

    def to_settings(self) -> AutomationSettings:
        return AutomationSettings(
            welcome_enabled=self.welcome_enabled,
            welcome_text=self.welcome_text,
            out_of_hours_enabled=self.out_of_hours_enabled,
            out_of_hours_text=self.out_of_hours_text,
            office_hours=self.office_hours.to_office_hours(),
        )


class KeywordRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(
        description="Words or phrases; matching ignores case and diacritics.",
        json_schema_extra={"minItems": 1, "maxItems": MAX_KEYWORDS,
                           "items": {"type": "string", "minLength": 1, "maxLength": MAX_KEYWORD}},
    )
    match: MatchMode = "contains"
    reply: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_REPLY})
    priority: int = Field(default=DEFAULT_PRIORITY, description="Lower is tried first.",
                          json_schema_extra={"minimum": MIN_PRIORITY, "maximum": MAX_PRIORITY})
    enabled: bool = True

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, keywords: list[str]) -> list[str]:
        if not 1 <= len(keywords) <= MAX_KEYWORDS:
            raise ValueError(f"Cần 1 đến {MAX_KEYWORDS} từ khóa / Between 1 and {MAX_KEYWORDS} keywords are needed")
        cleaned: list[str] = []
        seen: dict[str, str] = {}
        for raw in keywords:
            keyword = clean_line(raw)
            if not keyword or len(raw) > MAX_KEYWORD:
                raise ValueError(f"Mỗi từ khóa dài 1 đến {MAX_KEYWORD} ký tự / "
                                 f"Each keyword is 1 to {MAX_KEYWORD} characters")
            if not any(ch.isalnum() for ch in fold(keyword)):
                raise ValueError(f"Từ khóa phải có chữ hoặc số: {keyword!r} / "
                                 f"A keyword needs a letter or digit: {keyword!r}")
            key = keyword_key(keyword)
            if key in seen:
                raise ValueError(f"Từ khóa trùng nhau: {seen[key]!r} và {keyword!r} / "
                                 f"Duplicate keywords: {seen[key]!r} and {keyword!r}")
            seen[key] = keyword
            cleaned.append(keyword)
        return cleaned

    @field_validator("reply")
    @classmethod
    def _reply(cls, value: str) -> str:
        if len(value) > MAX_REPLY or not _clean_text(value):
            raise ValueError(f"Nội dung trả lời dài 1 đến {MAX_REPLY} ký tự / "
                             f"The reply is 1 to {MAX_REPLY} characters")
        return _clean_text(value)

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: int) -> int:
        if not MIN_PRIORITY <= value <= MAX_PRIORITY:
            raise ValueError(f"Độ ưu tiên từ {MIN_PRIORITY} đến {MAX_PRIORITY} / "
                             f"Priority is between {MIN_PRIORITY} and {MAX_PRIORITY}")
        return value
