"""The operators' report settings: categories, routing rules and the holiday calendar. The JSON API
(`admin_api.py`) and the administration pages (`admin_pages.py`) both go through these functions.

Every change is checked whole before anything is written (a bad field is refused naming it, 422) and takes
effect on the next report: routing, deadlines and the calendar are read when a report arrives. Functions
take an AsyncSession and never commit; each change is recorded in the audit log with who made it.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import holidays as holiday_data
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import ACCOUNT_KINDS
from loa.domains.geo import service as geo
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.domains.reports import deadlines
from loa.domains.reports.models import (
    DEADLINE_UNITS,
    FIELD_TYPES,
    CalendarDay,
    Report,
    ReportCategory,
    RoutingRule,
)
from loa.domains.reports.public import MAX_ROUNDING_M
from loa.domains.reports.schemas import CategoryField
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.text import clean_line
from loa.kit.worktime import VN, WorkCalendar, vietnam_calendar

LIST_TYPES = ("singlevaluelist", "multivaluelist")
# Beyond these a deadline is no deadline (and would outrun the calendar's years): about a working year.
MAX_DEADLINE = {"working_hours": 2_000, "working_days": 250}
WHOLE_COUNTRY = "VN"  # the `area` filter's name for rules without an area
CALENDAR_YEARS = (2000, 2100)
CATEGORY_NOT_FOUND = "Không có loại phản ánh này / Unknown report category"
CATEGORY_EXISTS = "Đã có loại phản ánh mang mã này / A category with this code exists"
RULE_EXISTS = "Quy tắc này đã có / This rule exists already"
MAKEUP_NAME = "Ngày làm bù / Make-up working day"
OPERATOR_DAY_OFF = "Ngày nghỉ do quản trị viên thêm / Day off added by the operators"
CALENDAR_KINDS = ("holiday", "working", "not_holiday")
Unit = Literal["working_hours", "working_days"]


def invalid(field: str, message: str, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, details=[{"field": field, "message": message}])


def require_operator(user: User) -> None:
    if not user.is_operator:
        raise Forbidden("Chỉ quản trị nền tảng / Platform operators only", code="not_operator")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- categories ------------------------------------------------------------------------------------------


class ChoiceIn(_Strict):
    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    name: str = Field(min_length=1, max_length=120)


class FieldDefinitionIn(_Strict):
    """An extra field a category asks for (Open311 `attributes`)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=120)
    label_en: str = Field(min_length=1, max_length=120)
    datatype: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    required: bool = False
    order: int = Field(1, ge=0, le=1000)
    values: list[ChoiceIn] = Field(default_factory=list, max_length=100,
                                   description="The choices of a list field (none for the other types)")


class CategoryChanges(_Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    name_en: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    group: str | None = Field(None, max_length=60)
    keywords: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(None, max_length=30)
    account_kinds: list[str] | None = Field(None, max_length=len(ACCOUNT_KINDS),
                                            description="Kinds of account competent for it")
    fields: list[FieldDefinitionIn] | None = Field(None, max_length=30)
    deadline_amount: int | None = Field(None, ge=1, description="More than 0")
    deadline_unit: Unit | None = None
    public_rounding_m: int | None = Field(None, ge=0, le=MAX_ROUNDING_M,
                                          description="The public page rounds the location to this (0: exact)")


class CategoryIn(CategoryChanges):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="Also the Open311 service_code; fixed")
    name: str = Field(min_length=1, max_length=120)  # type: ignore[assignment]
    name_en: str = Field(min_length=1, max_length=120)  # type: ignore[assignment]
    deadline_amount: int = Field(ge=1)  # type: ignore[assignment]
    deadline_unit: Unit  # type: ignore[assignment]
    enabled: bool = True


class AdminCategoryOut(BaseModel):
    code: str
    name: str
    name_en: str
    description: str
    group: str
    keywords: list[str]
    account_kinds: list[str]
    fields: list[CategoryField]
    deadline_amount: int
    deadline_unit: str
    deadline: str = Field(description="The default handling deadline, in words")
    public_rounding_m: int
    enabled: bool
    created_at: datetime


