"""Background work of broadcasts: scheduled publishing and handing published broadcasts to push."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loa.domains.broadcasts import service
from loa.kit.effects import commit
from loa.kit.jobs import job
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@sweep("broadcasts.publish_due")
async def publish_scheduled(runtime: Runtime) -> None:
    async with runtime.session() as session:
        if await service.publish_due(session):
            await commit(session)


@job("broadcasts.plan_push")
async def plan_push(runtime: Runtime, *, broadcast_id: int) -> None:
    """Plan push delivery in batches (idempotent: planning twice plans nothing new)."""
    from loa.domains.push import service as push

    async with runtime.session() as session:
        broadcast = await service.get_broadcast(session, broadcast_id)
        if broadcast.status == "published":
            await service.record_targeted(session, broadcast)
            await push.plan_push(session, broadcast)
            await commit(session)
