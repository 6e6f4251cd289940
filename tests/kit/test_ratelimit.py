"""Rate limits count per name and key, answer with the time to wait, and are shared through Redis when
the runtime has one (LOA_TEST_TARGET=postgresql)."""

from __future__ import annotations

import uuid

import pytest

from loa.kit.errors import TooMany
from loa.kit.ratelimit import RateLimiter, allow, hit
from loa.runtime import Runtime, build_rate_limiter


def _key() -> str:
    return uuid.uuid4().hex


async def test_hits_beyond_the_limit_are_refused_with_retry_after(runtime: Runtime) -> None:
    key = _key()
    for _ in range(3):
        await hit(runtime, "test_login", key, "3/minute")
    with pytest.raises(TooMany) as refusal:
        await hit(runtime, "test_login", key, "3/minute")
    assert refusal.value.status_code == 429
    assert 1 <= refusal.value.retry_after <= 60
    assert "/" in refusal.value.message  # Vietnamese, then English


async def test_names_and_keys_count_separately(runtime: Runtime) -> None:
    key = _key()
    await hit(runtime, "test_a", key, "1/minute")
    await hit(runtime, "test_b", key, "1/minute")
    await hit(runtime, "test_a", _key(), "1/minute")
    assert await allow(runtime, "test_a", key, "1/minute") is False


async def test_clear_and_reset_restore_the_budget(runtime: Runtime) -> None:
    key = _key()
    assert await allow(runtime, "test_c", key, "1/hour")
    assert not await allow(runtime, "test_c", key, "1/hour")
    await runtime.limiter.clear("test_c", key, "1/hour")
    assert await allow(runtime, "test_c", key, "1/hour")
    assert not await allow(runtime, "test_c", key, "1/hour")
    await runtime.limiter.reset()
    assert await allow(runtime, "test_c", key, "1/hour")


async def test_processes_of_one_installation_share_the_counts(runtime: Runtime) -> None:
    # A second limiter built from the same settings: another web process of the same installation.
    other = build_rate_limiter(runtime.settings)
    try:
        key = _key()
        assert await runtime.limiter.allow("test_shared", key, "1/minute")
        shared = runtime.settings.redis_url is not None
        assert await other.allow("test_shared", key, "1/minute") is not shared
    finally:
        await other.close()


async def test_keys_are_not_stored_in_clear() -> None:
    limiter = RateLimiter.memory()
    try:
        await limiter.allow("test_pii", "+84912345678", "5/minute")
        stored = repr(getattr(limiter.storage, "events", {}))
        assert "+84912345678" not in stored and "test_pii" in stored
    finally:
        await limiter.close()