def category_out(category: ReportCategory) -> AdminCategoryOut:
    return AdminCategoryOut(
        code=category.code, name=category.name, name_en=category.name_en, description=category.description,
        group=category.category_group, keywords=category.keywords, account_kinds=category.account_kinds,
        fields=[CategoryField.model_validate(field) for field in category.fields],
        deadline_amount=category.deadline_amount, deadline_unit=category.deadline_unit,
        deadline=deadlines.Deadline(category.deadline_amount, category.deadline_unit).label,
        public_rounding_m=category.public_rounding_m, enabled=category.enabled, created_at=category.created_at)


async def category_by_code(session: AsyncSession, code: str) -> ReportCategory:
    """A category enabled or not (operators and accounts set up disabled ones too)."""
    category = await session.scalar(select(ReportCategory).where(ReportCategory.code == code))
    if category is None:
        raise NotFound(CATEGORY_NOT_FOUND, code="unknown_category")
    return category


async def all_categories(session: AsyncSession, *, operator: User) -> list[ReportCategory]:
    """Every category, enabled or not, in the order they were added."""
    require_operator(operator)
    return list((await session.scalars(select(ReportCategory).order_by(ReportCategory.id))).all())


def check_deadline(amount: int, unit: str, field: str = "deadline_amount") -> None:
    if unit not in DEADLINE_UNITS:
        raise invalid(field.replace("amount", "unit"), "Đơn vị thời hạn không hợp lệ / Invalid deadline unit")
    if not 1 <= amount <= MAX_DEADLINE[unit]:
        limit = MAX_DEADLINE[unit]
        raise invalid(field, f"Thời hạn từ 1 đến {limit} / The deadline is 1 to {limit} {unit.replace('_', ' ')}",
                      "invalid_deadline")


def field_definitions(fields: list[FieldDefinitionIn]) -> list[dict[str, Any]]:
    """Definitions as stored (and as `validation.clean_fields` reads them): unique codes; list types with a
    non-empty list of unique choices, the other types with none."""
    seen: set[str] = set()
    stored = []
    for index, definition in enumerate(fields):
        where = f"fields.{index}"
        if definition.code in seen:
            raise invalid(f"{where}.code", f"Mã trường bị trùng: {definition.code} / Duplicate field code",
                          "duplicate_field_code")
        seen.add(definition.code)
        keys = [choice.key for choice in definition.values]
        if definition.datatype in LIST_TYPES and not keys:
            raise invalid(f"{where}.values", "Trường dạng danh sách cần ít nhất một lựa chọn / A list field needs "
                          "at least one choice", "empty_choices")
        if definition.datatype not in LIST_TYPES and keys:
            raise invalid(f"{where}.values", "Chỉ trường dạng danh sách mới có lựa chọn / Only list fields have "
                          "choices", "unexpected_choices")
        if len(set(keys)) != len(keys):
            raise invalid(f"{where}.values", "Mã lựa chọn bị trùng / Duplicate choice key", "duplicate_choice")
        stored.append({"code": definition.code, "label": clean_line(definition.label),
                       "label_en": clean_line(definition.label_en), "datatype": definition.datatype,
                       "required": definition.required, "order": definition.order,
                       "values": [{"key": choice.key, "name": clean_line(choice.name)}
                                  for choice in definition.values]})
    return stored


def _named(value: str, field: str) -> str:
    text = clean_line(value)
    if not text:
        raise invalid(field, "Cần điền tên / A name is needed", "missing_name")
    return text


