"""Background work of broadcasts: scheduled publishing and handing published broadcasts to push."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from loa.db.base import utcnow
from loa.domains.broadcasts import service
from loa.kit.effects import commit
from loa.kit.jobs import job
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@sweep("broadcasts.publish_due")
async def publish_scheduled(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        if not await service.has_due(session):
            return
    async with runtime.session() as session:
        if await service.publish_due(session):
            await commit(session)


@job("broadcasts.plan_push")
async def plan_push(runtime: Runtime, *, broadcast_id: int) -> None:
    """Plan push delivery in batches (idempotent: planning twice plans nothing new)."""
    from loa.domains.push import service as push

    async with runtime.session() as session:
        broadcast = await service.get_broadcast(session, broadcast_id)
        if broadcast.status == "published" and broadcast.push_planned_at is None:
            await service.record_targeted(session, broadcast)
            await push.plan_push(session, broadcast)
            broadcast.push_planned_at = utcnow()
            await commit(session)


@sweep("broadcasts.replan_push", every_seconds=60)
async def replan_lost_push_plans(runtime: Runtime) -> None:
    """A planning job lost with a crashed process is planned again (planning is idempotent)."""
    async with runtime.read_session() as session:
        broadcast_ids = await service.unplanned_broadcasts(session, older_than=timedelta(minutes=2))
    for broadcast_id in broadcast_ids:
        await runtime.jobs.enqueue("broadcasts.plan_push", broadcast_id=broadcast_id)
