"""The figures the statistics API answers with (and the annual report prints). They name nobody: counts only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ScopeKind = Literal["nation", "province", "commune", "organisation", "account"]
Divisions = Literal["current", "legacy"]
Cell = str | int | float | None


class ScopeOut(BaseModel):
    kind: ScopeKind
    code: str = Field(description='"" for the nation; a province or commune code; an organisation or account id')
    name: str
    province_code: str | None = None


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from", description="First day (Vietnam's calendar), included")
    end: date = Field(alias="to", description="Last day, included")
    label: str


class KindCount(BaseModel):
    kind: str
    label: str
    label_en: str
    group: str
    accounts: int
    verified: int


class GroupCount(BaseModel):
    group: str = Field(description="state, education, health or utilities")
    label: str
    label_en: str
    accounts: int
    verified: int


class YearCount(BaseModel):
    year: int
    created: int = Field(description="Accounts opened that year")
    total: int = Field(description="Accounts at the end of that year")


class AccountFigures(BaseModel):
    total: int = Field(description="Accounts at the end of the period")
    created: int = Field(description="Accounts opened during the period")
    verified: int = Field(description="Verified accounts at the end of the period")
    verified_percent: float | None
    by_group: list[GroupCount]
    by_kind: list[KindCount]
    per_year: list[YearCount] = Field(description="Opened per year, up to the period's end")


class TopAccount(BaseModel):
    account_id: str
    name: str
    kind: str
    province_code: str
    followers: int = Field(description="Followers now")
    net_new: int = Field(description="Follows minus unfollows during the period")


class FollowFigures(BaseModel):
    total: int = Field(description="Follows at the end of the period")
    follows: int
    unfollows: int
    net_new: int
    top: list[TopAccount] = Field(description="The accounts with the most followers")


class InteractionFigures(BaseModel):
    messages_in: int = Field(description="Messages from citizens")
    messages_out: int = Field(description="Answers of the accounts, automatic ones included")
    auto_replies: int
    conversations_started: int
    average_response_seconds: float | None = Field(description="Mean time until a person answered")
    average_first_response_seconds: float | None
    reports_received: int
    broadcasts: int = Field(description="Broadcasts published")
    reach: int = Field(description="Followers those broadcasts were addressed to")


class CoverageFigures(BaseModel):
    divisions: Divisions = Field(description="current: 34 provinces, 3,321 communes (since 1 July 2025); legacy: "
                                             "63 provinces and their communes (periods ending before)")
    kind: str | None = Field(description="Only accounts of this kind or group; none: any account")
    communes_total: int
    communes_covered: int = Field(description="Communes with at least one account (of the kind) by the period's "
                                              "end; a legacy commune counts when the commune it became has one")
    percent: float | None
    provinces_total: int
    provinces_covered: int = Field(description="Provinces with at least one covered commune")


class HandlingFigures(BaseModel):
    """As `reports.stats.Handling`, summed over the scope's accounts."""

    received: int
    rejected: int
    merged: int
    transferred_out: int
    resolved: int
    resolved_on_time: int
    resolved_late: int
    reopened: int
    on_time_percent: float | None
    late_percent: float | None
    median_first_response_seconds: float | None = Field(description="Within ±4.5% (kept as buckets)")
    median_resolution_seconds: float | None
    ratings: int
    average_rating: float | None = Field(description="Citizens' satisfaction, 1–5")
    open_now: int | None = Field(None, description="Reports open now (one account only)")
    overdue_now: int | None = Field(None, description="Reports past their deadline now (one account only)")


class Figures(BaseModel):
    scope: ScopeOut
    period: PeriodOut
    as_of: datetime | None = Field(description="When the rollups were last brought up to date")
    accounts: AccountFigures
    follows: FollowFigures
    interactions: InteractionFigures
    coverage: CoverageFigures | None = Field(description="For the nation, a province or a commune")
    handling: HandlingFigures


class Overview(BaseModel):
    """The national figures of the public dashboard's first screen, as they are now."""

    accounts_total: int
    verified_accounts: int
    follows_total: int
    provinces_total: int
    provinces_covered: int = Field(description="Provinces with at least one account")
    communes_total: int
    communes_covered: int = Field(description="Communes with at least one account")
    year: int
    messages_in_year: int = Field(description="Citizens' messages this year")
    reports_received_year: int
    on_time_percent_year: float | None
    as_of: datetime | None


class Column(BaseModel):
    key: str
    label: str = Field(description="Vietnamese")
    label_en: str


class Table(BaseModel):
    name: str
    title: str
    title_en: str
    scope: ScopeOut
    period: PeriodOut
    columns: list[Column]
    rows: list[dict[str, Cell]]


class TableInfo(BaseModel):
    name: str
    title: str
    title_en: str
    description: str


class TableList(BaseModel):
    items: list[TableInfo]

