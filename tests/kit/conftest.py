"""Fixtures of the kit's tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def live_redis_url(redis_url: str | None) -> str:
    """Redis tests run wherever a server is configured; a configured but broken one fails them."""
    url = redis_url or os.environ.get("LOA_TEST_REDIS_URL")
    if not url:
        pytest.skip("LOA_TEST_REDIS_URL is not set")
    return url
