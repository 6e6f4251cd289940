"""Background work of statistics: the sweep that keeps the rollups up to date (see `rollup`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from loa.domains.stats import service
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

ROLL_EVERY_SECONDS = 300  # the dashboard's figures are at most this old (its `as_of` says how old)


@sweep("stats.rollup", every_seconds=ROLL_EVERY_SECONDS)
async def rollup(runtime: Runtime) -> None:
    result = await service.roll(runtime)
    if result.rebuilt:
        log.info("statistics built from the raw tables")
