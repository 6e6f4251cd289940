"""The operators' report settings as pages: categories with their extra fields and default deadline
(`/admin/categories…`), routing rules (`/admin/routing…`) and the holiday calendar (`/admin/calendar`).

They go through the `admin` service the JSON API uses, so a page refuses what the API refuses, with the
refusal shown next to the field it concerns and what was typed kept.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from babel import dates as babel_dates
from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from loa.domains.accounts import service as accounts
from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import ACCOUNT_KINDS
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.domains.reports import admin
from loa.domains.reports.admin import CALENDAR_YEARS, CategoryChanges, CategoryIn, RuleIn
from loa.domains.reports.models import DEADLINE_UNITS, FIELD_TYPES, ReportCategory
from loa.domains.reports.public import MAX_ROUNDING_M
from loa.kit import i18n
from loa.kit.effects import commit
from loa.kit.errors import AppError, NotFound
from loa.kit.i18n import N_
from loa.kit.sessions import read_session, write_session
from loa.kit.text import fold
from loa.web.deps import page_operator, page_router
from loa.web.forms import MAX_FIELD_LENGTH
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate

router = page_router()

Operator = Annotated[User, Depends(page_operator)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
Code = Annotated[str, Path(max_length=40)]
Id = Annotated[int, Path(ge=1, le=2**62)]
FormField = Annotated[str, Form()]
Cursor = Annotated[str | None, Query(max_length=500)]

RULES_PAGE = 50
MAX_FIELDS = 30
LIST_TYPES = ("singlevaluelist", "multivaluelist")

DONE = {
    "category_created": N_("Category added. Citizens can choose it in the report form."),
    "category_saved": N_("Changes saved. They apply to the next report."),
    "category_deleted": N_("Category deleted."),
    "rule_added": N_("Routing rule added. The next report of this category in this area goes to its account."),
    "rule_saved": N_("Routing rule saved."),
    "rule_deleted": N_("Routing rule deleted."),
    "day_added": N_("Calendar changed. Deadlines of new reports count with it."),
    "day_removed": N_("Change removed: the day is as the public-holiday calendar says again."),
}
UNIT_LABELS = {"working_days": N_("working days"), "working_hours": N_("working hours")}
TYPE_LABELS = {"string": N_("Short text"), "text": N_("Long text"), "number": N_("Number"),
               "datetime": N_("Date and time"), "singlevaluelist": N_("One choice from a list"),
               "multivaluelist": N_("Several choices from a list")}
CHANGE_LABELS = {"holiday": N_("Extra day off"), "working": N_("Make-up working day"),
                 "not_holiday": N_("Holiday cancelled (worked)")}
assert set(UNIT_LABELS) == set(DEADLINE_UNITS) and set(TYPE_LABELS) == set(FIELD_TYPES)
assert set(CHANGE_LABELS) == set(admin.CALENDAR_KINDS)

# What to say next to a field pydantic refused (its own messages are English and technical).
FIELD_PROBLEMS = {
    "code": N_("Use 2 to 40 lower-case letters without accents, digits or _, starting with a letter."),
    "name": N_("Enter a name of at most 120 characters."),
    "name_en": N_("Enter a name of at most 120 characters."),
    "group": N_("At most 60 characters."),
    "description": N_("At most 2,000 characters."),
    "keywords": N_("At most 30 keywords, each of at most 60 characters."),
    "account_kinds": N_("Choose kinds from the list."),
    "deadline_amount": N_("Enter a whole number, 1 or more."),
    "deadline_unit": N_("Choose working days or working hours."),
    "public_rounding_m": N_("Enter a whole number of metres from 0 to 5,000."),
    "field_code": N_("Use lower-case letters without accents, digits or _, starting with a letter (at most 40)."),
    "field_label": N_("Enter a label of at most 120 characters."),
    "field_datatype": N_("Choose a type from the list."),
    "field_values": N_("At most 100 choices; each key has at most 40 letters, digits or _ . - and each name at "
                       "most 120 characters."),
    "priority": N_("Enter a whole number from 0 to 10,000."),
}


def _done(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    return translate(request, DONE[key]) if key in DONE else None


def _labels(request: Request, labels: dict[str, str]) -> dict[str, str]:
    return {key: translate(request, label) for key, label in labels.items()}


def _en(request: Request) -> bool:
    return bool(request.state.viewer.lang == "en")


def category_name(request: Request, category: ReportCategory) -> str:
    return category.name_en if _en(request) and category.name_en else category.name


def _field_of(exc: AppError) -> str | None:
    """The field a service's refusal names ("fields.0.code"), as the form names it ("fields-0-code")."""
    details = exc.details if isinstance(exc.details, list) else []
    named = details[0].get("field") if details and isinstance(details[0], dict) else None
    if not isinstance(named, str):
        return None
    parts = named.split(".")
    if parts[0] == "fields" and len(parts) >= 3:
        return f"fields-{parts[1]}-{parts[2]}"
    return parts[0]


