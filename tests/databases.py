"""The database a test run targets, and PostgreSQL databases made for it (one per run and worker, so concurrent
runs on one server never drop each other's)."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url


def target() -> str:
    """`sqlite` or `postgresql`: LOA_TEST_TARGET, else PostgreSQL wherever LOA_TEST_DATABASE_URL is set."""
    chosen = os.environ.get("LOA_TEST_TARGET")
    if chosen:
        return chosen
    return "postgresql" if os.environ.get("LOA_TEST_DATABASE_URL") else "sqlite"


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_url(name: str) -> str:
    """The async URL of database `name` on the test server."""
    url = make_url(os.environ["LOA_TEST_DATABASE_URL"]).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def admin(statement: str) -> None:
    """One statement on the test server outside any transaction (CREATE / DROP DATABASE)."""
    import asyncpg

    base = make_url(os.environ["LOA_TEST_DATABASE_URL"]).set(drivername="postgresql")
    connection = await asyncpg.connect(base.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
