"""`./loa bench [NAME] [--quick] [--database-url URL]`: list the benchmarks or run one."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from bench.common import BENCH_DATABASE_ENV, Options, emit

BENCHMARKS = ("follow_throughput", "search", "push_plan", "live_fanout", "broadcast_publish", "feed_page",
              "message_ingest", "inbox_page", "report_submit", "deadline_sweep", "webhook_dispatch", "api_send",
              "stats_dashboard", "stats_rollup")


def load(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa bench", description="Run a benchmark; JSON lines on stdout.")
    parser.add_argument("name", nargs="?", help="the benchmark; none lists them")
    parser.add_argument("--quick", action="store_true", help="a small smoke size")
    parser.add_argument("--database-url", help=f"also run on this PostgreSQL server (or set {BENCH_DATABASE_ENV}); "
                                               "a scratch database is created there and dropped")
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL run")
    parser.add_argument("--ten-million", action="store_true",
                        help="broadcast_publish only: a 10,000,000-follower account (PostgreSQL only)")
    return parser


def main(args: Sequence[str]) -> int:
    parsed = _parser().parse_args(list(args))
    if parsed.name is None:
        for name in BENCHMARKS:
            print(f"{name:20} {load(name).DESCRIPTION}")
        return 0
    if parsed.name not in BENCHMARKS:
        print(f"unknown benchmark {parsed.name!r}; one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    options = Options(quick=parsed.quick, database_url=parsed.database_url, skip_sqlite=parsed.skip_sqlite)
    if not options.targets:
        print("nothing to run: --skip-sqlite needs --database-url or " + BENCH_DATABASE_ENV, file=sys.stderr)
        return 2
    extra = {"ten_million": True} if parsed.ten_million else {}
    if extra and parsed.name != "broadcast_publish":
        print("--ten-million is for broadcast_publish only", file=sys.stderr)
        return 2
    asyncio.run(run(parsed.name, options, **extra))
    return 0


async def run(name: str, options: Options, **extra: Any) -> None:
    """Run one benchmark, printing each result line as soon as it is measured (`extra`: that
    benchmark's own options)."""
    quiet_logs()
    async for line in load(name).run(options, **extra):
        emit(line)


def quiet_logs() -> None:
    """Application logs to stderr and warnings only: stdout carries nothing but result lines."""
    from loa.kit.logging import configure_logging
    from loa.settings import Settings

    configure_logging(Settings(log_format="console", log_level="WARNING", seed_demo=False))
