"""Structured logs: readable in a terminal, JSON in production."""

from __future__ import annotations

import logging
import sys

import structlog

from loa.settings import Settings


def configure_logging(settings: Settings) -> None:
    use_json = settings.log_format == "json" or (settings.log_format is None and settings.is_production)
    level = logging.getLevelName(settings.log_level.upper())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            # Python's own traceback: a rich one prints local variables (passwords, tokens, people's data),
            # and drawing it held the event loop for seconds on every error.
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(),
                    structlog.processors.format_exc_info if use_json else structlog.dev.set_exc_info,
                    renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
