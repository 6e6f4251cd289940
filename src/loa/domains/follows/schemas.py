from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from loa.domains.accounts.schemas import AccountOut


class FollowOut(BaseModel):
    account_id: str
    following: bool
    followed_at: datetime | None
    follower_count: int


class FollowedAccountOut(BaseModel):
    account: AccountOut
    followed_at: datetime


class FollowerOut(BaseModel):
    user_id: str
    display_name: str
    commune_code: str | None
    followed_at: datetime
    tags: list[str]


class TagCount(BaseModel):
    tag: str
    followers: int


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(pattern=r"^\d{1,18}$")
    reason: str = Field(default="", max_length=500)


class BlockOut(BaseModel):
    user_id: str
    display_name: str
    reason: str
    created_at: datetime