# --- categories ------------------------------------------------------------------------------------------


@router.get("/admin/categories", response_class=HTMLResponse)
async def categories(request: Request, user: Operator, session: Read) -> HTMLResponse:
    rows = await admin.all_categories(session, operator=user)
    return render(request, "admin/categories.html", {
        "categories": rows, "names": {row.code: category_name(request, row) for row in rows},
        "units": _labels(request, UNIT_LABELS), "done": _done(request)})


def _category_form(category: ReportCategory | None) -> FormState:
    """The form as a category stands (or empty for a new one)."""
    if category is None:
        return FormState(values={"deadline_amount": "10", "deadline_unit": "working_days", "public_rounding_m": "0",
                                 "enabled": "on"})
    values = {"code": category.code, "name": category.name, "name_en": category.name_en,
              "group": category.category_group, "description": category.description,
              "keywords": ", ".join(category.keywords), "account_kinds": ",".join(category.account_kinds),
              "deadline_amount": str(category.deadline_amount), "deadline_unit": category.deadline_unit,
              "public_rounding_m": str(category.public_rounding_m), "enabled": "on" if category.enabled else ""}
    for index, definition in enumerate(sorted(category.fields, key=lambda item: item.get("order", 0))):
        prefix = f"fields-{index}-"
        values.update({prefix + "code": definition["code"], prefix + "label": definition["label"],
                       prefix + "label_en": definition.get("label_en", ""), prefix + "datatype": definition["datatype"],
                       prefix + "required": "on" if definition.get("required") else "",
                       prefix + "values": "\n".join(f"{choice['key']}: {choice['name']}"
                                                    for choice in definition.get("values", []))})
    return FormState(values=values)


def _rows(form: FormState) -> int:
    """How many field rows the form has (the rows named fields-N-…)."""
    numbers = [int(match.group(1)) for name in form.values if (match := re.fullmatch(r"fields-(\d+)-\w+", name))]
    return max(numbers, default=-1) + 1


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")[:40] or "x"


