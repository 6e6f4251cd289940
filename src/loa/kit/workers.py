"""Periodic sweeps, the scheduler that runs them, and the `worker` / `scheduler` processes.

A sweep finds database rows whose work is due or stale (a push batch a dead worker left, a webhook
to retry, a report past its deadline) and enqueues jobs for them; it is how nothing is lost when a
broker or a worker is. Exactly one process runs the sweeps: it holds a lease (a Redis key with a
TTL when scaled out); another scheduler waits for the lease instead of running them twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from loa.kit.metrics import JOBS_RUN
from loa.settings import Settings

if TYPE_CHECKING:
    from loa.kit.jobs import QueueNames
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

SweepFn = Callable[["Runtime"], Awaitable[None]]


@dataclass(frozen=True)
class Sweep:
    name: str
    fn: SweepFn
    every_seconds: float | None = None  # None: settings.sweep_interval_seconds
    first_after_seconds: float | None = None  # None: the shorter of the interval and the default one


SWEEPS: dict[str, Sweep] = {}


def sweep(name: str, every_seconds: float | None = None, *,
          first_after_seconds: float | None = None) -> Callable[[SweepFn], SweepFn]:
    """Register `async fn(runtime)` to run every `every_seconds` (default: LOA_SWEEP_INTERVAL_SECONDS), the first
    time `first_after_seconds` after the scheduler starts."""

    def register(fn: SweepFn) -> SweepFn:
        if name in SWEEPS and SWEEPS[name].fn is not fn:
            raise ValueError(f"sweep {name!r} registered twice")
        SWEEPS[name] = Sweep(name, fn, every_seconds, first_after_seconds)
        return fn

    return register


async def run_sweep(runtime: Runtime, item: Sweep) -> None:
    """Run one sweep once; a failure is logged and counted, and the next interval tries again."""
    with structlog.contextvars.bound_contextvars(sweep=item.name):
        try:
            await item.fn(runtime)
        except Exception:
            JOBS_RUN.labels(f"sweep:{item.name}", "failed").inc()
            log.exception("sweep failed", sweep=item.name)
        else:
            JOBS_RUN.labels(f"sweep:{item.name}", "ok").inc()


def reraise_cancellation() -> None:
    """Re-raise a cancellation that redis-py swallowed mid-command (redis/redis-py#2028).

    Without this, a loop around Redis calls can miss its stop and a shutdown waits forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it, without swallowing a cancellation of the caller."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class Lease(Protocol):
    async def acquire(self) -> None: ...  # returns once held
    async def keep(self) -> None: ...  # renews while held; returns if it is lost
    async def release(self) -> None: ...


class LocalLease:
    """One machine, one process running sweeps: nothing to share."""

    async def acquire(self) -> None:
        return None

    async def keep(self) -> None:
        await asyncio.Event().wait()

    async def release(self) -> None:
        return None


# Compare-and-act, so a holder whose key expired never renews or deletes the next holder's key.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisLease:
    """A key with a TTL, renewed by its holder; if the holder dies, the key expires and another takes it."""

    def __init__(self, redis: Redis, key: str, *, ttl_seconds: float = 30.0) -> None:
        self._redis = redis
        self._key = key
        self._ttl_ms = int(ttl_seconds * 1000)
        self._ttl = ttl_seconds
        self._token = uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> None:
        waiting_logged = False
        while True:
            try:
                acquired = await self._redis.set(self._key, self._token, nx=True, px=self._ttl_ms)
            except RedisError:
                reraise_cancellation()
                log.warning("lease: redis unavailable", key=self._key, exc_info=True)
            else:
                reraise_cancellation()  # if held, the caller's `finally` releases it
                if acquired:
                    return
                if not waiting_logged:
                    log.info("lease held elsewhere; waiting", key=self._key)
                    waiting_logged = True
            await asyncio.sleep(min(self._ttl / 3, 2.0))

    async def keep(self) -> None:
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                held = await self._renew(keys=[self._key], args=[self._token, self._ttl_ms])
            except RedisError:
                reraise_cancellation()
                log.warning("lease: renewal failed", key=self._key, exc_info=True)
                # Stop before the key can expire: past the TTL another process may hold it.
                if time.monotonic() - renewed_at + self._ttl / 3 >= self._ttl * 0.9:
                    return
                continue
            reraise_cancellation()
            if not held:
                return
            renewed_at = time.monotonic()

    async def release(self) -> None:
        with contextlib.suppress(RedisError):
            await self._release(keys=[self._key], args=[self._token])


class Scheduler:
    """Runs every sweep on its interval while this process holds the scheduler lease."""

    def __init__(
        self,
        runtime: Runtime,
        lease: Lease,
        sweeps: Mapping[str, Sweep] | None = None,
        *,
        grace_seconds: float = 10.0,
    ) -> None:
        self._runtime = runtime
        self._lease = lease
        self._sweeps = sweeps  # None: the registry as it is at start
        self._grace = grace_seconds
        self._task: asyncio.Task[None] | None = None
        self.holding = False

    async def start(self) -> None:
        if self._task is None:
            # The sweeps as registered now (task modules are imported before the runtime starts).
            sweeps = SWEEPS if self._sweeps is None else self._sweeps
            self._task = asyncio.create_task(self._run(list(sweeps.values())), name="loa-scheduler")

    async def close(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            await stop_task(task)

    async def _run(self, sweeps: list[Sweep]) -> None:
        try:
            while True:
                await self._lease.acquire()
                self.holding = True
                log.info("scheduler running sweeps", sweeps=len(sweeps))
                try:
                    await self._while_held(sweeps)
                finally:
                    self.holding = False
                log.warning("scheduler lease lost; sweeps paused")
        finally:
            await self._lease.release()

    async def _while_held(self, sweeps: list[Sweep]) -> None:
        stop = asyncio.Event()
        loops = [asyncio.create_task(self._loop(item, stop), name=f"sweep:{item.name}") for item in sweeps]
        try:
            await self._lease.keep()
        finally:
            # Let a sweep that is running finish (bounded), then stop the rest.
            stop.set()
            if loops:
                _, late = await asyncio.wait(loops, timeout=self._grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*loops, return_exceptions=True)

    async def _loop(self, item: Sweep, stop: asyncio.Event) -> None:
        default = self._runtime.settings.sweep_interval_seconds
        every = item.every_seconds or default
        # The first run comes soon after start, so a long interval is not postponed by restarts.
        first = item.first_after_seconds if item.first_after_seconds is not None else min(every, default)
        due = time.monotonic() + first
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
            if stop.is_set():
                return
            await run_sweep(self._runtime, item)
            # Fixed rate, skipping the ticks a slow run overlapped.
            due = max(due + every, time.monotonic())


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signals here: the caller stops us
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _serve(runtime: Runtime, role: str, stop: asyncio.Event | None,
                 begin: Callable[[], Awaitable[None]]) -> None:
    own_stop = stop is None
    stop = stop or asyncio.Event()
    with _stop_on_signals(stop) if own_stop else contextlib.nullcontext():
        await runtime.start()
        try:
            await begin()
            if own_stop:  # a process of its own (not a test driving it)
                from loa.runtime import freeze_startup_objects

                freeze_startup_objects()
            log.info("started", role=role)
            await stop.wait()
            log.info("stopping", role=role)
        finally:
            await runtime.close()
    log.info("stopped", role=role)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None,
                     names: QueueNames | None = None) -> None:
    """Run jobs from the shared Redis queue until SIGTERM/SIGINT (or `stop`); running jobs finish first."""
    from loa.kit.logging import configure_logging
    from loa.runtime import Runtime

    if not settings.redis_url:
        raise SystemExit("worker: set LOA_REDIS_URL (without Redis, jobs run inside `./loa run`)")
    configure_logging(settings)
    runtime = Runtime(settings.model_copy(update={"run_worker_in_web": False}), names=names)
    await _serve(runtime, "worker", stop, runtime.jobs.start_consumer)


async def run_scheduler(settings: Settings, *, stop: asyncio.Event | None = None,
                        names: QueueNames | None = None) -> None:
    """Run the sweeps until SIGTERM/SIGINT (or `stop`); with Redis, only while holding the lease."""
    from loa.kit.logging import configure_logging
    from loa.runtime import Runtime

    configure_logging(settings)
    runtime = Runtime(settings.model_copy(update={"run_worker_in_web": False}), names=names)
    await _serve(runtime, "scheduler", stop, runtime.scheduler.start)
