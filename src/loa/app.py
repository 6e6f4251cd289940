"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from loa.kit.csrf import install_csrf
from loa.kit.errors import COMMON_ERROR_RESPONSES, install_error_handlers
from loa.kit.logging import configure_logging
from loa.kit.metrics import install_metrics
from loa.kit.sse import install_live
from loa.runtime import Runtime, freeze_startup_objects
from loa.settings import Settings, get_settings
from loa.web.assets import mount_static
from loa.web.errors import install_page_errors


def api_routers() -> list[APIRouter]:
    """Every domain's `/api/v1` router, in the order they appear in the OpenAPI document."""
    from loa.domains.accounts.api import router as accounts
    from loa.domains.agencies.api import router as agencies
    from loa.domains.broadcasts.api import router as broadcasts
    from loa.domains.conversations.api import router as conversations
    from loa.domains.follows.api import router as follows
    from loa.domains.geo.api import router as geo
    from loa.domains.integrations.api import router as integrations
    from loa.domains.integrations.open_api import router as open_api
    from loa.domains.live.api import router as live
    from loa.domains.media.api import router as media
    from loa.domains.people.api import router as people
    from loa.domains.push.api import router as push
    from loa.domains.reports.api import router as reports
    from loa.domains.stats.api import router as stats

    # The integrators' API first: FastAPI tries routes in order, and apps call many times a second.
    return [open_api, people, accounts, follows, broadcasts, conversations, reports, media, agencies, geo, live,
            push, integrations, stats]


def page_routers() -> list[APIRouter]:
    from loa.domains.accounts.admin_pages import router as accounts_admin
    from loa.domains.accounts.console_pages import router as accounts_console
    from loa.domains.accounts.pages import router as accounts_pages
    from loa.domains.agencies.admin_pages import router as agencies_admin
    from loa.domains.broadcasts.console_pages import router as broadcasts_console
    from loa.domains.broadcasts.pages import router as broadcasts_pages
    from loa.domains.conversations.console_pages import router as conversations_console
    from loa.domains.conversations.pages import router as conversations_pages
    from loa.domains.follows.console_pages import router as follows_console
    from loa.domains.follows.pages import router as follows_pages
    from loa.domains.geo.pages import router as geo_pages
    from loa.domains.integrations.console_pages import router as integrations_console
    from loa.domains.media.api import files as media_files
    from loa.domains.people.pages import router as people
    from loa.domains.reports.admin_pages import router as reports_admin
    from loa.domains.reports.console_pages import router as reports_console
    from loa.domains.reports.pages import router as reports_pages
    from loa.domains.stats.console_pages import router as stats_console
    from loa.domains.stats.pages import router as stats_pages
    from loa.web.console import router as console
    from loa.web.pages import router as web

    return [web, people, console, media_files,
            accounts_pages, broadcasts_pages, conversations_pages, follows_pages, geo_pages, reports_pages,
            accounts_admin, agencies_admin, reports_admin,
            accounts_console, broadcasts_console, conversations_console, follows_console, reports_console,
            integrations_console,
            stats_pages, stats_console]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="Loa",
        summary="Official accounts of state agencies and public-utility units",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_page_errors(app)  # pages answer with pages; the API keeps its JSON errors
    install_csrf(app)  # inside the metrics middleware: refusals are counted too
    install_metrics(app)
    install_live(app)  # outermost: live streams write with the server's own send

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        from sqlalchemy import text

        async with request.app.state.runtime.read_session() as session:
            await session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    for router in api_routers():
        app.include_router(router, prefix="/api/v1", responses=COMMON_ERROR_RESPONSES)
    for router in page_routers():
        app.include_router(router, include_in_schema=False)
    mount_static(app)
    from loa.domains.reports.open311 import router as open311

    # Open311 GeoReport v2 keeps its own standard (XML and JSON, its own error shape): left out of our
    # OpenAPI document, which describes `/api/v1`; docs/open311.md describes it.
    app.include_router(open311, prefix="/open311/v2", include_in_schema=False)
    from loa.domains.integrations.zalo import router as zalo

    app.include_router(zalo, prefix="/zalo", include_in_schema=False)  # Zalo's own shapes: docs/api.md
    return app
