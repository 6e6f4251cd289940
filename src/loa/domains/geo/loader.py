"""Loads Vietnam's administrative units into the database (filled in by the geo domain)."""

from loa.runtime import Runtime


async def ensure_loaded(runtime: Runtime) -> None:
    return None
