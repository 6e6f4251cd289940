"""Browser journeys: a real Loa server (uvicorn in a thread) on a fresh database with the demo data, driven by
Playwright through Debian's Chromium (`/usr/bin/chromium`; no browser is ever downloaded).

The database follows the rest of the suite: SQLite, or PostgreSQL + Redis when LOA_TEST_TARGET=postgresql
(LOA_TEST_DATABASE_URL, LOA_TEST_REDIS_URL). It is the server's own database, seeded once per run and worker,
so the journeys see what `./loa run` shows.

Fixtures: `server` (an `E2EServer`: `url`, `call(coro)` runs code on the server's loop with its runtime),
`browser`, `page`/`phone_page` (360×740) and `desktop_page` (1280×800), each a fresh browser context with
no cookies. Helpers: `sign_in_citizen`, `sign_in_staff`, `check_accessibility`, `screenshot` (in
tests/e2e/helpers.py).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from tests.databases import admin, target, worker
from tests.databases import database_url as database_url_of
from tests.e2e.helpers import E2EServer
from tests.live import serving

from loa.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run set-up code on an event loop of its own (the tests' loop belongs to pytest-asyncio)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of the journeys' server, on a fresh database seeded with the demo data."""
    from loa.domains.seed import run_seed

    worker_name = worker()
    run_id = uuid.uuid4().hex[:8]
    data_dir = tmp_path_factory.mktemp("e2e")
    database = None
    if target() == "postgresql":
        database = f"loa_e2e_{worker_name}_{run_id}"
        _run(admin(f'CREATE DATABASE "{database}"'))
        url = database_url_of(database)
        redis_url = os.environ.get("LOA_TEST_REDIS_URL")
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'loa.db'}"
        redis_url = None
    settings = Settings(
        env="development",  # as `./loa run`: the developer page of sent codes exists
        database_url=url,
        redis_url=redis_url,
        redis_prefix=f"loa-e2e-{worker_name}-{run_id}",
        run_worker_in_web=True,
        data_dir=data_dir,
        secret_key="e2e-secret-" + uuid.uuid4().hex,
        seed_demo=True,
        log_format="console",
        log_level="WARNING",
    )
    try:
        _run(run_seed(settings, scale="demo", quiet=True))
        yield settings
    finally:
        if database is not None:
            _run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server(e2e_settings: Settings) -> Iterator[E2EServer]:
    with serving(e2e_settings) as running:
        yield E2EServer(running, e2e_settings)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium. Missing, the journeys fail (they are never skipped): `.ci/run` installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`, as .ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def _context(browser: Browser, server: E2EServer, viewport: dict[str, int], *, mobile: bool) -> BrowserContext:
    context = await browser.new_context(base_url=server.url, viewport=viewport, is_mobile=mobile, has_touch=mobile,
                                        locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
async def phone_page(browser: Browser, server: E2EServer) -> AsyncIterator[Page]:
    """A phone-sized page (360×740) in a browser context of its own (no cookies)."""
    context = await _context(browser, server, PHONE, mobile=True)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def page(phone_page: Page) -> Page:
    """Citizens come on phones: the default page is phone-sized."""
    return phone_page


@pytest.fixture
async def desktop_page(browser: Browser, server: E2EServer) -> AsyncIterator[Page]:
    """A desktop page (1280×800), as staff use the console."""
    context = await _context(browser, server, DESKTOP, mobile=False)
    try:
        yield await context.new_page()
    finally:
        await context.close()
