"""The statistics tests' runtime: without its background sweeps, so that the rollups move only when a test rolls or
rebuilds them."""

from __future__ import annotations

import pytest

from loa.runtime import Runtime


@pytest.fixture
async def quiet(runtime: Runtime) -> Runtime:
    await runtime.scheduler.close()
    return runtime