def apply_changes(category: ReportCategory, changes: CategoryChanges) -> None:
    """Checks every given change, then applies them (nothing is applied if one is wrong)."""
    values: dict[str, Any] = {}
    if changes.name is not None:
        values["name"] = _named(changes.name, "name")
    if changes.name_en is not None:
        values["name_en"] = _named(changes.name_en, "name_en")
    if changes.description is not None:
        values["description"] = changes.description.strip()
    if changes.group is not None:
        values["category_group"] = clean_line(changes.group)
    if changes.keywords is not None:
        values["keywords"] = [word for word in (clean_line(word) for word in changes.keywords) if word]
    if changes.account_kinds is not None:
        for index, kind in enumerate(changes.account_kinds):
            if kind not in ACCOUNT_KINDS:
                raise invalid(f"account_kinds.{index}", f"Không có loại tài khoản “{kind[:30]}” / Unknown account "
                              "kind", "unknown_account_kind")
        values["account_kinds"] = list(dict.fromkeys(changes.account_kinds))
    if changes.fields is not None:
        values["fields"] = field_definitions(changes.fields)
    if changes.deadline_amount is not None or changes.deadline_unit is not None:
        amount = changes.deadline_amount or category.deadline_amount
        unit = changes.deadline_unit or category.deadline_unit
        check_deadline(amount, unit)
        values["deadline_amount"], values["deadline_unit"] = amount, unit
    if changes.public_rounding_m is not None:
        values["public_rounding_m"] = changes.public_rounding_m
    for name, value in values.items():
        setattr(category, name, value)


def _category_exists() -> Conflict:
    return Conflict(CATEGORY_EXISTS, code="category_exists", details=[{"field": "code", "message": "taken"}])


async def create_category(session: AsyncSession, *, operator: User, body: CategoryIn) -> ReportCategory:
    require_operator(operator)
    if await session.scalar(select(ReportCategory.id).where(ReportCategory.code == body.code)) is not None:
        raise _category_exists()
    category = ReportCategory(code=body.code, name="", name_en="", description="", category_group="", keywords=[],
                              account_kinds=[], fields=[], deadline_amount=body.deadline_amount,
                              deadline_unit=body.deadline_unit, public_rounding_m=0, enabled=body.enabled,
                              created_at=utcnow())
    apply_changes(category, body)
    session.add(category)
    try:
        await session.flush()
    except IntegrityError:  # another operator took the code meanwhile
        raise _category_exists() from None
    await people.audit(session, "report_category.created", actor_user_id=operator.id,
                       subject=f"category:{category.code}")
    return category


async def update_category(session: AsyncSession, *, operator: User, code: str,
                          changes: CategoryChanges) -> ReportCategory:
    require_operator(operator)
    category = await category_by_code(session, code)
    apply_changes(category, changes)
    await people.audit(session, "report_category.changed", actor_user_id=operator.id, subject=f"category:{code}")
    await session.flush()
    return category


async def set_category_enabled(session: AsyncSession, *, operator: User, code: str, enabled: bool) -> ReportCategory:
    """A disabled category takes no new reports; the reports already filed under it stay."""
    require_operator(operator)
    category = await category_by_code(session, code)
    category.enabled = enabled
    await people.audit(session, "report_category.enabled" if enabled else "report_category.disabled",
                       actor_user_id=operator.id, subject=f"category:{code}")
    await session.flush()
    return category


async def delete_category(session: AsyncSession, *, operator: User, code: str) -> None:
    """Remove a category no report was ever filed under (its routing rules and accounts' deadlines go with
    it). One with reports is refused: those reports keep their category; disable it instead."""
    require_operator(operator)
    category = await category_by_code(session, code)
    used = await session.scalar(select(func.count()).select_from(Report).where(Report.category_id == category.id))
    if used:
        raise Conflict(f"Không xóa được: đã có {used} phản ánh thuộc loại này. Hãy tắt loại này thay vì xóa / "
                       f"Cannot delete: {used} reports were filed under it. Disable it instead",
                       code="category_in_use")
    await session.delete(category)
    await people.audit(session, "report_category.deleted", actor_user_id=operator.id, subject=f"category:{code}")
    await session.flush()


# --- routing rules ---------------------------------------------------------------------------------------


