"""`./loa <command>`: run, web, worker, scheduler, db upgrade, seed, admin create, stats, report, test, bench."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from loa.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]

app = typer.Typer(help="Loa: official accounts of state agencies and public-utility units.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
admin_app = typer.Typer(help="Platform administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
dev_app = typer.Typer(help="Development helpers (refused when LOA_ENV=production).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(dev_app, name="dev")
stats_app = typer.Typer(help="Statistics: the rollups behind the dashboard.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")

PortOption = Annotated[int | None, typer.Option("--port", "-p", help="Port (default: LOA_PORT or 8000).")]
HostOption = Annotated[str | None, typer.Option("--host", help="Interface (default: LOA_HOST or 127.0.0.1).")]


def _settings(**overrides: object) -> Settings:
    settings = get_settings()
    clean = {key: value for key, value in overrides.items() if value is not None}
    return settings.model_copy(update=clean) if clean else settings


def _serve(settings: Settings) -> None:
    import uvicorn

    from loa.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                proxy_headers=True, timeout_graceful_shutdown=5)


async def _load_reference_data(settings: Settings) -> None:
    from loa.domains.geo.loader import ensure_loaded
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        await ensure_loaded(runtime)
    finally:
        await runtime.close()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    from loa.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url, revision)
    asyncio.run(_load_reference_data(settings))
    typer.echo(f"database at {revision}: {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def run(port: PortOption = None, host: HostOption = None) -> None:
    """Set up (schema, reference data, demo data on first start) and serve everything in one process."""
    from loa.db.migrate import upgrade
    from loa.domains.seed import ensure_demo

    # One process does everything, also when LOA_REDIS_URL is set (unless told otherwise).
    in_web = get_settings().run_worker_in_web
    settings = _settings(port=port, host=host, run_worker_in_web=True if in_web is None else in_web)
    upgrade(settings.resolved_database_url)
    asyncio.run(_load_reference_data(settings))
    if settings.seed_demo:
        asyncio.run(ensure_demo(settings))
    typer.echo(f"Loa: http://{settings.host}:{settings.port}/  (Ctrl-C to stop)")
    _serve(settings)


@app.command()
def web(port: PortOption = None, host: HostOption = None) -> None:
    """Serve the web application only (scaled out: run workers and one scheduler separately)."""
    _serve(_settings(port=port, host=host, run_worker_in_web=False))


@app.command()
def worker() -> None:
    """Run background jobs from the shared queue (needs LOA_REDIS_URL)."""
    from loa.kit.workers import run_worker

    asyncio.run(run_worker(get_settings()))


@app.command()
def scheduler() -> None:
    """Run the periodic sweeps (exactly one per installation when scaled out)."""
    from loa.kit.workers import run_scheduler

    asyncio.run(run_scheduler(get_settings()))


@app.command()
def seed(
    scale: Annotated[str, typer.Option(help="demo | province | national")] = "demo",
    fraction: Annotated[float, typer.Option(help="national only: share of the real figures", min=0.0001,
                                            max=1.0)] = 1.0,
    province: Annotated[str, typer.Option(help="province only: the province code")] = "01",
) -> None:
    """Load demo data, or synthetic data with the real skew (bulk-loaded)."""
    from loa.domains.seed import run_seed

    asyncio.run(run_seed(get_settings(), scale=scale, fraction=fraction, province=province))


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str, typer.Option()] = "Quản trị viên",
) -> None:
    """Create a platform operator (prints the TOTP secret for their authenticator app)."""
    from loa.domains.people.cli import create_operator

    asyncio.run(create_operator(get_settings(), email=email, password=password, name=name))


@dev_app.command("totp")
def dev_totp(email: str) -> None:
    """Print the current second-factor code of a staff user (demo logins without an authenticator app)."""
    from loa.domains.people.cli import current_totp

    settings = get_settings()
    if settings.is_production:
        raise typer.BadParameter("not available in production")
    typer.echo(asyncio.run(current_totp(settings, email=email)))


@stats_app.command("rebuild")
def stats_rebuild(
    since: Annotated[str | None, typer.Option("--from", help="First day to rebuild (YYYY-MM-DD); default: all")] = None,
) -> None:
    """Refill the statistics rollups from the raw tables (follows, messages, broadcasts, the kept counts)."""
    from loa.domains.stats.cli import rebuild

    asyncio.run(rebuild(get_settings(), _day(since, "--from") if since else None))


@stats_app.command("roll")
def stats_roll() -> None:
    """Bring the rollups up to date now (what the sweep does every five minutes)."""
    from loa.domains.stats.cli import roll

    asyncio.run(roll(get_settings()))


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)", param_hint=option) from None


@app.command()
def report(
    year: Annotated[int, typer.Option(help="The calendar year")],
    province: Annotated[str | None, typer.Option(help="A province code (current divisions); default: the nation")]
    = None,
    out: Annotated[Path, typer.Option(help="Folder for the HTML and PDF files")] = Path("."),
    pdf: Annotated[bool, typer.Option(help="Also write the PDF")] = True,
) -> None:
    """Write the annual statistics report (Vietnamese, printable HTML and PDF) for the nation or a province."""
    from loa.domains.stats.cli import report as write_report

    try:
        written = asyncio.run(write_report(get_settings(), year=year, province=province, out=out, pdf=pdf))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    for path in written:
        typer.echo(path)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Lint, then the whole suite on SQLite; again on PostgreSQL + Redis when LOA_TEST_DATABASE_URL is set."""
    python = sys.executable
    checks = [[python, "-m", "ruff", "check", "src", "tests", "bench", "migrations"]]
    # One worker per core unless the caller chose (`./loa test -n 0` for a single process).
    chose = any(arg.startswith(("-n", "--numprocesses")) for arg in ctx.args)
    parallel = [] if chose else ["-n", "auto"]
    pytest = [python, "-m", "pytest", *parallel, *ctx.args]
    for command in checks:
        if subprocess.call(command, cwd=ROOT) != 0:  # noqa: S603
            raise typer.Exit(1)
    runs = [("sqlite", {})]
    if os.environ.get("LOA_TEST_DATABASE_URL"):
        runs.append(("postgresql", {}))
    failed = False
    for target, extra in runs:
        typer.echo(f"\n=== tests on {target} ===", err=True)
        env = {**os.environ, "LOA_TEST_TARGET": target, **extra}
        failed |= subprocess.call(pytest, cwd=ROOT, env=env) != 0  # noqa: S603
    raise typer.Exit(1 if failed else 0)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """List the benchmarks, or run one: `./loa bench NAME [--quick]` (JSON lines on stdout)."""
    sys.path.insert(0, str(ROOT))
    from bench.runner import main as bench_main

    raise typer.Exit(bench_main(ctx.args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
