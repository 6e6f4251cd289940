"""Test fixtures: the real SQLite file (always) or the real PostgreSQL (LOA_TEST_TARGET=postgresql), a schema
built by the Alembic migrations, and a clean slate per test (reference data such as admin units stays)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from loa.app import create_app
from loa.db.migrate import upgrade_async
from loa.db.registry import metadata
from loa.runtime import Runtime
from loa.settings import Settings

# Tables the migrations or the reference loader fill once; tests never change them.
REFERENCE_TABLES = {"alembic_version", "admin_units", "admin_unit_conversions"}


def test_target() -> str:
    target = os.environ.get("LOA_TEST_TARGET")
    if target:
        return target
    return "postgresql" if os.environ.get("LOA_TEST_DATABASE_URL") else "sqlite"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _fresh_postgres_database() -> str:
    import asyncpg

    base = make_url(os.environ["LOA_TEST_DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    name = f"loa_test_{_worker()}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if test_target() == "postgresql":
        url = await _fresh_postgres_database()
    else:
        path: Path = tmp_path_factory.mktemp("db") / f"loa-{_worker()}.db"
        url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("LOA_TEST_REDIS_URL") if test_target() == "postgresql" else None


@pytest.fixture(scope="session")
def base_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key="test-secret-" + uuid.uuid4().hex,
        seed_demo=False,
        log_format="console",
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
async def reference_data(base_settings: Settings) -> None:
    from loa.domains.geo.loader import ensure_loaded

    runtime = Runtime(base_settings)
    try:
        await ensure_loaded(runtime)
    finally:
        await runtime.close()


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings


async def _clean(runtime: Runtime) -> None:
    tables = [table.name for table in reversed(metadata.sorted_tables) if table.name not in REFERENCE_TABLES]
    async with runtime.session() as session:
        if runtime.is_sqlite:
            for name in tables:
                await session.execute(text(f'DELETE FROM "{name}"'))
        else:
            quoted = ", ".join(f'"{name}"' for name in tables)
            await session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        await session.commit()


@pytest.fixture
async def runtime(settings: Settings, reference_data: None) -> AsyncIterator[Runtime]:
    runtime = Runtime(settings)
    await _clean(runtime)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime.settings, runtime=runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
