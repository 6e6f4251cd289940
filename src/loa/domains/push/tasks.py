"""Push jobs and the sweep that re-kicks batches a crashed or throttled worker left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loa.domains.push import service
from loa.kit.jobs import job
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@job(service.SEND_JOB)
async def send_batch(runtime: Runtime, batch_id: int) -> None:
    await service.send_batch(runtime, batch_id)


@sweep("push.resume", every_seconds=30)
async def resume(runtime: Runtime) -> None:
    await service.resume(runtime)