class RuleIn(_Strict):
    category: str = Field(max_length=40, description="A category code")
    area_code: str = Field("", max_length=5, description="A commune (5 digits), a province (2), or empty for "
                                                          "the whole country")
    account_id: int = Field(ge=1, le=2**62, description="The competent account")
    priority: int = Field(100, ge=0, le=10_000, description="Among rules of one area, the lowest wins")


class RuleOut(BaseModel):
    id: str
    category: str
    area_code: str
    area_name: str
    account_id: str
    account_name: str
    priority: int
    created_at: datetime


async def _area_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    names = {"": "Toàn quốc / Whole country"}
    provinces = await geo.get_units(session, "province", [code for code in codes if len(code) == 2])
    communes = await geo.get_units(session, "commune", [code for code in codes if len(code) == 5])
    names.update({code: unit.name for code, unit in (provinces | communes).items()})
    return names


async def rule_views(session: AsyncSession, rules: list[RoutingRule]) -> list[RuleOut]:
    """Rules with the names of their category code, area and account (a few queries for the lot)."""
    codes = {category.id: category.code for category in (await session.scalars(select(ReportCategory))).all()}
    names = await accounts.account_names(session, (rule.account_id for rule in rules))
    areas = await _area_names(session, [rule.area_code for rule in rules])
    return [RuleOut(id=str(rule.id), category=codes.get(rule.category_id, ""), area_code=rule.area_code,
                    area_name=areas.get(rule.area_code, rule.area_code), account_id=str(rule.account_id),
                    account_name=names.get(rule.account_id, ""), priority=rule.priority, created_at=rule.created_at)
            for rule in rules]


async def check_area(session: AsyncSession, code: str, field: str) -> str:
    """An area of a rule: empty (the whole country), an existing province or commune."""
    code = code.strip()
    if code == "":
        return code
    if len(code) == 2:
        await geo.require_province(session, code, field=field)
    elif len(code) == 5:
        await geo.require_commune(session, code, field=field)
    else:
        raise invalid(field, "Mã địa bàn là mã tỉnh (2 số) hoặc mã xã (5 số) / An area is a province code "
                      "(2 digits) or a commune code (5 digits)", "invalid_area")
    return code


async def _category_id(session: AsyncSession, code: str, field: str = "category") -> int:
    category_id = await session.scalar(select(ReportCategory.id).where(ReportCategory.code == code))
    if category_id is None:
        raise invalid(field, CATEGORY_NOT_FOUND, "unknown_category")
    return category_id


async def list_rules(session: AsyncSession, *, operator: User, category: str | None = None, area: str | None = None,
                     cursor: str | None = None, limit: int = 50) -> tuple[list[RuleOut], str | None]:
    """Rules in the order they were added, filtered by category code and by area (`VN`: the whole country)."""
    require_operator(operator)
    query = select(RoutingRule).order_by(RoutingRule.id)
    if category:
        query = query.where(RoutingRule.category_id == await _category_id(session, category))
    if area:
        query = query.where(RoutingRule.area_code == ("" if area == WHOLE_COUNTRY
                                                      else await check_area(session, area, "area")))
    after = cursor_int(decode_cursor(cursor), "id")
    if after is not None:
        query = query.where(RoutingRule.id > after)
    rules = list((await session.scalars(query.limit(limit + 1))).all())
    more = len(rules) > limit
    rules = rules[:limit]
    return await rule_views(session, rules), encode_cursor({"id": rules[-1].id}) if more and rules else None


async def get_rule(session: AsyncSession, *, operator: User, rule_id: int) -> RuleOut:
    require_operator(operator)
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")
    return (await rule_views(session, [rule]))[0]


def _rule_exists() -> Conflict:
    return Conflict(RULE_EXISTS, code="rule_exists",
                    details=[{"field": "account_id", "message": "already routed here"}])


