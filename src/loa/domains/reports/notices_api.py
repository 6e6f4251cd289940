"""`/api/v1`: staff notices: deadlines near and passed (written by the deadline sweep, `sweeps`).

A staff member only ever reads their own notices, and only those of accounts they still work for: a
person who left an account no longer hears of its reports. The report's details come with a notice only
while the report still belongs to the notice's account (after a transfer it is another agency's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts.models import Account
from loa.domains.people.models import User
from loa.domains.reports import notices
from loa.domains.reports.models import RUNNING_STATUSES, Report, StaffNotice
from loa.kit.auth import require_user
from loa.kit.effects import commit
from loa.kit.pagination import CursorParam, LimitParam, Page, cursor_int, decode_cursor, encode_cursor
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["reports"])

Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]
NoticeId = Annotated[int, Path(ge=1, le=2**62)]


class NoticeAccount(BaseModel):
    id: int
    name: str


class NoticeReport(BaseModel):
    id: int
    code: str
    status: str
    due_at: datetime
    overdue: bool = Field(description="Past its deadline and still being handled, now")


class NoticeOut(BaseModel):
    id: int
    kind: str = Field(description="`reminder` (the deadline is near) or `escalation` (the deadline has passed)")
    text: str
    account: NoticeAccount
    report_count: int = Field(description="How many reports the notice is about (the sweep tells each person "
                                          "once for the reports it handles together)")
    report: NoticeReport | None = Field(description="The report of a notice about one report; None for several, "
                                                    "and once the report has left the account")
    read: bool
    read_at: datetime | None
    created_at: datetime


class NoticePage(Page[NoticeOut]):
    unread: int = Field(description="My unread notices, all pages")


def _view(notice: StaffNotice, account: Account, report: Report | None, now: datetime) -> NoticeOut:
    return NoticeOut(
        id=notice.id, kind=notice.kind, text=notice.text, account=NoticeAccount(id=account.id, name=account.name),
        report_count=notice.report_count,
        report=NoticeReport(id=report.id, code=report.code, status=report.status, due_at=report.due_at,
                            overdue=report.status in RUNNING_STATUSES and report.due_at < now)
        if report is not None else None,
        read=notice.read_at is not None, read_at=notice.read_at, created_at=notice.created_at)


@router.get("/me/notices", response_model=NoticePage, summary="My notices (deadlines near and passed), newest first")
async def my_notices(session: Read, user: CurrentUser, cursor: CursorParam = None, limit: LimitParam = 30,
                     unread: Annotated[bool, Query(description="Only the unread ones")] = False) -> NoticePage:
    before = cursor_int(decode_cursor(cursor), "id", minimum=1)
    rows = await notices.my_notices(session, user, unread=unread, before=before, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    now = utcnow()
    return NoticePage(items=[_view(notice, account, report, now) for notice, account, report in rows],
                      next_cursor=encode_cursor({"id": rows[-1][0].id}) if more and rows else None,
                      unread=await notices.unread_count(session, user))


@router.post("/me/notices/{notice_id}/read", response_model=NoticeOut, summary="Mark one of my notices read")
async def read_notice(session: Write, user: CurrentUser, notice_id: NoticeId) -> NoticeOut:
    """Idempotent: a notice read before keeps its first reading time. Someone else's notice is not found."""
    notice, account, report = await notices.mark_read(session, user, notice_id)
    await commit(session)
    return _view(notice, account, report, utcnow())
