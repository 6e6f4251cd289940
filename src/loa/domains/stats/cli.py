"""`./loa stats rebuild|roll` and `./loa report`: statistics from the command line (progress on stderr)."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from loa.domains.stats import report as annual
from loa.domains.stats import rollup, service
from loa.kit.errors import AppError
from loa.runtime import Runtime
from loa.settings import Settings


async def rebuild(settings: Settings, since: date | None) -> None:
    runtime = Runtime(settings)
    started = time.perf_counter()
    try:
        print(f"stats rebuild: from {since.isoformat() if since else 'the beginning'}", file=sys.stderr)
        await service.rebuild(runtime, since, report=rollup.progress_to_stderr)
    finally:
        await runtime.close()
    print(f"stats rebuild: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)


async def roll(settings: Settings) -> None:
    runtime = Runtime(settings)
    try:
        result = await service.roll(runtime)
    finally:
        await runtime.close()
    if result.rebuilt:
        print("stats: built from the raw tables", file=sys.stderr)
    else:
        print(f"stats: rolled up {result.first} – {result.last}", file=sys.stderr)


async def report(settings: Settings, *, year: int, province: str | None, out: Path, pdf: bool = True) -> list[Path]:
    """The annual report's files; a bad year or province is a ValueError with the bilingual message."""
    runtime = Runtime(settings)
    try:
        async with runtime.read_session() as session:
            try:
                period = service.resolve(year=year)
                scope = await service.resolve_scope(session, province=province)
            except AppError as exc:
                raise ValueError(exc.message) from None
            return await annual.write(session, scope, period, out, pdf=pdf)
    finally:
        await runtime.close()
