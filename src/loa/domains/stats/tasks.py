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


# The first roll right after start: a fresh `./loa run` (or a restart after the rollups fell behind) shows real
# figures at once, not zeros and no `as_of` until the first interval has passed.
FIRST_ROLL_AFTER_SECONDS = 1.0


@sweep("stats.rollup", every_seconds=ROLL_EVERY_SECONDS, first_after_seconds=FIRST_ROLL_AFTER_SECONDS)
async def rollup(runtime: Runtime) -> None:
    result = await service.roll(runtime)
    if result.rebuilt:
        log.info("statistics built from the raw tables")