async def _checked_rule(session: AsyncSession, body: RuleIn, rule_id: int | None) -> tuple[int, str]:
    """(category id, area code) of a rule as asked, every part checked; the same rule twice is refused."""
    category_id = await _category_id(session, body.category)
    area_code = await check_area(session, body.area_code, "area_code")
    if not await accounts.account_names(session, [body.account_id]):
        raise invalid("account_id", "Không tìm thấy tài khoản / Account not found", "account_not_found")
    same = select(RoutingRule.id).where(RoutingRule.category_id == category_id, RoutingRule.area_code == area_code,
                                        RoutingRule.account_id == body.account_id)
    if rule_id is not None:
        same = same.where(RoutingRule.id != rule_id)
    if await session.scalar(same) is not None:
        raise _rule_exists()
    return category_id, area_code


async def create_rule(session: AsyncSession, *, operator: User, body: RuleIn) -> RuleOut:
    """Send a category's reports in an area to an account (the next report follows it)."""
    require_operator(operator)
    category_id, area_code = await _checked_rule(session, body, None)
    rule = RoutingRule(category_id=category_id, area_code=area_code, account_id=body.account_id,
                       priority=body.priority, created_at=utcnow())
    session.add(rule)
    try:
        await session.flush()
    except IntegrityError:  # the same rule added at the same moment
        raise _rule_exists() from None
    await people.audit(session, "routing_rule.created", actor_user_id=operator.id, subject=f"rule:{rule.id}",
                       details={"category": body.category, "area": area_code, "account_id": body.account_id})
    return (await rule_views(session, [rule]))[0]


async def update_rule(session: AsyncSession, *, operator: User, rule_id: int, body: RuleIn) -> RuleOut:
    require_operator(operator)
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")
    category_id, area_code = await _checked_rule(session, body, rule_id)
    rule.category_id, rule.area_code, rule.account_id, rule.priority = (category_id, area_code, body.account_id,
                                                                        body.priority)
    try:
        await session.flush()
    except IntegrityError:
        raise _rule_exists() from None
    await people.audit(session, "routing_rule.changed", actor_user_id=operator.id, subject=f"rule:{rule.id}",
                       details={"category": body.category, "area": area_code, "account_id": body.account_id})
    return (await rule_views(session, [rule]))[0]


async def delete_rule(session: AsyncSession, *, operator: User, rule_id: int) -> None:
    require_operator(operator)
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")
    await session.delete(rule)
    await people.audit(session, "routing_rule.deleted", actor_user_id=operator.id, subject=f"rule:{rule_id}")
    await session.flush()


# --- the holiday calendar --------------------------------------------------------------------------------


class CalendarChangeIn(_Strict):
    kind: Literal["holiday", "working", "not_holiday"] = Field(
        description="holiday: an extra day off; working: a make-up working day (weekend); "
                    "not_holiday: a built-in holiday worked after all")
    name: str = Field("", max_length=120)


class CalendarChangeOut(BaseModel):
    date: date
    kind: str
    name: str
    updated_at: datetime


class CalendarDayOut(BaseModel):
    date: date
    name: str
    source: Literal["builtin", "operator"]


class CalendarOut(BaseModel):
    year: int
    days_off: list[CalendarDayOut] = Field(description="Public holidays of the year (weekends not listed)")
    working_days: list[CalendarDayOut] = Field(description="Weekend days worked (make-up days)")
    changes: list[CalendarChangeOut] = Field(description="The operators' changes in the year")


@lru_cache(maxsize=8)
def builtin_calendar(year: int) -> tuple[WorkCalendar, dict[date, str]]:
    """The `holidays` package's calendar of a year, and its days' names in Vietnamese / English."""
    vietnamese = holiday_data.country_holidays("VN", years=year, language="vi")
    english = holiday_data.country_holidays("VN", years=year, language="en_US")
    names = {day: f"{name} / {english.get(day, name)}" for day, name in vietnamese.items()}
    return vietnam_calendar([year]), names


