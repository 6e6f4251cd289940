"""Test fixtures: the real SQLite file (always) or the real PostgreSQL (LOA_TEST_TARGET=postgresql), a schema
built by the Alembic migrations, and a clean slate per test (reference data such as admin units stays)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

import pyotp
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, text
from tests.databases import admin, target, worker
from tests.databases import database_url as database_url_of

from loa.app import create_app
from loa.db.migrate import upgrade_async
from loa.db.registry import metadata
from loa.domains.people import service
from loa.domains.people.models import SentMessage, User
from loa.kit.auth import session_cookie_name
from loa.kit.effects import commit
from loa.runtime import Runtime
from loa.settings import Settings

# Tables the migrations or the reference loader fill once; tests never change them.
REFERENCE_TABLES = {"alembic_version", "admin_units", "admin_unit_conversions", "report_categories"}


# One database per run and worker: concurrent runs on one server never drop each other's database.
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if target() != "postgresql":
        path: Path = tmp_path_factory.mktemp("db") / f"loa-{worker()}.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async(url)
        yield url
        return
    name = f"loa_test_{worker()}_{_RUN_ID}"
    await admin(f'CREATE DATABASE "{name}"')
    url = database_url_of(name)
    try:
        await upgrade_async(url)
        yield url
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("LOA_TEST_REDIS_URL") if target() == "postgresql" else None


@pytest.fixture(scope="session")
def live_redis_url(redis_url: str | None) -> str:
    """A Redis server for the tests that need one on both runs (two processes, the Redis-backed parts):
    wherever one is configured, as on CI; a configured but broken one fails them."""
    url = redis_url or os.environ.get("LOA_TEST_REDIS_URL")
    if not url:
        _missing("LOA_TEST_REDIS_URL")
    return url


def _missing(variable: str) -> NoReturn:
    if os.environ.get("LOA_TEST_REQUIRE_ALL") == "1":  # CI: every test runs, none is skipped
        pytest.fail(f"{variable} is not set, and this run must run every test")
    pytest.skip(f"{variable} is not set")


@pytest.fixture(scope="session")
def base_settings(database_url: str, redis_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        # On the PostgreSQL run the suite also runs on Redis: jobs, events and rate limits, consumed in-process.
        redis_url=redis_url,
        redis_prefix=f"loa-test-{worker()}-{uuid.uuid4().hex[:8]}",
        run_worker_in_web=True,
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
    await runtime.limiter.reset()  # budgets in Redis outlive a test
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def postgresql_runtime(runtime: Runtime, settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime on the real PostgreSQL, for tests of how Loa meets the server itself (a connection the server
    cuts), on both runs wherever a server is configured, as on CI: the PostgreSQL run's own runtime; on the
    SQLite run, one on a database of its own (migrated, empty)."""
    if not runtime.is_sqlite:
        yield runtime
        return
    if not os.environ.get("LOA_TEST_DATABASE_URL"):
        _missing("LOA_TEST_DATABASE_URL")
    name = f"loa_test_server_{worker()}_{_RUN_ID}"
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    url = database_url_of(name)
    server = Runtime(settings.model_copy(update={"database_url": url, "redis_url": None}))
    try:
        await upgrade_async(url)
        yield server
    finally:
        await server.close()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    # A plain fixture: an async one that only returns made the runtime's background tasks hang at
    # teardown under pytest-asyncio when they run on Redis.
    return create_app(runtime.settings, runtime=runtime)


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


# --- signing in: through the real API (one-time code, password + TOTP) or straight into a session --------


async def last_code(runtime: Runtime, phone: str) -> str:
    async with runtime.read_session() as session:
        body = await session.scalar(select(SentMessage.body).where(SentMessage.recipient == phone)
                                    .order_by(SentMessage.id.desc()).limit(1))
    assert body is not None, f"no message sent to {phone}"
    match = re.search(r"\b(\d{6})\b", body)
    assert match
    return match.group(1)


@pytest.fixture
def otp_code(runtime: Runtime) -> Callable[[str], Awaitable[str]]:
    """The code in the latest text message to a phone (E.164)."""

    async def otp_code(phone: str) -> str:
        return await last_code(runtime, phone)

    return otp_code


@pytest.fixture
def sign_in(client: AsyncClient, runtime: Runtime) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def sign_in(phone: str = "0912 345 678") -> dict[str, Any]:
        sent = await client.post("/api/v1/auth/otp/request", json={"phone": phone})
        assert sent.status_code == 202, sent.text
        code = await last_code(runtime, sent.json()["phone"])
        response = await client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return response.json()

    return sign_in


async def make_staff(runtime: Runtime, email: str = "staff@example.vn", password: str = "correct horse battery",
                     *, operator: bool = False) -> User:
    """A staff user with a confirmed authenticator (as `./loa admin create` makes them)."""
    async with runtime.session() as session:
        user, _ = await service.set_staff_credentials(session, email=email, password=password, operator=operator)
        await commit(session)
    return user


@pytest.fixture
def staff_sign_in(client: AsyncClient, runtime: Runtime) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def staff_sign_in(email: str = "staff@example.vn", password: str = "correct horse battery",
                            *, operator: bool = False) -> dict[str, Any]:
        user = await make_staff(runtime, email, password, operator=operator)
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        assert user.totp_secret
        response = await client.post("/api/v1/auth/totp", json={"code": pyotp.TOTP(user.totp_secret).now()})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return response.json()

    return staff_sign_in


@pytest.fixture
async def client_as(app):  # type: ignore[no-untyped-def]
    """`await client_as(user)`: a client signed in as `user` (an active session made by the service)."""
    clients: list[AsyncClient] = []

    async def sign_in_as(user: User) -> AsyncClient:
        runtime: Runtime = app.state.runtime
        async with runtime.session() as session:
            token, login_session = await service.start_session(session, user)
            await commit(session)
        signed_in = AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver",
                                cookies={session_cookie_name(runtime.settings): token},
                                headers={"X-CSRF-Token": login_session.csrf_token})
        clients.append(signed_in)
        return signed_in

    yield sign_in_as
    for signed_in in clients:
        await signed_in.aclose()
