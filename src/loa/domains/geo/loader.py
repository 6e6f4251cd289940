"""Loads Vietnam's administrative units into the database: once, and again only when the data changes.

Called at start-up (`./loa run`, `./loa db upgrade`) by every process, so the common case — already
loaded — costs one small query; loading takes a lock, re-checks, and replaces both tables in one
transaction, so readers see the old set or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.bulk import bulk_insert
from loa.domains.geo import source
from loa.domains.geo.models import AdminUnit, AdminUnitConversion
from loa.runtime import Runtime

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key: one loader at a time across processes ("loa geo" in ASCII).
_PG_LOCK_KEY = 0x6C6F612067656F


async def ensure_loaded(runtime: Runtime) -> None:
    version = await asyncio.to_thread(source.data_version)
    async with runtime.read_session() as session:
        if await loaded_version(session) == version:
            return
    data = await asyncio.to_thread(source.read)
    started = time.perf_counter()
    async with runtime.session() as session:
        # SQLite: the write session began IMMEDIATE, which already excludes other writers.
        if not runtime.is_sqlite:
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if await loaded_version(session) == version:
            return
        await _replace(session, data)
        await session.commit()
    log.info("admin units loaded", version=version, units=len(data.units), conversions=len(data.conversions),
             ms=round((time.perf_counter() - started) * 1000))


async def loaded_version(session: AsyncSession) -> str | None:
    """The data version in the tables, or None when they are empty, mixed or incomplete."""
    low, high = (await session.execute(
        select(func.min(AdminUnit.data_version), func.max(AdminUnit.data_version))
    )).one()
    if low is None or low != high:
        return None
    has_conversions = await session.scalar(select(AdminUnitConversion.legacy_code).limit(1))
    return low if has_conversions is not None else None


async def _replace(session: AsyncSession, data: source.GeoData) -> None:
    await session.execute(delete(AdminUnitConversion))
    await session.execute(delete(AdminUnit))
    await bulk_insert(session, AdminUnit.__table__, data.units)  # COPY on PostgreSQL
    await bulk_insert(session, AdminUnitConversion.__table__, data.conversions)
