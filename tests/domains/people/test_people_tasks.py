from datetime import timedelta

from sqlalchemy import func, select
from tests.factories import make_user

from loa.db.base import utcnow
from loa.domains.people import service
from loa.domains.people.models import LoginSession
from loa.domains.people.tasks import purge_expired_sign_ins
from loa.kit.effects import commit
from loa.kit.workers import SWEEPS
from loa.runtime import Runtime


async def test_the_hourly_sweep_removes_expired_sessions_only(runtime: Runtime) -> None:
    user = await make_user(runtime)
    async with runtime.session() as session:
        await service.start_session(session, user)
        _, stale = await service.start_session(session, user)
        stale.expires_at = utcnow() - timedelta(minutes=1)
        await commit(session)
    assert "people.purge_expired" in SWEEPS
    await purge_expired_sign_ins(runtime)
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(LoginSession)) == 1
