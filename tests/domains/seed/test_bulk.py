"""Bulk loading: streams any number of rows inside the caller's transaction, values as the ORM takes them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from loa.db.bulk import Progress, bulk_insert
from loa.domains.accounts.models import Account
from loa.domains.people.models import User
from loa.runtime import Runtime

WHEN = datetime(2025, 7, 1, 8, 30, tzinfo=UTC)


def _users(count: int):  # type: ignore[no-untyped-def]
    return ((n, f"+8498{n:07d}", f"Người {n}", "00004", False, "vi", WHEN) for n in range(1, count + 1))


COLUMNS = ["id", "phone", "display_name", "home_commune_code", "is_operator", "locale", "created_at"]


async def test_a_generator_of_rows_is_loaded_in_chunks_with_progress(runtime: Runtime) -> None:
    seen: list[int] = []
    async with runtime.session() as session:
        count = await bulk_insert(session, User.__table__, _users(25_000), columns=COLUMNS, chunk=4_000,
                                  progress=seen.append)
        await session.commit()
    assert count == 25_000
    assert seen[-1] == 25_000 and seen == sorted(seen)
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 25_000
        user = await session.get(User, 12_345)
        assert user is not None
        assert user.phone == "+84980012345" and user.created_at == WHEN and user.is_operator is False


async def test_mappings_with_json_and_times_read_back_through_the_orm(runtime: Runtime) -> None:
    async with runtime.session() as session:
        await bulk_insert(session, Account.__table__, [{
            "id": 7, "handle": "so-y-te", "name": "Sở Y tế Hà Nội", "search_text": "so y te ha noi so-y-te",
            "kind": "provincial_department", "description": "", "contacts": {"hotline": "1900 9095"},
            "office_hours": [{"days": "mon-fri", "open": "07:30"}], "province_code": "01", "commune_code": None,
            "verification_status": "verified", "verified_at": WHEN, "follower_count": 0,
            "created_at": WHEN, "updated_at": WHEN,
        }])
        await session.commit()
    async with runtime.read_session() as session:
        account = await session.get(Account, 7)
        assert account is not None
        assert account.contacts == {"hotline": "1900 9095"}
        assert account.office_hours == [{"days": "mon-fri", "open": "07:30"}]
        assert account.verified_at == WHEN


async def test_a_rolled_back_transaction_leaves_nothing(runtime: Runtime) -> None:
    async with runtime.session() as session:
        assert await bulk_insert(session, User.__table__, _users(3_000), columns=COLUMNS, chunk=1_000) == 3_000
        await session.rollback()
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_nothing_to_load_is_fine(runtime: Runtime) -> None:
    async with runtime.session() as session:
        assert await bulk_insert(session, User.__table__, iter(()), columns=COLUMNS) == 0


def test_progress_prints_a_final_line() -> None:
    import io

    stream = io.StringIO()
    progress = Progress("follows", 10, stream=stream)
    progress(10)
    progress.finish()
    assert "follows: 10 / 10 (100%) rows" in stream.getvalue()
