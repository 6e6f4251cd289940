"""Automatic answers: office hours in Vietnamese time, keyword matching, and what the API accepts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from loa.domains.conversations.automation import (
    DEFAULT_OFFICE_HOURS,
    DEFAULT_SETTINGS,
    OUT_OF_HOURS_REPEAT,
    VN,
    AutomationSettingsIn,
    AutoReply,
    KeywordRule,
    KeywordRuleIn,
    OfficeHours,
    OfficeHoursIn,
    OfficeRange,
    choose_auto_reply,
    compile_rules,
    is_open,
    match_keyword,
    office_hours_from_json,
    office_hours_to_json,
)
from loa.kit.text import fold, fold_words

MONDAY = (2026, 3, 2)
SATURDAY = (2026, 3, 7)
TET = (2026, 2, 17)  # first day of the Lunar New Year, a Tuesday


def vn(ymd: tuple[int, int, int], hour: int, minute: int = 0) -> datetime:
    return datetime(*ymd, hour, minute, tzinfo=VN)


def rule(id: int, *keywords: str, match: str = "contains", priority: int = 100, enabled: bool = True) -> KeywordRule:
    return KeywordRule(id=id, priority=priority, keywords=keywords, match=match, reply=f"reply {id}", enabled=enabled)


# --- office hours -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "open_"),
    [(7, 29, False), (7, 30, True), (11, 29, True), (11, 30, False), (12, 0, False), (13, 30, True),
     (16, 59, True), (17, 0, False), (0, 0, False), (23, 59, False)],
)
def test_default_hours_boundaries_on_a_monday(hour: int, minute: int, open_: bool) -> None:
    assert is_open(DEFAULT_OFFICE_HOURS, vn(MONDAY, hour, minute)) is open_


def test_weekend_is_closed() -> None:
    assert not is_open(DEFAULT_OFFICE_HOURS, vn(SATURDAY, 9))
    assert not is_open(DEFAULT_OFFICE_HOURS, vn(SATURDAY, 9) + timedelta(days=1))


def test_tet_is_closed_even_on_a_weekday_unless_holidays_are_worked() -> None:
    assert vn(TET, 9).weekday() == 1
    assert not is_open(DEFAULT_OFFICE_HOURS, vn(TET, 9))
    assert not is_open(DEFAULT_OFFICE_HOURS, vn((2026, 9, 2), 9))  # National Day, a Wednesday
    worked = dataclasses.replace(DEFAULT_OFFICE_HOURS, closed_on_holidays=False)
    assert is_open(worked, vn(TET, 9))


def test_utc_instants_are_judged_in_vietnamese_time() -> None:
    assert is_open(DEFAULT_OFFICE_HOURS, datetime(*MONDAY, 1, 0, tzinfo=UTC))  # 08:00 in Hà Nội
    assert is_open(DEFAULT_OFFICE_HOURS, datetime(*MONDAY, 0, 30, tzinfo=UTC))  # 07:30
    assert not is_open(DEFAULT_OFFICE_HOURS, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # Monday 06:30
    assert not is_open(DEFAULT_OFFICE_HOURS, datetime(*MONDAY, 10, 0, tzinfo=UTC))  # 17:00
    # Friday 16:30 UTC is already Saturday in Vietnam.
    assert not is_open(OfficeHours(days={"fri": [(time(0), time(23, 59))]}), datetime(2026, 3, 6, 17, 30, tzinfo=UTC))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(DEFAULT_OFFICE_HOURS, datetime(*MONDAY, 9))


def test_storage_form_round_trips() -> None:
    stored = office_hours_to_json(DEFAULT_OFFICE_HOURS)
    assert stored == {
        "days": {day: [["07:30", "11:30"], ["13:30", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "closed_on_holidays": True,
    }
    assert office_hours_from_json(stored) == DEFAULT_OFFICE_HOURS
    all_day = {"days": {"sun": [["00:00", "24:00"]]}, "closed_on_holidays": False}
    hours = office_hours_from_json(all_day)
    assert is_open(hours, vn((2026, 3, 8), 23, 59)) and is_open(hours, vn((2026, 3, 8), 0))
    assert office_hours_to_json(hours) == all_day


def test_storage_form_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        office_hours_from_json({"days": {"mon": [["7:30", "11:30"]]}})
    with pytest.raises(ValueError):
        office_hours_from_json({"days": {"monday": [["07:30", "11:30"]]}})


# --- keyword rules ------------------------------------------------------------------------------------------------


def test_contains_matches_whole_words_folded() -> None:
    rules = [rule(1, "GPLX")]
    assert match_keyword(rules, "Cho hỏi GPLX hết hạn?") == rules[0]
    assert match_keyword(rules, "gplx.") == rules[0]
    assert match_keyword(rules, "gplxabc") is None
    assert match_keyword([rule(2, "an")], "Bản sao giấy tờ") is None
    assert match_keyword([rule(2, "an")], "An toàn thực phẩm") is not None


def test_diacritics_fold_both_ways() -> None:
    typed_with_marks = [rule(1, "giấy phép lái xe")]
    assert match_keyword(typed_with_marks, "giay phep lai xe o dau") is not None
    assert match_keyword(typed_with_marks, "Đổi GIẤY PHÉP LÁI XE ở đâu") is not None
    typed_without = [rule(1, "doi can cuoc")]
    assert match_keyword(typed_without, "Tôi muốn đổi căn cước công dân") is not None
    # The words must be contiguous and in order.
    assert match_keyword(typed_with_marks, "giấy phép xe lái") is None
    assert match_keyword(typed_with_marks, "giấy phép, lái xe") is not None  # punctuation is not a word


def test_exact_needs_the_whole_message() -> None:
    rules = [rule(1, "xin chào", match="exact")]
    assert match_keyword(rules, "Xin chào!") is not None
    assert match_keyword(rules, "  xin   CHAO ") is not None
    assert match_keyword(rules, "xin chào ạ") is None


def test_priority_then_id_order_and_disabled_rules() -> None:
    late = rule(1, "hộ chiếu", priority=200)
    early = rule(5, "hộ chiếu", priority=10)
    tie_low_id = rule(3, "chiếu", priority=10)
    assert match_keyword([late, early, tie_low_id], "làm hộ chiếu") == tie_low_id
    assert match_keyword([late, early], "làm hộ chiếu") == early
    assert match_keyword([late, dataclasses.replace(early, enabled=False)], "làm hộ chiếu") == late
    assert match_keyword([dataclasses.replace(late, enabled=False)], "làm hộ chiếu") is None


def test_any_keyword_of_a_rule_matches_and_empty_text_never_does() -> None:
    compiled = compile_rules([rule(1, "thuế", "hóa đơn"), rule(2, "???")])
    assert len(compiled) == 1  # a keyword with no words can never match
    assert compiled.match("xuất hoá đơn điện tử") is not None
    assert compiled.match("nộp THUE") is not None
    assert compiled.match("") is None
    assert compiled.match("???") is None


VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ0123456789"
vi_word = st.text(alphabet=VI_LETTERS, min_size=1, max_size=8)
separator = st.sampled_from([" ", "  ", ", ", "! ", "\n", " - ", "? ", "; "])


@st.composite
def padded_message(draw: st.DrawFn) -> tuple[str, str]:
    keyword = " ".join(draw(st.lists(vi_word, min_size=1, max_size=3)))
    flips = draw(st.lists(st.booleans(), min_size=len(keyword), max_size=len(keyword)))
    shown = "".join(ch.upper() if flip else ch for ch, flip in zip(keyword, flips, strict=True))
    if draw(st.booleans()):
        shown = fold(shown)  # typed without diacritics
    before = draw(st.lists(vi_word, max_size=4))
    after = draw(st.lists(vi_word, max_size=4))
    parts = [*before, shown, *after]
    message = parts[0]
    for part in parts[1:]:
        message += draw(separator) + part
    return keyword, message


@given(padded_message())
def test_a_keyword_padded_with_other_words_always_matches(case: tuple[str, str]) -> None:
    keyword, message = case
    assert match_keyword([rule(1, keyword)], message) is not None


def _reference_match(rules: list[KeywordRule], text: str) -> KeywordRule | None:
    """The definition, spelled out slowly: the compiled index must agree with it."""
    words = fold_words(text)
    for candidate in sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.id)):
        for keyword in candidate.keywords:
            wanted = fold_words(keyword)
            if not wanted or not words:
                continue
            if candidate.match == "exact" and words == wanted:
                return candidate
            runs = (words[i:i + len(wanted)] for i in range(len(words) - len(wanted) + 1))
            if candidate.match == "contains" and wanted in runs:
                return candidate
    return None


VOCABULARY = ["thủ", "tục", "THU", "giấy", "phép", "xe", "hộ", "chiếu", "GPLX", "an", "bản", "?!"]
phrase = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=5).map(" ".join)
random_rule = st.builds(
    KeywordRule,
    id=st.integers(1, 30),
    priority=st.integers(1, 3),
    keywords=st.lists(phrase, min_size=1, max_size=3).map(tuple),
    match=st.sampled_from(["contains", "exact"]),
    reply=st.just("r"),
    enabled=st.booleans(),
)


@given(st.lists(random_rule, max_size=8), st.lists(phrase, min_size=1, max_size=4).map(", ".join))
def test_compiled_rules_agree_with_the_definition(rules: list[KeywordRule], text: str) -> None:
    assert compile_rules(rules).match(text) == _reference_match(rules, text)


# --- choosing the automatic answer -------------------------------------------------------------------------------

SETTINGS = dataclasses.replace(DEFAULT_SETTINGS, out_of_hours_enabled=True)
RULES = compile_rules([rule(7, "lịch tiếp dân")])


def test_keyword_beats_out_of_hours() -> None:
    night = vn(MONDAY, 22)
    assert choose_auto_reply(SETTINGS, RULES, "Lịch tiếp dân tuần này?", night, None) == AutoReply(
        reason="keyword", text="reply 7", rule_id=7)
    assert choose_auto_reply(SETTINGS, RULES, "Lich tiep dan", vn(MONDAY, 9), None) is not None


def test_out_of_hours_once_per_twelve_hours() -> None:
    night = vn(MONDAY, 22)
    first = choose_auto_reply(SETTINGS, RULES, "Cho hỏi", night, None)
    assert first == AutoReply(reason="out_of_hours", text=SETTINGS.out_of_hours_text, rule_id=None)
    assert choose_auto_reply(SETTINGS, RULES, "Cho hỏi", night + timedelta(hours=1), night) is None
    later = night + OUT_OF_HOURS_REPEAT - timedelta(seconds=1)
    assert choose_auto_reply(SETTINGS, RULES, "", later, night) is None
    saturday_morning = night + OUT_OF_HOURS_REPEAT * 4
    assert choose_auto_reply(SETTINGS, RULES, "", saturday_morning, night) is not None  # an image, a day later


def test_no_out_of_hours_answer_when_open_or_disabled() -> None:
    assert choose_auto_reply(SETTINGS, RULES, "Cho hỏi", vn(MONDAY, 9), None) is None
    assert choose_auto_reply(DEFAULT_SETTINGS, RULES, "Cho hỏi", vn(MONDAY, 22), None) is None
    assert choose_auto_reply(DEFAULT_SETTINGS, RULES, "lịch tiếp dân", vn(MONDAY, 22), None) is not None


def test_default_settings_are_off_with_vietnamese_texts() -> None:
    assert not DEFAULT_SETTINGS.welcome_enabled and not DEFAULT_SETTINGS.out_of_hours_enabled
    assert DEFAULT_SETTINGS.welcome_text.startswith("Cảm ơn")
    assert DEFAULT_SETTINGS.out_of_hours_text.startswith("Hiện ngoài giờ làm việc")
    assert DEFAULT_SETTINGS.office_hours == DEFAULT_OFFICE_HOURS


# --- API input models ---------------------------------------------------------------------------------------------


def _hours(**days: list[dict[str, str]]) -> dict:
    return {"days": days}


def test_office_hours_in_converts_and_sorts() -> None:
    parsed = OfficeHoursIn.model_validate(_hours(
        fri=[{"start": "13:30", "end": "17:00"}, {"start": "07:30", "end": "11:30"}],
        mon=[{"start": "11:30", "end": "24:00"}, {"start": "00:00", "end": "11:30"}],  # touching is fine
        sun=[],
    ))
    hours = parsed.to_office_hours()
    assert list(hours.days) == ["mon", "fri"]
    assert hours.days["fri"] == [(time(7, 30), time(11, 30)), (time(13, 30), time(17, 0))]
    assert hours.closed_on_holidays is True
    assert office_hours_to_json(hours)["days"]["mon"] == [["00:00", "11:30"], ["11:30", "24:00"]]


@pytest.mark.parametrize(
    ("start", "end"),
    [("7:30", "11:30"), ("07:30", "24:01"), ("25:00", "26:00"), ("12:60", "13:00"), ("09:00", "09:00"),
     ("10:00", "09:00"), ("07:30\n", "11:30"), ("", "11:30"), ("07h30", "11:30")],
)
def test_bad_ranges_are_refused(start: str, end: str) -> None:
    with pytest.raises(ValidationError):
        OfficeRange(start=start, end=end)


def test_bad_office_hours_are_refused() -> None:
    overlapping = [{"start": "07:30", "end": "11:30"}, {"start": "11:00", "end": "17:00"}]
    with pytest.raises(ValidationError, match="Overlapping"):
        OfficeHoursIn.model_validate(_hours(mon=overlapping))
    with pytest.raises(ValidationError, match="Unknown weekday"):
        OfficeHoursIn.model_validate(_hours(monday=[{"start": "07:30", "end": "11:30"}]))
    five = [{"start": f"0{h}:00", "end": f"0{h}:30"} for h in range(5)]
    with pytest.raises(ValidationError, match="At most 4"):
        OfficeHoursIn.model_validate(_hours(mon=five))
    with pytest.raises(ValidationError, match="Extra inputs"):
        OfficeHoursIn.model_validate({"days": {}, "timezone": "UTC"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        OfficeRange.model_validate({"start": "07:30", "end": "11:30", "label": "sáng"})


def _settings(**changes: object) -> dict:
    base: dict = {"welcome_enabled": True, "welcome_text": "  Xin chào!  ", "out_of_hours_enabled": False,
                  "out_of_hours_text": "", "office_hours": {"days": {}, "closed_on_holidays": False}}
    return base | changes


def test_automation_settings_in() -> None:
    settings = AutomationSettingsIn.model_validate(_settings()).to_settings()
    assert settings.welcome_text == "Xin chào!"
    assert settings.out_of_hours_text == ""
    assert settings.office_hours == OfficeHours(days={}, closed_on_holidays=False)
    with pytest.raises(ValidationError, match="welcome text is required"):
        AutomationSettingsIn.model_validate(_settings(welcome_text="   "))
    with pytest.raises(ValidationError, match="out-of-hours text is required"):
        AutomationSettingsIn.model_validate(_settings(out_of_hours_enabled=True))
    with pytest.raises(ValidationError, match="at most 1000"):
        AutomationSettingsIn.model_validate(_settings(out_of_hours_text="x" * 1001))
    with pytest.raises(ValidationError, match="Extra inputs"):
        AutomationSettingsIn.model_validate(_settings(keyword_enabled=True))
    with pytest.raises(ValidationError, match="Unknown weekday"):
        AutomationSettingsIn.model_validate(_settings(office_hours={"days": {"t2": []}}))


def test_keyword_rule_in_cleans_and_defaults() -> None:
    parsed = KeywordRuleIn.model_validate({"keywords": ["  giấy   phép lái xe ", "GPLX"], "reply": " Mời bạn xem… \n"})
    assert parsed.keywords == ["giấy phép lái xe", "GPLX"]
    assert parsed.reply == "Mời bạn xem…"
    assert (parsed.match, parsed.priority, parsed.enabled) == ("contains", 100, True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"keywords": []}, "Between 1 and 20"),
        ({"keywords": [f"k{i}" for i in range(21)]}, "Between 1 and 20"),
        ({"keywords": ["   "]}, "1 to 60"),
        ({"keywords": [""]}, "1 to 60"),
        ({"keywords": ["x" * 61]}, "1 to 60"),
        ({"keywords": ["?!…"]}, "letter or digit"),
        ({"keywords": ["Giấy phép", "giay phep!"]}, "Duplicate"),
        ({"reply": "  "}, "1 to 2000"),
        ({"reply": "x" * 2001}, "1 to 2000"),
        ({"priority": 0}, "between 1 and 1000"),
        ({"priority": 1001}, "between 1 and 1000"),
        ({"match": "regex"}, "contains"),
        ({"answer": "x"}, "Extra inputs"),
    ],
)
def test_keyword_rule_in_refusals(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KeywordRuleIn.model_validate({"keywords": ["gplx"], "reply": "Xem tại …"} | changes)


def test_input_schemas_publish_their_limits() -> None:
    days = OfficeHoursIn.model_json_schema()["properties"]["days"]
    assert days["propertyNames"] == {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    assert days["additionalProperties"]["maxItems"] == 4
    assert days["additionalProperties"]["type"] == "array"
    keywords = KeywordRuleIn.model_json_schema()["properties"]["keywords"]
    assert keywords["maxItems"] == 20 and keywords["items"]["maxLength"] == 60
