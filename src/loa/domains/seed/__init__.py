"""Seeds: demo data for a first start, and synthetic data with the real national skew, bulk-loaded.

`./loa seed --scale demo|province|national [--fraction F] [--province CODE]` → `run_seed`;
`./loa run` → `ensure_demo` (demo data only into a database without accounts).
"""

from __future__ import annotations

import sys
from typing import Any

from loa.settings import Settings

__all__ = ["ensure_demo", "run_seed"]

DEFAULT_SEED = 2024


async def run_seed(settings: Settings, *, scale: str = "demo", fraction: float = 1.0, province: str = "01",
                   seed: int = DEFAULT_SEED, quiet: bool = False) -> dict[str, Any]:
    """Bring the schema up to date, load the reference data, then the chosen data set. Returns what was
    loaded (also printed to stderr unless `quiet`)."""
    from loa.db.migrate import upgrade_async
    from loa.kit.logging import configure_logging
    from loa.runtime import Runtime

    if scale not in ("demo", "province", "national"):
        raise ValueError(f"unknown scale {scale!r}: demo, province or national")
    configure_logging(settings)  # logs to stderr, like the progress lines
    await upgrade_async(settings.resolved_database_url)
    runtime = Runtime(settings)
    try:
        await _reference_data(runtime)
        if scale == "demo":
            return await _demo(runtime, quiet=quiet, always_report=True)
        return await _synthetic(runtime, scale=scale, fraction=fraction, province=province, seed=seed, quiet=quiet)
    finally:
        await runtime.close()


async def ensure_demo(settings: Settings) -> bool:
    """Seed the demo data when the database has no accounts yet (and demo seeding is on). Returns whether
    it seeded; a second call does nothing."""
    from sqlalchemy import select

    from loa.domains.accounts.models import Account
    from loa.runtime import Runtime

    if not settings.seed_demo:
        return False
    runtime = Runtime(settings)
    try:
        await _reference_data(runtime)
        async with runtime.read_session() as session:
            if await session.scalar(select(Account.id).limit(1)) is not None:
                return False
        result = await _demo(runtime, quiet=False, always_report=False)
        return bool(result.get("seeded"))
    finally:
        await runtime.close()


async def _reference_data(runtime: Any) -> None:
    from loa.domains.geo.loader import ensure_loaded

    await ensure_loaded(runtime)


async def _demo(runtime: Any, *, quiet: bool, always_report: bool) -> dict[str, Any]:
    from loa.domains.seed import demo
    from loa.kit.effects import commit

    async with runtime.session() as session:
        if await demo.has_demo(session):
            if always_report and not quiet:
                print("demo data already loaded", file=sys.stderr)
            return {"scale": "demo", "seeded": False}
        staff = await demo.seed_demo(session)
        await commit(session)
    await demo.seed_reports(runtime)  # through the reports service, which commits step by step
    if not quiet:
        print(demo.logins_text(staff), file=sys.stderr)
    return {"scale": "demo", "seeded": True, "accounts": len(demo.ACCOUNTS), "staff": len(staff),
            "citizens": len(demo.CITIZENS)}


async def _synthetic(runtime: Any, *, scale: str, fraction: float, province: str, seed: int,
                     quiet: bool) -> dict[str, Any]:
    from sqlalchemy import text

    from loa.domains.seed import synthetic
    from loa.domains.seed.places import load_country
    from loa.domains.seed.plan import plan

    async with runtime.session() as session:
        if await synthetic.has_synthetic_data(session):
            raise RuntimeError("synthetic data is already loaded in this database: seed into an empty one")
        country = await load_country(session, seed=seed)
        chosen = plan(country, scale=scale, fraction=fraction, province=province, seed=seed)
        if not quiet:
            print(f"seeding {scale} data: {len(chosen.accounts):,} accounts, {chosen.users:,} citizens, "
                  f"{chosen.follows:,} follows", file=sys.stderr)
        result = await synthetic.load(session, chosen, country, seed=seed, show_progress=not quiet)
        await session.commit()
    if not runtime.is_sqlite:
        async with runtime.session() as session:
            # fresh statistics, so the planner sees the new sizes before autovacuum gets to it
            await session.execute(text("ANALYZE organisations, accounts, users, follows"))
            await session.commit()
    summary = {"scale": scale, "fraction": fraction, "province": province if scale == "province" else None,
               **result.as_dict()}
    if not quiet:
        print(f"loaded in {result.seconds:.1f} s: {result.organisations:,} organisations, "
              f"{result.accounts:,} accounts, {result.users:,} citizens, {result.follows:,} follows, "
              f"{result.applications:,} pending verification applications", file=sys.stderr)
    return summary