def _choices(text: str) -> list[dict[str, str]]:
    """One choice per line: "key: Name", or just the name (its key is made from it)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, separator, name = line.partition(":")
        if separator and re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", key.strip()):
            found.append({"key": key.strip(), "name": name.strip()})
        else:
            found.append({"key": _slug(line), "name": line})
    return found


@dataclass
class ParsedCategory:
    form: FormState
    data: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    rows: list[int] = field(default_factory=list)  # the form row of each definition kept, for errors


def _parse_category(submitted: FormData) -> ParsedCategory:
    """The form as typed (kept to show again) and the data for the service (rows removed or left empty out)."""
    values = {name: str(value)[:MAX_FIELD_LENGTH] for name, value in submitted.items()
              if isinstance(value, str) and name != "csrf_token"}
    values["account_kinds"] = ",".join(str(kind) for kind in submitted.getlist("account_kinds"))
    parsed = ParsedCategory(FormState(values=values), enabled=values.get("enabled") == "on")
    definitions = []
    for index in range(min(_rows(parsed.form), MAX_FIELDS + 1)):
        prefix = f"fields-{index}-"
        row = {name: values.get(prefix + name, "").strip() for name in ("code", "label", "label_en", "datatype")}
        if values.get(prefix + "remove") == "on" or not any((row["code"], row["label"], row["label_en"])):
            continue
        definitions.append({**row, "required": values.get(prefix + "required") == "on", "order": len(definitions) + 1,
                            "values": _choices(values.get(prefix + "values", ""))
                            if row["datatype"] in LIST_TYPES else []})
        parsed.rows.append(index)
    kinds = [kind for kind in values["account_kinds"].split(",") if kind]
    keywords = [word.strip() for word in values.get("keywords", "").split(",") if word.strip()]
    parsed.data = {"code": values.get("code", "").strip(), "name": values.get("name", ""),
                   "name_en": values.get("name_en", ""), "group": values.get("group", ""),
                   "description": values.get("description", ""), "keywords": keywords, "account_kinds": kinds,
                   "fields": definitions, "deadline_amount": values.get("deadline_amount", "").strip(),
                   "deadline_unit": values.get("deadline_unit", ""),
                   "public_rounding_m": values.get("public_rounding_m", "").strip() or "0"}
    return parsed


def _fail_validation(request: Request, parsed: ParsedCategory, exc: ValidationError) -> None:
    """Pydantic's refusals, each next to its field in the viewer's language."""
    for error in exc.errors():
        location = [part for part in error.get("loc", ()) if part != "body"]
        if not location:
            continue
        name = str(location[0])
        if name == "fields" and len(location) >= 3 and isinstance(location[1], int):
            row = parsed.rows[location[1]] if location[1] < len(parsed.rows) else location[1]
            part = str(location[2])
            problem = f"field_{'label' if part == 'label_en' else part}"
            parsed.form.fail(f"fields-{row}-{part}", translate(request, FIELD_PROBLEMS.get(problem, FIELD_PROBLEMS[
                "field_values"])))
        elif name == "fields":
            parsed.form.fail("__all__", translate(request, "At most 30 extra fields."))
        else:
            parsed.form.fail(name, translate(request, FIELD_PROBLEMS.get(name, FIELD_PROBLEMS["name"])))


def _fail_service(request: Request, parsed: ParsedCategory, exc: AppError) -> None:
    name = _field_of(exc)
    if name and name.startswith("fields-"):
        _, index, part = name.split("-", 2)
        row = parsed.rows[int(index)] if int(index) < len(parsed.rows) else int(index)
        name = f"fields-{row}-{part}"
    parsed.form.fail(name or "__all__", pick(request, exc.message))


async def _category_page(request: Request, form: FormState, category: ReportCategory | None,
                         status_code: int = 200) -> HTMLResponse:
    rows = _rows(form)
    return render(request, "admin/category.html", {
        "form": form, "category": category, "rows": range(rows + 1 if rows < MAX_FIELDS else rows),
        "kinds": {kind: KIND_LABELS[kind][1 if _en(request) else 0] for kind in ACCOUNT_KINDS},
        "chosen_kinds": form.value("account_kinds").split(","), "units": _labels(request, UNIT_LABELS),
        "types": _labels(request, TYPE_LABELS), "list_types": LIST_TYPES, "max_rounding": MAX_ROUNDING_M,
        "done": _done(request)}, status_code=status_code)


@router.get("/admin/categories/new", response_class=HTMLResponse)
async def new_category(request: Request, user: Operator) -> HTMLResponse:
    return await _category_page(request, _category_form(None), None)


@router.post("/admin/categories/new", response_class=HTMLResponse)
async def create_category(request: Request, user: Operator, session: Write) -> Response:
    parsed = _parse_category(await request.form())
    try:
        body = CategoryIn.model_validate({**parsed.data, "enabled": parsed.enabled})
    except ValidationError as exc:
        _fail_validation(request, parsed, exc)
        return await _category_page(request, parsed.form, None, 422)
    try:
        category = await admin.create_category(session, operator=user, body=body)
        await commit(session)
    except AppError as exc:
        await session.rollback()
        _fail_service(request, parsed, exc)
        return await _category_page(request, parsed.form, None, exc.status_code)
    return RedirectResponse(f"/admin/categories/{category.code}?done=category_created", status_code=303)


@router.get("/admin/categories/{code}", response_class=HTMLResponse)
async def edit_category(request: Request, code: Code, user: Operator, session: Read) -> HTMLResponse:
    admin.require_operator(user)
    category = await admin.category_by_code(session, code)
    return await _category_page(request, _category_form(category), category)


@router.post("/admin/categories/{code}", response_class=HTMLResponse)
async def save_category(request: Request, code: Code, user: Operator, session: Write) -> Response:
    category = await admin.category_by_code(session, code)
    parsed = _parse_category(await request.form())
    parsed.form.values["code"] = category.code  # fixed: it is also the Open311 service_code
    data = {key: value for key, value in parsed.data.items() if key != "code"}
    try:
        changes = CategoryChanges.model_validate(data)
    except ValidationError as exc:
        _fail_validation(request, parsed, exc)
        return await _category_page(request, parsed.form, category, 422)
    try:
        await admin.update_category(session, operator=user, code=code, changes=changes)
        if parsed.enabled != category.enabled:
            await admin.set_category_enabled(session, operator=user, code=code, enabled=parsed.enabled)
        await commit(session)
    except AppError as exc:
        await session.rollback()
        _fail_service(request, parsed, exc)
        return await _category_page(request, parsed.form, await admin.category_by_code(session, code),
                                    exc.status_code)
    return RedirectResponse(f"/admin/categories/{code}?done=category_saved", status_code=303)


@router.post("/admin/categories/{code}/delete", response_class=HTMLResponse)
async def delete_category(request: Request, code: Code, user: Operator, session: Write) -> Response:
    try:
        await admin.delete_category(session, operator=user, code=code)
        await commit(session)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        await session.rollback()
        category = await admin.category_by_code(session, code)
        form = _category_form(category)
        form.fail("__all__", pick(request, exc.message))
        return await _category_page(request, form, category, exc.status_code)
    return RedirectResponse("/admin/categories?done=category_deleted", status_code=303)


# --- routing rules ---------------------------------------------------------------------------------------


async def _rules_page(request: Request, session: AsyncSession, user: User, form: FormState, *,
                      category: str = "", area: str = "", cursor: str | None = None,
                      status_code: int = 200) -> HTMLResponse:
    rows = await admin.all_categories(session, operator=user)
    provinces = {unit.code: unit.name for unit in await geo.list_provinces(session)}
    filters = {"category": category if category in {row.code for row in rows} else "",
               "area": area if area == admin.WHOLE_COUNTRY or area in provinces else ""}
    rules, next_cursor = await admin.list_rules(session, operator=user, category=filters["category"] or None,
                                                area=filters["area"] or None, cursor=cursor, limit=RULES_PAGE)
    return render(request, "admin/routing.html", {
        "rules": rules, "next_cursor": next_cursor, "filters": filters, "form": form, "provinces": provinces,
        "categories": [(row.code, category_name(request, row)) for row in rows],
        "names": {row.code: category_name(request, row) for row in rows}, "done": _done(request),
        "whole_country": admin.WHOLE_COUNTRY}, status_code=status_code)


@router.get("/admin/routing", response_class=HTMLResponse)
async def routing(request: Request, user: Operator, session: Read, category: str = "", area: str = "",
                  cursor: Cursor = None) -> HTMLResponse:
    form = FormState(values={"category": category[:40], "province": area if len(area) == 2 else "", "priority": "100"})
    return await _rules_page(request, session, user, form, category=category[:40], area=area[:5], cursor=cursor)


async def _rule_of(request: Request, session: AsyncSession, form: FormState) -> RuleIn | None:
    """The rule the form asks for: the area from the province and the commune, the account from its handle
    (or id). Each problem goes next to its field; None when there is one."""
    province, commune = form.value("province").strip(), form.value("commune").strip()
    account = form.value("account").strip().removeprefix("@")
    area = province
    if commune:
        try:
            await geo.require_commune(session, commune, province_code=province or None, field="commune")
            area = commune
        except AppError as exc:
            form.fail("commune", pick(request, exc.message))
    account_id: int | None = None
    if not account:
        form.fail("account", translate(request, "Enter the handle of the account that receives the reports."))
    elif account.isascii() and account.isdigit() and len(account) <= 18:
        account_id = int(account)
    else:
        try:
            account_id = (await accounts.get_account_by_handle(session, account[:60])).id
        except NotFound:
            form.fail("account", translate(request, "No account has this handle. Pick one from the suggestions."))
    if not form.value("category"):
        form.fail("category", translate(request, "Choose a category."))
    if not form.ok:
        return None
    try:
        return RuleIn.model_validate({"category": form.value("category"), "area_code": area,
                                      "account_id": account_id, "priority": form.value("priority").strip() or "100"})
    except ValidationError as exc:
        for error in exc.errors():
            name = {"area_code": "province", "account_id": "account"}.get(str(error["loc"][0]), str(error["loc"][0]))
            form.fail(name, translate(request, FIELD_PROBLEMS.get(name, FIELD_PROBLEMS["priority"])))
        return None


def _fail_rule(request: Request, form: FormState, exc: AppError) -> None:
    named = _field_of(exc)
    field_name = {"area_code": "commune" if form.value("commune").strip() else "province",
                  "account_id": "account", "category": "category"}.get(named or "", "__all__")
    form.fail(field_name, pick(request, exc.message))


def _rule_form(form_values: dict[str, str]) -> FormState:
    return FormState.of(**{name: form_values.get(name, "") for name in
                           ("category", "province", "commune", "account", "priority")})


@router.post("/admin/routing", response_class=HTMLResponse)
async def add_rule(request: Request, user: Operator, session: Write, category: FormField = "",
                   province: FormField = "", commune: FormField = "", account: FormField = "",
                   priority: FormField = "100") -> Response:
    form = _rule_form({"category": category, "province": province, "commune": commune, "account": account,
                       "priority": priority})
    body = await _rule_of(request, session, form)
    status = 422
    if body is not None:
        try:
            await admin.create_rule(session, operator=user, body=body)
            await commit(session)
            return RedirectResponse(f"/admin/routing?category={body.category}&done=rule_added", status_code=303)
        except AppError as exc:
            await session.rollback()
            _fail_rule(request, form, exc)
            status = exc.status_code
    return await _rules_page(request, session, user, form, status_code=status)


async def _edit_rule_page(request: Request, session: AsyncSession, user: User, rule_id: int, form: FormState | None,
                          status_code: int = 200) -> HTMLResponse:
    rule = await admin.get_rule(session, operator=user, rule_id=rule_id)
    if form is None:
        area = rule.area_code
        account = await accounts.get_account(session, int(rule.account_id))
        form = FormState.of(category=rule.category, province=area if len(area) == 2 else "",
                            commune=area if len(area) == 5 else "", account=account.handle,
                            priority=str(rule.priority))
        if len(area) == 5:
            commune = await geo.get_commune(session, area)
            form.values["province"] = (commune.province_code or "") if commune else ""
    rows = await admin.all_categories(session, operator=user)
    return render(request, "admin/rule.html", {
        "rule": rule, "form": form, "categories": [(row.code, category_name(request, row)) for row in rows],
        "names": {row.code: category_name(request, row) for row in rows},
        "provinces": {unit.code: unit.name for unit in await geo.list_provinces(session)}}, status_code=status_code)


@router.get("/admin/routing/{rule_id}", response_class=HTMLResponse)
async def rule_page(request: Request, rule_id: Id, user: Operator, session: Read) -> HTMLResponse:
    return await _edit_rule_page(request, session, user, rule_id, None)


@router.post("/admin/routing/{rule_id}", response_class=HTMLResponse)
async def save_rule(request: Request, rule_id: Id, user: Operator, session: Write, category: FormField = "",
                    province: FormField = "", commune: FormField = "", account: FormField = "",
                    priority: FormField = "100") -> Response:
    await admin.get_rule(session, operator=user, rule_id=rule_id)  # a rule deleted meanwhile is a 404 page
    form = _rule_form({"category": category, "province": province, "commune": commune, "account": account,
                       "priority": priority})
    body = await _rule_of(request, session, form)
    status = 422
    if body is not None:
        try:
            await admin.update_rule(session, operator=user, rule_id=rule_id, body=body)
            await commit(session)
            return RedirectResponse(f"/admin/routing?category={body.category}&done=rule_saved", status_code=303)
        except AppError as exc:
            if isinstance(exc, NotFound) and exc.code == "rule_not_found":
                raise
            await session.rollback()
            _fail_rule(request, form, exc)
            status = exc.status_code
    return await _edit_rule_page(request, session, user, rule_id, form, status)


@router.post("/admin/routing/{rule_id}/delete")
async def delete_rule(rule_id: Id, user: Operator, session: Write) -> RedirectResponse:
    await admin.delete_rule(session, operator=user, rule_id=rule_id)
    await commit(session)
    return RedirectResponse("/admin/routing?done=rule_deleted", status_code=303)


# --- the holiday calendar --------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    kind: str  # "work", "weekend", "off", "makeup"
    name: str = ""
    changed: str = ""  # the operators' change of the day, if any


def _months(request: Request, view: admin.CalendarOut) -> list[tuple[str, list[list[Day | None]]]]:
    """The year as twelve month grids (weeks from Monday), each day with what deadlines make of it."""
    lang = request.state.viewer.lang
    off = {item.date: item for item in view.days_off}
    makeup = {item.date: item for item in view.working_days}
    changes = {item.date: item.kind for item in view.changes}
    names = babel_dates.get_month_names("wide", locale=i18n.BABEL_LOCALES[lang])
    months = []
    for month in range(1, 13):
        weeks = []
        for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(view.year, month):
            cells: list[Day | None] = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                elif day in off:
                    cells.append(Day(day, "off", i18n.pick(off[day].name, lang), changes.get(day, "")))
                elif day in makeup:
                    cells.append(Day(day, "makeup", i18n.pick(makeup[day].name, lang), changes.get(day, "")))
                else:
                    cells.append(Day(day, "weekend" if day.weekday() >= 5 else "work", "", changes.get(day, "")))
            weeks.append(cells)
        months.append((names[month].capitalize(), weeks))
    return months


async def _calendar_page(request: Request, session: AsyncSession, user: User, year: int, form: FormState,
                         status_code: int = 200) -> HTMLResponse:
    view = await admin.calendar_view(session, operator=user, year=year)
    lang = request.state.viewer.lang
    weekdays = babel_dates.get_day_names("abbreviated", locale=i18n.BABEL_LOCALES[lang])
    full_weekdays = babel_dates.get_day_names("wide", locale=i18n.BABEL_LOCALES[lang])
    return render(request, "admin/calendar.html", {
        "view": view, "months": _months(request, view), "form": form, "done": _done(request),
        "weekdays": [(weekdays[index], full_weekdays[index]) for index in range(7)],
        "change_labels": _labels(request, CHANGE_LABELS),
        "years": (max(year - 1, CALENDAR_YEARS[0]), min(year + 1, CALENDAR_YEARS[1]))}, status_code=status_code)


@router.get("/admin/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, user: Operator, session: Read,
                        year: Annotated[int | None, Query(ge=CALENDAR_YEARS[0], le=CALENDAR_YEARS[1])] = None,
                        ) -> HTMLResponse:
    shown = year or admin.this_year()
    return await _calendar_page(request, session, user, shown, FormState.of(day="", kind="holiday", name=""))


@router.post("/admin/calendar/changes", response_class=HTMLResponse)
async def add_change(request: Request, user: Operator, session: Write, day: FormField = "", kind: FormField = "",
                     name: FormField = "", year: FormField = "") -> Response:
    form = FormState.of(day=day, kind=kind, name=name)
    shown = int(year) if year.isascii() and year.isdigit() and len(year) == 4 else admin.this_year()
    shown = min(max(shown, CALENDAR_YEARS[0]), CALENDAR_YEARS[1])
    parsed: date | None = None
    try:
        parsed = date.fromisoformat(day.strip())
    except ValueError:
        form.fail("day", translate(request, "Enter the date, e.g. 30/04/2026."))
    if kind not in admin.CALENDAR_KINDS:
        form.fail("kind", translate(request, "Choose what changes on that day."))
    if not name.strip():
        form.fail("name", translate(request, "Give the reason, e.g. the decision that sets this day."))
    elif len(name) > 120:
        form.fail("name", translate(request, "At most 120 characters."))
    if form.ok and parsed is not None:
        try:
            await admin.set_calendar_change(session, operator=user, day=parsed, kind=kind, name=name)
            await commit(session)
            return RedirectResponse(f"/admin/calendar?year={parsed.year}&done=day_added#changes", status_code=303)
        except AppError as exc:
            await session.rollback()
            form.fail(_field_of(exc) or "__all__", pick(request, exc.message))
            shown = parsed.year if CALENDAR_YEARS[0] <= parsed.year <= CALENDAR_YEARS[1] else shown
    return await _calendar_page(request, session, user, shown, form, 422)


@router.post("/admin/calendar/changes/{day}/delete")
async def remove_change(day: date, user: Operator, session: Write) -> RedirectResponse:
    await admin.remove_calendar_change(session, operator=user, day=day)
    await commit(session)
    return RedirectResponse(f"/admin/calendar?year={day.year}&done=day_removed#changes", status_code=303)
