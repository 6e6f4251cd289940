from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loa.domains.agencies.models import ORGANISATION_ROLES


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200)
    parent_id: str | None = Field(default=None, pattern=r"^\d{1,18}$")
    province_code: str | None = Field(default=None, pattern=r"^\d{2}$")


class OrganisationOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    province_code: str | None
    created_at: datetime
    children: list[OrganisationRef] = []


class OrganisationRef(BaseModel):
    id: str
    name: str


class OrganisationMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(pattern=r"^\d{1,18}$")
    role: Literal[ORGANISATION_ROLES]  # type: ignore[valid-type]


class OrganisationMemberOut(BaseModel):
    user_id: str
    display_name: str
    email: str | None
    role: str
