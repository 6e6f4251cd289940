"""The annual report a person prints (Vietnamese HTML and PDF with its charts), the command line that writes it
and rebuilds the rollups, the sweep that keeps them, and the overview after a synthetic national seed."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from tests.domains.stats.helpers import seed_known

from loa.domains.follows.models import Follow
from loa.domains.stats import cli, service, tasks
from loa.domains.stats.models import StatsState
from loa.kit.workers import SWEEPS
from loa.runtime import Runtime


async def test_the_annual_report_in_html_and_pdf(quiet: Runtime, tmp_path: Path) -> None:
    await seed_known(quiet)
    await cli.rebuild(quiet.settings, None)

    written = await cli.report(quiet.settings, year=2025, province=None, out=tmp_path)
    assert [path.name for path in written] == ["bao-cao-thong-ke-2025.html", "bao-cao-thong-ke-2025.pdf"]
    html = written[0].read_text(encoding="utf-8")
    assert "<title>Báo cáo thống kê năm 2025 — Toàn quốc</title>" in html
    assert "<script" not in html and html.count("<svg") >= 4  # charts drawn on the server
    for figure in ("66,7%", "33,3%", "4,50/5", "UBND phường Hoàn Kiếm", "Bệnh viện Quận 1", "3/3.321"):
        assert figure in html, figure
    assert "đơn vị hành chính hiện hành" in html
    assert written[1].read_bytes().startswith(b"%PDF-")
    from weasyprint import HTML

    assert len(HTML(string=html).render().pages) >= 3  # printable: A4 pages, the tables broken between them

    province = await cli.report(quiet.settings, year=2024, province="01", out=tmp_path, pdf=False)
    assert [path.name for path in province] == ["bao-cao-thong-ke-2024-01.html"]
    text = province[0].read_text(encoding="utf-8")
    assert "Thành phố Hà Nội" in text and "trước ngày 1/7/2025" in text

    with pytest.raises(ValueError, match="Năm 1999 nằm ngoài khoảng"):
        await cli.report(quiet.settings, year=1999, province=None, out=tmp_path)
    with pytest.raises(ValueError, match="Không có tỉnh/thành phố nào mang mã 99"):
        await cli.report(quiet.settings, year=2025, province="99", out=tmp_path)


async def test_rebuild_and_roll_from_the_command_line(quiet: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    await seed_known(quiet)
    await cli.roll(quiet.settings)
    assert "built from the raw tables" in capsys.readouterr().err
    await cli.roll(quiet.settings)
    assert "rolled up" in capsys.readouterr().err
    await cli.rebuild(quiet.settings, date(2025, 1, 1))
    err = capsys.readouterr().err
    assert "from 2025-01-01" in err and "accounts' days" in err and "done in" in err
    async with quiet.read_session() as session:
        state = await session.get(StatsState, 1)
        assert state is not None and state.built_at is not None and state.settled_through is not None


def test_the_sweep_is_registered() -> None:
    assert SWEEPS["stats.rollup"].every_seconds == 300
    assert SWEEPS["stats.rollup"].first_after_seconds == tasks.FIRST_ROLL_AFTER_SECONDS == 1


async def test_the_first_roll_comes_right_after_start(runtime: Runtime, client: AsyncClient) -> None:
    """A fresh start shows real figures within seconds, well before the sweeps' default interval (10 s)."""
    await runtime.scheduler.close()  # the test's own runtime: its lease and clock stay out of the way
    await seed_known(runtime)
    assert (await client.get("/api/v1/stats/overview")).json()["as_of"] is None
    started = Runtime(runtime.settings)
    await started.start()
    try:
        begun = time.monotonic()
        while (await client.get("/api/v1/stats/overview")).json()["as_of"] is None:
            assert time.monotonic() - begun < 8, "no roll soon after start"
            await asyncio.sleep(0.2)
        found = (await client.get("/api/v1/stats/figures", params={"year": 2025})).json()
        assert found["interactions"]["messages_in"] == 7 and found["handling"]["received"] == 3
    finally:
        await started.close()


async def test_a_national_seed_shows_accounts_in_every_province(runtime: Runtime, client: AsyncClient) -> None:
    from loa.domains.seed import run_seed

    await runtime.scheduler.close()
    loaded = await run_seed(runtime.settings, scale="national", fraction=0.01, quiet=True)
    overview = (await client.get("/api/v1/stats/overview")).json()
    assert overview["accounts_total"] == loaded["accounts"] == 17_273
    assert overview["provinces_covered"] == overview["provinces_total"] == 34
    assert overview["communes_covered"] == overview["communes_total"] == 3321
    assert overview["follows_total"] == loaded["follows"]

    # The bulk load wrote no daily counts: the rebuild finds its follows in the raw table.
    await service.rebuild(runtime)
    everything = (await client.get("/api/v1/stats/figures", params={"from": "2010-01-01"})).json()
    async with runtime.read_session() as session:
        assert everything["follows"]["net_new"] == await session.scalar(select(func.count()).select_from(Follow))
    assert everything["follows"]["total"] == loaded["follows"]
    assert len(everything["accounts"]["per_year"]) >= 3 and everything["accounts"]["total"] == 17_273
    areas = (await client.get("/api/v1/stats/tables/areas")).json()["rows"]
    assert all(row["accounts"] > 0 and row["communes_covered"] == row["communes_total"] for row in areas)
