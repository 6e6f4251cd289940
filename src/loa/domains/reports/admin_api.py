"""`/api/v1`: operators' report settings: categories, routing rules, the holiday calendar; accounts' own deadlines.

Every change is checked whole before anything is written (a bad field is refused naming it, 422) and takes
effect on the next report: routing, deadlines and the calendar are read when a report arrives.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import holidays as holiday_data
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import ACCOUNT_KINDS
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.domains.reports import deadlines
from loa.domains.reports.models import (
    DEADLINE_UNITS,
    FIELD_TYPES,
    CalendarDay,
    DeadlinePolicy,
    ReportCategory,
    RoutingRule,
)
from loa.domains.reports.public import MAX_ROUNDING_M
from loa.domains.reports.schemas import CategoryField
from loa.domains.reports.workflow import MANAGERS
from loa.kit.auth import require_operator, require_user
from loa.kit.effects import commit
from loa.kit.errors import Conflict, Invalid, NotFound
from loa.kit.pagination import CursorParam, LimitParam, Page, cursor_int, decode_cursor, encode_cursor
from loa.kit.sessions import read_session, write_session
from loa.kit.text import clean_line
from loa.kit.worktime import VN, WorkCalendar, vietnam_calendar

router = APIRouter(tags=["reports"])

Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
Operator = Annotated[User, Depends(require_operator)]
CurrentUser = Annotated[User, Depends(require_user)]
AccountId = Annotated[int, Path(ge=1, le=2**62)]
CategoryCode = Annotated[str, Path(max_length=40)]

STAFF_ROLES = ("owner", "admin", "editor", "agent", "viewer")
LIST_TYPES = ("singlevaluelist", "multivaluelist")
# Beyond these a deadline is no deadline (and would outrun the calendar's years): about a working year.
MAX_DEADLINE = {"working_hours": 2_000, "working_days": 250}
WHOLE_COUNTRY = "VN"  # the `area` filter's name for rules without an area
AREA_FILTER = f"A province or commune code; {WHOLE_COUNTRY}: rules for the whole country"
CALENDAR_YEARS = (2000, 2100)
CATEGORY_NOT_FOUND = "Không có loại phản ánh này / Unknown report category"
Unit = Literal["working_hours", "working_days"]


def invalid(field: str, message: str, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, details=[{"field": field, "message": message}])


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


class EnabledIn(_Strict):
    enabled: bool


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


def _category_out(category: ReportCategory) -> AdminCategoryOut:
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


@router.get("/admin/report-categories", response_model=list[AdminCategoryOut],
            summary="Every report category, enabled or not (operators)")
async def admin_categories(session: Read, operator: Operator) -> list[AdminCategoryOut]:
    rows = (await session.scalars(select(ReportCategory).order_by(ReportCategory.id))).all()
    return [_category_out(category) for category in rows]


@router.post("/admin/report-categories", response_model=AdminCategoryOut, status_code=201,
             summary="Add a report category (operators)")
async def create_category(session: Write, operator: Operator, body: CategoryIn) -> AdminCategoryOut:
    if await session.scalar(select(ReportCategory.id).where(ReportCategory.code == body.code)) is not None:
        raise Conflict("Đã có loại phản ánh mang mã này / A category with this code exists",
                       code="category_exists", details=[{"field": "code", "message": "taken"}])
    category = ReportCategory(code=body.code, name="", name_en="", description="", category_group="", keywords=[],
                              account_kinds=[], fields=[], deadline_amount=body.deadline_amount,
                              deadline_unit=body.deadline_unit, public_rounding_m=0, enabled=body.enabled,
                              created_at=utcnow())
    apply_changes(category, body)
    session.add(category)
    try:
        await commit(session)
    except IntegrityError:  # another operator took the code meanwhile
        raise Conflict("Đã có loại phản ánh mang mã này / A category with this code exists",
                       code="category_exists", details=[{"field": "code", "message": "taken"}]) from None
    return _category_out(category)


@router.patch("/admin/report-categories/{code}", response_model=AdminCategoryOut,
              summary="Change a category: names, fields, default deadline, public rounding (operators)")
async def update_category(session: Write, operator: Operator, code: CategoryCode,
                          body: CategoryChanges) -> AdminCategoryOut:
    category = await category_by_code(session, code)
    apply_changes(category, body)
    await commit(session)
    return _category_out(category)


@router.put("/admin/report-categories/{code}/enabled", response_model=AdminCategoryOut,
            summary="Enable or disable a category (a disabled one takes no new reports; old ones stay)")
async def enable_category(session: Write, operator: Operator, code: CategoryCode,
                          body: EnabledIn) -> AdminCategoryOut:
    category = await category_by_code(session, code)
    category.enabled = body.enabled
    await commit(session)
    return _category_out(category)


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


async def _rules_out(session: AsyncSession, rules: list[RoutingRule]) -> list[RuleOut]:
    codes = {category.id: category.code for category in (await session.scalars(select(ReportCategory))).all()}
    names = await accounts.account_names(session, (rule.account_id for rule in rules))
    areas = await _area_names(session, [rule.area_code for rule in rules])
    return [RuleOut(id=str(rule.id), category=codes.get(rule.category_id, ""), area_code=rule.area_code,
                    area_name=areas.get(rule.area_code, rule.area_code), account_id=str(rule.account_id),
                    account_name=names.get(rule.account_id, ""), priority=rule.priority, created_at=rule.created_at)
            for rule in rules]


async def _check_area(session: AsyncSession, code: str, field: str) -> str:
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


@router.get("/admin/report-routing-rules", response_model=Page[RuleOut],
            summary="Routing rules: which account receives a category's reports in an area (operators)")
async def routing_rules(
    session: Read, operator: Operator, category: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=5, description=AREA_FILTER)] = None,
    cursor: CursorParam = None, limit: LimitParam = 50,
) -> Page[RuleOut]:
    query = select(RoutingRule).order_by(RoutingRule.id)
    if category:
        category_id = await session.scalar(select(ReportCategory.id).where(ReportCategory.code == category))
        if category_id is None:
            raise invalid("category", CATEGORY_NOT_FOUND, "unknown_category")
        query = query.where(RoutingRule.category_id == category_id)
    if area:
        query = query.where(RoutingRule.area_code == ("" if area == WHOLE_COUNTRY
                                                      else await _check_area(session, area, "area")))
    after = cursor_int(decode_cursor(cursor), "id")
    if after is not None:
        query = query.where(RoutingRule.id > after)
    rules = list((await session.scalars(query.limit(limit + 1))).all())
    more = len(rules) > limit
    rules = rules[:limit]
    return Page(items=await _rules_out(session, rules),
                next_cursor=encode_cursor({"id": rules[-1].id}) if more and rules else None)


@router.post("/admin/report-routing-rules", response_model=RuleOut, status_code=201,
             summary="Send a category's reports in an area to an account (operators; the next report follows it)")
async def create_routing_rule(session: Write, operator: Operator, body: RuleIn) -> RuleOut:
    category_id = await session.scalar(select(ReportCategory.id).where(ReportCategory.code == body.category))
    if category_id is None:
        raise invalid("category", CATEGORY_NOT_FOUND, "unknown_category")
    area_code = await _check_area(session, body.area_code, "area_code")
    if not await accounts.account_names(session, [body.account_id]):
        raise invalid("account_id", "Không tìm thấy tài khoản / Account not found", "account_not_found")
    exists = Conflict("Quy tắc này đã có / This rule exists already", code="rule_exists",
                      details=[{"field": "account_id", "message": "already routed here"}])
    if await session.scalar(select(RoutingRule.id).where(
            RoutingRule.category_id == category_id, RoutingRule.area_code == area_code,
            RoutingRule.account_id == body.account_id)) is not None:
        raise exists
    rule = RoutingRule(category_id=category_id, area_code=area_code, account_id=body.account_id,
                       priority=body.priority, created_at=utcnow())
    session.add(rule)
    try:
        await commit(session)
    except IntegrityError:  # the same rule added at the same moment
        raise exists from None
    return (await _rules_out(session, [rule]))[0]


@router.delete("/admin/report-routing-rules/{rule_id}", status_code=204, summary="Remove a routing rule (operators)")
async def delete_routing_rule(session: Write, operator: Operator,
                              rule_id: Annotated[int, Path(ge=1, le=2**62)]) -> None:
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")
    await session.delete(rule)
    await commit(session)


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
def _builtin(year: int) -> tuple[WorkCalendar, dict[date, str]]:
    """The `holidays` package's calendar of a year, and its days' names in Vietnamese / English."""
    vietnamese = holiday_data.country_holidays("VN", years=year, language="vi")
    english = holiday_data.country_holidays("VN", years=year, language="en_US")
    names = {day: f"{name} / {english.get(day, name)}" for day, name in vietnamese.items()}
    return vietnam_calendar([year]), names


MAKEUP_NAME = "Ngày làm bù / Make-up working day"
OPERATOR_DAY_OFF = "Ngày nghỉ do quản trị viên thêm / Day off added by the operators"


async def _calendar_view(session: AsyncSession, year: int) -> CalendarOut:
    builtin, names = _builtin(year)
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


def _check_change(day: date, kind: str) -> None:
    """A change must change something: removing a holiday the package does not know, or working a day
    that is already worked, would silently do nothing."""
    if not CALENDAR_YEARS[0] <= day.year <= CALENDAR_YEARS[1]:
        raise invalid("day", f"Năm từ {CALENDAR_YEARS[0]} đến {CALENDAR_YEARS[1]} / The year is "
                      f"{CALENDAR_YEARS[0]}–{CALENDAR_YEARS[1]}", "invalid_day")
    builtin, _ = _builtin(day.year)
    if kind == "holiday" and day in builtin.holidays:
        raise invalid("kind", "Ngày này đã là ngày lễ / This day is a public holiday already", "already_holiday")
    if kind == "not_holiday" and day not in builtin.holidays:
        raise invalid("kind", "Ngày này không phải ngày lễ / This day is not a public holiday", "not_a_holiday")
    if kind == "working" and (day in builtin.holidays or builtin.is_working_day(day)):
        raise invalid("kind", "Chỉ thêm ngày làm bù vào cuối tuần không phải ngày lễ (ngày lễ: dùng not_holiday) / "
                      "A make-up day is a weekend day that is not a holiday (for a holiday: not_holiday)",
                      "not_a_weekend")


@router.get("/admin/report-calendar", response_model=CalendarOut,
            summary="The year's days off and make-up days as deadlines count them, and the operators' changes")
async def report_calendar(session: Read, operator: Operator,
                          year: Annotated[int | None, Query(ge=CALENDAR_YEARS[0], le=CALENDAR_YEARS[1])] = None,
                          ) -> CalendarOut:
    return await _calendar_view(session, year or utcnow().astimezone(VN).year)


@router.put("/admin/report-calendar/changes/{day}", response_model=CalendarChangeOut,
            summary="Add (or replace) a change of a day: extra holiday, make-up day, holiday worked (operators)")
async def put_calendar_change(session: Write, operator: Operator, day: date,
                              body: CalendarChangeIn) -> CalendarChangeOut:
    _check_change(day, body.kind)
    change = await session.get(CalendarDay, day)
    if change is None:
        change = CalendarDay(day=day)
        session.add(change)
    change.kind, change.name, change.updated_at = body.kind, clean_line(body.name), utcnow()
    await commit(session)
    return CalendarChangeOut(date=change.day, kind=change.kind, name=change.name, updated_at=change.updated_at)


@router.delete("/admin/report-calendar/changes/{day}", status_code=204,
               summary="Remove an operators' change (the day is as the built-in calendar says again)")
async def delete_calendar_change(session: Write, operator: Operator, day: date) -> None:
    change = await session.get(CalendarDay, day)
    if change is None:
        raise NotFound("Không có thay đổi cho ngày này / No change for this day", code="change_not_found")
    await session.delete(change)
    await commit(session)


# --- an account's own deadlines --------------------------------------------------------------------------


class DeadlineIn(_Strict):
    amount: int = Field(ge=1, description="More than 0")
    unit: Unit


class DeadlineOut(BaseModel):
    account_id: str
    category: str
    amount: int
    unit: str
    label: str
    source: Literal["account", "category"] = Field(description="The account's own policy or the category's default")


def _deadline_out(account_id: int, category: ReportCategory, policy: DeadlinePolicy | None) -> DeadlineOut:
    amount, unit = (policy.amount, policy.unit) if policy else (category.deadline_amount, category.deadline_unit)
    return DeadlineOut(account_id=str(account_id), category=category.code, amount=amount, unit=unit,
                       label=deadlines.Deadline(amount, unit).label, source="account" if policy else "category")


@router.get("/accounts/{account_id}/report-deadlines", response_model=list[DeadlineOut],
            summary="The account's handling deadline for every category (its own or the default; staff)")
async def account_deadlines(session: Read, user: CurrentUser, account_id: AccountId) -> list[DeadlineOut]:
    await accounts.require_account_role(session, account_id, user, STAFF_ROLES)
    policies = {policy.category_id: policy for policy in (await session.scalars(
        select(DeadlinePolicy).where(DeadlinePolicy.account_id == account_id))).all()}
    categories = (await session.scalars(select(ReportCategory).order_by(ReportCategory.id))).all()
    return [_deadline_out(account_id, category, policies.get(category.id)) for category in categories
            if category.enabled or category.id in policies]


@router.get("/accounts/{account_id}/report-deadlines/{category_code}", response_model=DeadlineOut,
            summary="The account's handling deadline for a category (staff)")
async def account_deadline(session: Read, user: CurrentUser, account_id: AccountId,
                           category_code: CategoryCode) -> DeadlineOut:
    await accounts.require_account_role(session, account_id, user, STAFF_ROLES)
    category = await category_by_code(session, category_code)
    return _deadline_out(account_id, category, await session.get(DeadlinePolicy, (account_id, category.id)))


@router.put("/accounts/{account_id}/report-deadlines/{category_code}", response_model=DeadlineOut,
            summary="Set the account's own deadline for a category (owner, admin; applies to new reports)")
async def put_account_deadline(session: Write, user: CurrentUser, account_id: AccountId,
                               category_code: CategoryCode, body: DeadlineIn) -> DeadlineOut:
    await accounts.require_account_role(session, account_id, user, MANAGERS)
    category = await category_by_code(session, category_code)
    check_deadline(body.amount, body.unit, "amount")
    policy = await session.get(DeadlinePolicy, (account_id, category.id))
    if policy is None:
        policy = DeadlinePolicy(account_id=account_id, category_id=category.id)
        session.add(policy)
    policy.amount, policy.unit, policy.updated_at = body.amount, body.unit, utcnow()
    await commit(session)
    return _deadline_out(account_id, category, policy)


@router.delete("/accounts/{account_id}/report-deadlines/{category_code}", status_code=204,
               summary="Go back to the category's default deadline (owner, admin)")
async def delete_account_deadline(session: Write, user: CurrentUser, account_id: AccountId,
                                  category_code: CategoryCode) -> None:
    await accounts.require_account_role(session, account_id, user, MANAGERS)
    category = await category_by_code(session, category_code)
    policy = await session.get(DeadlinePolicy, (account_id, category.id))
    if policy is None:
        raise NotFound("Tài khoản chưa đặt thời hạn riêng / The account has no deadline of its own",
                       code="deadline_not_found")
    await session.delete(policy)
    await commit(session)
