"""Staff notices: deadlines near and passed (written by the deadline sweep, `sweeps`), read by the notices API
and the console.

A staff member only ever reads their own notices, and only those of accounts they still work for: a person who
left an account no longer hears of its reports. The report comes with a notice only while it still belongs to the
notice's account (after a transfer it is another agency's).
"""

from __future__ import annotations

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts.models import Account, AccountMember
from loa.domains.people.models import User
from loa.domains.reports.models import Report, StaffNotice
from loa.kit.errors import NotFound

NOT_FOUND = "Không tìm thấy thông báo / Notice not found"

NoticeRow = tuple[StaffNotice, Account, Report | None]


def mine(user: User) -> Select[tuple[StaffNotice, Account, Report]]:
    """The user's notices on accounts they still belong to, with the account and (while it is still that
    account's) the report."""
    return (
        select(StaffNotice, Account, Report)
        .join(AccountMember, and_(AccountMember.account_id == StaffNotice.account_id,
                                  AccountMember.user_id == StaffNotice.user_id))
        .join(Account, Account.id == StaffNotice.account_id)
        .outerjoin(Report, and_(Report.id == StaffNotice.report_id, Report.account_id == StaffNotice.account_id))
        .where(StaffNotice.user_id == user.id)
    )


async def my_notices(session: AsyncSession, user: User, *, account_id: int | None = None, unread: bool = False,
                     before: int | None = None, limit: int = 30) -> list[NoticeRow]:
    """Newest first; `limit + 1` rows tell the caller whether there is another page."""
    query = mine(user)
    if account_id is not None:
        query = query.where(StaffNotice.account_id == account_id)
    if before is not None:
        query = query.where(StaffNotice.id < before)
    if unread:
        query = query.where(StaffNotice.read_at.is_(None))
    rows = (await session.execute(query.order_by(StaffNotice.id.desc()).limit(limit + 1))).all()
    return [(notice, account, report) for notice, account, report in rows]


async def unread_count(session: AsyncSession, user: User, *, account_id: int | None = None) -> int:
    query = (select(func.count()).select_from(StaffNotice)
             .join(AccountMember, and_(AccountMember.account_id == StaffNotice.account_id,
                                       AccountMember.user_id == StaffNotice.user_id))
             .where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None)))
    if account_id is not None:
        query = query.where(StaffNotice.account_id == account_id)
    return int(await session.scalar(query) or 0)


async def mark_read(session: AsyncSession, user: User, notice_id: int) -> NoticeRow:
    """Idempotent: a notice read before keeps its first reading time. Someone else's notice is not found."""
    row = (await session.execute(mine(user).where(StaffNotice.id == notice_id))).first()
    if row is None:
        raise NotFound(NOT_FOUND, code="notice_not_found")
    notice, account, report = row
    if notice.read_at is None:
        # Conditional: of two readings at once, the first one's time stays.
        await session.execute(update(StaffNotice).where(StaffNotice.id == notice.id, StaffNotice.read_at.is_(None))
                              .values(read_at=utcnow()).execution_options(synchronize_session=False))
        await session.refresh(notice, ["read_at"])
    return notice, account, report


async def mark_all_read(session: AsyncSession, user: User, *, account_id: int) -> int:
    """Every unread notice of the user on one account, read now."""
    result = await session.execute(
        update(StaffNotice).where(StaffNotice.user_id == user.id, StaffNotice.account_id == account_id,
                                  StaffNotice.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
