"""Every benchmark runs at its smoke size and prints JSON lines with the fields the design requires."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Options  # noqa: E402

from bench import runner  # noqa: E402

REQUIRED = {"bench", "case", "value", "unit", "baseline", "baseline_what", "ratio", "better"}


def _options() -> Options:
    """SQLite always; on the PostgreSQL test target, that server only (a scratch database is made there)."""
    if os.environ.get("LOA_TEST_TARGET") == "postgresql" and os.environ.get("LOA_TEST_DATABASE_URL"):
        return Options(quick=True, database_url=os.environ["LOA_TEST_DATABASE_URL"], skip_sqlite=True)
    return Options(quick=True, database_url=None, skip_sqlite=False)


def test_the_runner_lists_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main([]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(runner.BENCHMARKS)


def test_an_unknown_benchmark_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


@pytest.mark.parametrize("name", runner.BENCHMARKS)
async def test_benchmark_quick_run_prints_valid_result_lines(name: str, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOA_BENCH_DATABASE_URL", raising=False)
    options = _options()
    await runner.run(name, options)
    out = capsys.readouterr().out
    lines = [json.loads(text) for text in out.splitlines()]
    assert lines, f"{name} printed no result"
    databases = {line["case"]["database"] for line in lines}
    assert databases == {"postgresql" if options.skip_sqlite else "sqlite"}
    for line in lines:
        assert line.keys() >= REQUIRED
        assert line["bench"] == name
        assert line["better"] in ("lower", "higher")
        assert isinstance(line["case"], dict) and line["unit"] and line["baseline_what"]
        assert line["value"] > 0 and line["baseline"] > 0
        assert math.isclose(line["ratio"], line["value"] / line["baseline"], rel_tol=1e-2)
        assert line["p50_ms"] <= line["p99_ms"]
