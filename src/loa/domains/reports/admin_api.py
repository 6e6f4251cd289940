"""`/api/v1`: operators' report settings: categories, routing rules, the holiday calendar; accounts' own deadlines.

The operators' settings are the `admin` service's (shared with the administration pages): every change is
checked whole before anything is written (a bad field is refused naming it, 422) and takes effect on the next
report.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.domains.reports import admin, deadlines
from loa.domains.reports.admin import (
    CALENDAR_YEARS,
    WHOLE_COUNTRY,
    AdminCategoryOut,
    CalendarChangeIn,
    CalendarChangeOut,
    CalendarOut,
    CategoryChanges,
    CategoryIn,
    RuleIn,
    RuleOut,
    category_by_code,
    check_deadline,
)
from loa.domains.reports.models import DeadlinePolicy, ReportCategory
from loa.domains.reports.workflow import MANAGERS
from loa.kit.auth import require_operator, require_user
from loa.kit.effects import commit
from loa.kit.errors import NotFound
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["reports"])

Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
Operator = Annotated[User, Depends(require_operator)]
CurrentUser = Annotated[User, Depends(require_user)]
AccountId = Annotated[int, Path(ge=1, le=2**62)]
CategoryCode = Annotated[str, Path(max_length=40)]

STAFF_ROLES = ("owner", "admin", "editor", "agent", "viewer")
AREA_FILTER = f"A province or commune code; {WHOLE_COUNTRY}: rules for the whole country"
Unit = Literal["working_hours", "working_days"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- categories ------------------------------------------------------------------------------------------


class EnabledIn(_Strict):
    enabled: bool


@router.get("/admin/report-categories", response_model=list[AdminCategoryOut],
            summary="Every report category, enabled or not (operators)")
async def admin_categories(session: Read, operator: Operator) -> list[AdminCategoryOut]:
    return [admin.category_out(category) for category in await admin.all_categories(session, operator=operator)]


@router.post("/admin/report-categories", response_model=AdminCategoryOut, status_code=201,
             summary="Add a report category (operators)")
async def create_category(session: Write, operator: Operator, body: CategoryIn) -> AdminCategoryOut:
    category = await admin.create_category(session, operator=operator, body=body)
    await commit(session)
    return admin.category_out(category)


@router.patch("/admin/report-categories/{code}", response_model=AdminCategoryOut,
              summary="Change a category: names, fields, default deadline, public rounding (operators)")
async def update_category(session: Write, operator: Operator, code: CategoryCode,
                          body: CategoryChanges) -> AdminCategoryOut:
    category = await admin.update_category(session, operator=operator, code=code, changes=body)
    await commit(session)
    return admin.category_out(category)


@router.put("/admin/report-categories/{code}/enabled", response_model=AdminCategoryOut,
            summary="Enable or disable a category (a disabled one takes no new reports; old ones stay)")
async def enable_category(session: Write, operator: Operator, code: CategoryCode,
                          body: EnabledIn) -> AdminCategoryOut:
    category = await admin.set_category_enabled(session, operator=operator, code=code, enabled=body.enabled)
    await commit(session)
    return admin.category_out(category)


# --- routing rules ---------------------------------------------------------------------------------------


@router.get("/admin/report-routing-rules", response_model=Page[RuleOut],
            summary="Routing rules: which account receives a category's reports in an area (operators)")
async def routing_rules(
    session: Read, operator: Operator, category: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=5, description=AREA_FILTER)] = None,
    cursor: CursorParam = None, limit: LimitParam = 50,
) -> Page[RuleOut]:
    rules, next_cursor = await admin.list_rules(session, operator=operator, category=category, area=area,
                                                cursor=cursor, limit=limit)
    return Page(items=rules, next_cursor=next_cursor)


@router.post("/admin/report-routing-rules", response_model=RuleOut, status_code=201,
             summary="Send a category's reports in an area to an account (operators; the next report follows it)")
async def create_routing_rule(session: Write, operator: Operator, body: RuleIn) -> RuleOut:
    rule = await admin.create_rule(session, operator=operator, body=body)
    await commit(session)
    return rule


@router.delete("/admin/report-routing-rules/{rule_id}", status_code=204, summary="Remove a routing rule (operators)")
async def delete_routing_rule(session: Write, operator: Operator,
                              rule_id: Annotated[int, Path(ge=1, le=2**62)]) -> None:
    await admin.delete_rule(session, operator=operator, rule_id=rule_id)
    await commit(session)


# --- the holiday calendar --------------------------------------------------------------------------------


@router.get("/admin/report-calendar", response_model=CalendarOut,
            summary="The year's days off and make-up days as deadlines count them, and the operators' changes")
async def report_calendar(session: Read, operator: Operator,
                          year: Annotated[int | None, Query(ge=CALENDAR_YEARS[0], le=CALENDAR_YEARS[1])] = None,
                          ) -> CalendarOut:
    return await admin.calendar_view(session, operator=operator, year=year or admin.this_year())


@router.put("/admin/report-calendar/changes/{day}", response_model=CalendarChangeOut,
            summary="Add (or replace) a change of a day: extra holiday, make-up day, holiday worked (operators)")
async def put_calendar_change(session: Write, operator: Operator, day: date,
                              body: CalendarChangeIn) -> CalendarChangeOut:
    change = await admin.set_calendar_change(session, operator=operator, day=day, kind=body.kind, name=body.name)
    await commit(session)
    return CalendarChangeOut(date=change.day, kind=change.kind, name=change.name, updated_at=change.updated_at)


@router.delete("/admin/report-calendar/changes/{day}", status_code=204,
               summary="Remove an operators' change (the day is as the built-in calendar says again)")
async def delete_calendar_change(session: Write, operator: Operator, day: date) -> None:
    await admin.remove_calendar_change(session, operator=operator, day=day)
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