def check_year(year: int, field: str = "year") -> None:
    if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
        raise invalid(field, f"Năm từ {CALENDAR_YEARS[0]} đến {CALENDAR_YEARS[1]} / The year is "
                      f"{CALENDAR_YEARS[0]}–{CALENDAR_YEARS[1]}", "invalid_day")


def this_year() -> int:
    return utcnow().astimezone(VN).year


async def calendar_view(session: AsyncSession, *, operator: User, year: int) -> CalendarOut:
    """The year's days off and make-up days as deadlines count them, and the operators' changes."""
    require_operator(operator)
    check_year(year)
    builtin, names = builtin_calendar(year)
    # What deadlines actually use: the same function, the same stored changes.
    effective = await deadlines.calendar(session, datetime(year, 7, 1, tzinfo=VN))
    changes = list((await session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day))).all())
    changed = {change.day: change for change in changes}

    def listed(day: date, builtin_days: frozenset[date], default: str) -> CalendarDayOut:
        if day in builtin_days:
            return CalendarDayOut(date=day, name=names.get(day, default), source="builtin")
        return CalendarDayOut(date=day, name=(changed[day].name if day in changed else "") or default,
                              source="operator")

    return CalendarOut(
        year=year,
        days_off=[listed(day, builtin.holidays, OPERATOR_DAY_OFF)
                  for day in sorted(effective.holidays) if day.year == year],
        working_days=[listed(day, builtin.working_days, MAKEUP_NAME)
                      for day in sorted(effective.working_days) if day.year == year and effective.is_working_day(day)],
        changes=[CalendarChangeOut(date=change.day, kind=change.kind, name=change.name, updated_at=change.updated_at)
                 for change in changes])


def check_change(day: date, kind: str) -> None:
    """A change must change something: removing a holiday the package does not know, or working a day
    that is already worked, would silently do nothing."""
    check_year(day.year, "day")
    builtin, _ = builtin_calendar(day.year)
    if kind not in CALENDAR_KINDS:
        raise invalid("kind", "Loại thay đổi không hợp lệ / Unknown kind of change", "invalid_kind")
    if kind == "holiday" and day in builtin.holidays:
        raise invalid("kind", "Ngày này đã là ngày lễ / This day is a public holiday already", "already_holiday")
    if kind == "not_holiday" and day not in builtin.holidays:
        raise invalid("kind", "Ngày này không phải ngày lễ / This day is not a public holiday", "not_a_holiday")
    if kind == "working" and (day in builtin.holidays or builtin.is_working_day(day)):
        raise invalid("kind", "Chỉ thêm ngày làm bù vào cuối tuần không phải ngày lễ (ngày lễ: dùng not_holiday) / "
                      "A make-up day is a weekend day that is not a holiday (for a holiday: not_holiday)",
                      "not_a_weekend")


async def set_calendar_change(session: AsyncSession, *, operator: User, day: date, kind: str,
                              name: str = "") -> CalendarDay:
    """Add (or replace) the change of a day: an extra holiday, a make-up working day, a holiday worked."""
    require_operator(operator)
    check_change(day, kind)
    change = await session.get(CalendarDay, day)
    if change is None:
        change = CalendarDay(day=day)
        session.add(change)
    change.kind, change.name, change.updated_at = kind, clean_line(name)[:120], utcnow()
    await people.audit(session, "calendar.changed", actor_user_id=operator.id, subject=f"day:{day.isoformat()}",
                       details={"kind": kind, "name": change.name})
    await session.flush()
    return change


async def remove_calendar_change(session: AsyncSession, *, operator: User, day: date) -> None:
    """The day is as the built-in calendar says again."""
    require_operator(operator)
    change = await session.get(CalendarDay, day)
    if change is None:
        raise NotFound("Không có thay đổi cho ngày này / No change for this day", code="change_not_found")
    await session.delete(change)
    await people.audit(session, "calendar.change_removed", actor_user_id=operator.id,
                       subject=f"day:{day.isoformat()}")
    await session.flush()
