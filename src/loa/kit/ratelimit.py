"""Rate limits (login, one-time codes, messages, reports) over the `limits` library.

One moving-window limiter per process, in memory when embedded and in Redis when scaled out (so
every web process counts against the same budget). Keys are hashed: phone numbers and e-mail
addresses never sit in Redis in clear.
"""

from __future__ import annotations

import hashlib
import math
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from loa.kit.errors import TooMany

if TYPE_CHECKING:
    from loa.runtime import Runtime


@lru_cache(maxsize=256)
def parse_limit(limit: str) -> RateLimitItem:
    """"5/minute", "10/15minutes", "100/hour" (the `limits` notation)."""
    return parse(limit)


def _key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def too_many_message(retry_after: int) -> str:
    return (f"Bạn đã thử quá nhiều lần, vui lòng thử lại sau {retry_after} giây. / "
            f"Too many attempts, please try again in {retry_after} seconds.")


class RateLimiter:
    def __init__(self, storage: Storage, *, closer: Any = None) -> None:
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._closer = closer

    @classmethod
    def memory(cls) -> RateLimiter:
        return cls(MemoryStorage())

    @classmethod
    def redis(cls, url: str, *, secret: str) -> RateLimiter:
        """Keys are prefixed by a tag derived from the installation's secret: every process of one
        installation shares it, while other installations (and test runs) on the same Redis do not."""
        from redis.asyncio import ConnectionPool

        namespace = hashlib.sha256(f"loa-ratelimit:{secret}".encode()).hexdigest()[:12]
        # Our own pool, so that closing the runtime closes its connections.
        pool = ConnectionPool.from_url(url)
        storage = RedisStorage(f"async+{url}", implementation="redispy", key_prefix=f"loa:rl:{namespace}",
                               connection_pool=pool)
        return cls(storage, closer=pool)

    async def allow(self, name: str, key: str, limit: str, *, cost: int = 1) -> bool:
        """Count one hit of `key` against the limit called `name`; False once the budget is spent."""
        return await self._strategy.hit(parse_limit(limit), name, _key(key), cost=cost)

    async def retry_after(self, name: str, key: str, limit: str) -> int:
        """Seconds until the next hit would be allowed (at least 1)."""
        stats = await self._strategy.get_window_stats(parse_limit(limit), name, _key(key))
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit(self, name: str, key: str, limit: str, *, cost: int = 1) -> None:
        if not await self.allow(name, key, limit, cost=cost):
            seconds = await self.retry_after(name, key, limit)
            raise TooMany(too_many_message(seconds), retry_after=seconds)

    async def clear(self, name: str, key: str, limit: str) -> None:
        await self._strategy.clear(parse_limit(limit), name, _key(key))

    async def reset(self) -> None:
        """Forget every count of this installation (tests; an operator lifting a lock-out)."""
        await self.storage.reset()

    async def close(self) -> None:
        timer = getattr(self.storage, "timer", None)  # the memory storage's expiry task
        if timer is not None and not timer.done():
            timer.cancel()
        if self._closer is not None:
            await self._closer.aclose()


async def hit(runtime: Runtime, name: str, key: str, limit: str, *, cost: int = 1) -> None:
    """Count a hit; raises TooMany (429 with Retry-After) once `key` has used up `limit` for `name`."""
    await runtime.limiter.hit(name, key, limit, cost=cost)


async def allow(runtime: Runtime, name: str, key: str, limit: str, *, cost: int = 1) -> bool:
    """As `hit`, but answers False instead of raising."""
    return await runtime.limiter.allow(name, key, limit, cost=cost)
