"""Background jobs: a registry of named async handlers and the queues that run them.

A job carries only ids and is idempotent; work that must not be lost is a database row that a
periodic sweep re-kicks, so the broker is never the only copy. Hence a failed job is logged and
counted, never retried by the broker.

Embedded: `MemoryJobQueue` (asyncio tasks of this process). Scaled out: `RedisJobQueue` (taskiq on a
Redis stream with a consumer group: acks, and redelivery of what a dead worker had taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import pkgutil
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from redis.asyncio import Redis
from taskiq import AckableMessage
from taskiq.acks import AcknowledgeType
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from loa.kit.metrics import JOBS_RUN

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

JobHandler = Callable[..., Awaitable[None]]
JOBS: dict[str, JobHandler] = {}


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register `handler(runtime, **kwargs)` under `name`; kwargs must be JSON (ids, not objects)."""

    def register(handler: JobHandler) -> JobHandler:
        if name in JOBS and JOBS[name] is not handler:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = handler
        return handler

    return register


def import_task_modules() -> None:
    """Import every `loa.domains.<name>.tasks`, so a worker knows every job and sweep by name."""
    import loa.domains

    for module in pkgutil.iter_modules(loa.domains.__path__):
        name = f"loa.domains.{module.name}.tasks"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


@dataclass(frozen=True)
class QueueNames:
    """Every Redis key and channel of one installation, in one place.

    The prefix lets several installations (or parallel test runs) share one Redis.
    """

    prefix: str = "loa"

    @property
    def jobs(self) -> str:
        """The stream every job goes through."""
        return f"{self.prefix}:jobs"

    @property
    def jobs_group(self) -> str:
        """The consumer group of the workers: each job goes to one of them."""
        return f"{self.prefix}:workers"

    @property
    def scheduler_lease(self) -> str:
        """Held by the one process that runs the periodic sweeps."""
        return f"{self.prefix}:scheduler"

    @property
    def channel_prefix(self) -> str:
        return f"{self.prefix}:ev:"

    def queues(self) -> list[str]:
        """Every stream a worker must consume."""
        return [self.jobs]


class JobQueue(Protocol):
    async def start(self) -> None: ...
    async def start_consumer(self) -> None: ...
    async def close(self) -> None: ...
    async def enqueue(self, name: str, **kwargs: Any) -> None: ...


def _checked(name: str, kwargs: dict[str, Any]) -> str:
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    try:
        return json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        # Checked in both modes, so a job that works embedded also works on Redis.
        raise TypeError(f"job {name!r}: kwargs must be JSON (pass ids, not objects): {exc}") from exc


async def run_job(runtime: Runtime, name: str, kwargs: dict[str, Any]) -> None:
    """Run one job; a failure is logged and counted, and the row-plus-sweep pattern retries it."""
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(job=name):
        try:
            await JOBS[name](runtime, **kwargs)
        except Exception:
            JOBS_RUN.labels(name, "failed").inc()
            log.exception("job failed", job=name, kwargs=kwargs)
        else:
            JOBS_RUN.labels(name, "ok").inc()
            log.debug("job done", job=name, seconds=round(time.perf_counter() - started, 3))


class MemoryJobQueue:
    """In-process: each job runs as an asyncio task of this process."""

    def __init__(self, runtime: Runtime, *, concurrency: int = 16) -> None:
        self._runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()
        # A sweep may enqueue thousands of batches at once; SQLite has one writer anyway.
        self._slots = asyncio.Semaphore(concurrency)

    async def start(self) -> None:
        return None

    async def start_consumer(self) -> None:
        return None  # jobs already run where they are enqueued

    async def close(self) -> None:
        await self.drain()

    async def drain(self) -> None:
        """Wait for every job, including jobs enqueued by jobs."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        # Handlers get what Redis would give them: the JSON round trip of the kwargs.
        task = asyncio.create_task(self._run(name, json.loads(_checked(name, kwargs))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, kwargs: dict[str, Any]) -> None:
        async with self._slots:
            await run_job(self._runtime, name, kwargs)


class _StreamBroker(RedisStreamBroker):
    """taskiq's stream broker, reclaiming stale deliveries on a timer.

    The stock `listen` looks for deliveries of dead consumers only after new messages arrive, so on
    a quiet queue a crashed worker's jobs would wait for the next enqueue.
    """

    claim_every_seconds = 5.0

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            last_claim = 0.0
            while True:
                fetched = await redis.xreadgroup(
                    self.consumer_group_name, self.consumer_name, {self.queue_name: ">"},
                    block=self.block, count=self.count, noack=False,
                )
                for stream, entries in fetched or ():
                    for entry_id, fields in entries:
                        yield self._ackable(stream, entry_id, fields)
                if time.monotonic() - last_claim >= self.claim_every_seconds:
                    last_claim = time.monotonic()
                    claimed = await redis.xautoclaim(
                        self.queue_name, self.consumer_group_name, self.consumer_name,
                        min_idle_time=self.idle_timeout, count=self.unacknowledged_batch_size,
                    )
                    for entry_id, fields in claimed[1]:
                        if fields:  # trimmed entries come back empty
                            log.warning("job redelivered", entry=entry_id)
                            yield self._ackable(self.queue_name, entry_id, fields)

    def _ackable(self, stream: Any, entry_id: Any, fields: dict[bytes, bytes]) -> AckableMessage:
        return AckableMessage(data=fields[b"data"], ack=self._ack_generator(id=entry_id, queue_name=stream))


class RedisJobQueue:
    """Jobs on a Redis stream; any process may enqueue, workers consume (`start_consumer`)."""

    def __init__(
        self,
        runtime: Runtime,
        url: str,
        names: QueueNames,
        *,
        concurrency: int = 16,
        idle_timeout_seconds: float = 300.0,
        claim_every_seconds: float = 5.0,
        grace_seconds: float = 30.0,
        maxlen: int = 100_000,
    ) -> None:
        self._runtime = runtime
        self._concurrency = concurrency
        self._grace = grace_seconds
        self.broker = _StreamBroker(
            url,
            queue_name=names.jobs,
            consumer_group_name=names.jobs_group,
            # A group created after jobs were added still gets them.
            consumer_id="0",
            # Acked entries stay in a stream; the cap bounds its memory (rows are the durable copy).
            maxlen=maxlen,
            # A job running longer than this is handed to another worker: jobs are idempotent.
            idle_timeout=int(idle_timeout_seconds * 1000),
            xread_count=concurrency,
        )
        self.broker.claim_every_seconds = claim_every_seconds
        self._registered: set[str] = set()
        self._stop = asyncio.Event()
        self._consumer: asyncio.Task[None] | None = None

    def register_jobs(self) -> None:
        """Put every job of the registry on the broker (also those imported after start)."""
        for name in JOBS:
            if name not in self._registered:
                self.broker.register_task(self._bind(name), task_name=name)
                self._registered.add(name)

    def _bind(self, name: str) -> Callable[..., Awaitable[None]]:
        async def run(**kwargs: Any) -> None:
            await run_job(self._runtime, name, kwargs)

        run.__name__ = run.__qualname__ = f"job:{name}"
        return run

    async def start(self) -> None:
        self.register_jobs()
        await self.broker.startup()

    async def start_consumer(self) -> None:
        if self._consumer is not None:
            return
        self.register_jobs()
        self._stop.clear()
        self._consumer = asyncio.create_task(self._consume(), name="loa-job-consumer")

    async def _consume(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            receiver = Receiver(
                self.broker,
                validate_params=False,
                max_async_tasks=self._concurrency,
                run_startup=False,
                ack_type=AcknowledgeType.WHEN_EXECUTED,
                wait_tasks_timeout=self._grace,
            )
            try:
                await receiver.listen(self._stop)
                pause = 0.5
            except Exception:
                # Redis gone for a moment: keep the worker alive and listen again.
                log.exception("job consumer failed; listening again", pause=pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)
                pause = min(pause * 2, 30.0)

    async def close(self) -> None:
        if self._consumer is not None:
            # Stop taking jobs, let the running ones finish (unacked leftovers go to another worker).
            self._stop.set()
            # asyncio.wait, not wait_for: a consumer that swallows its cancellation (a Redis client can,
            # mid-command) must not hang the shutdown.
            done, _ = await asyncio.wait({self._consumer}, timeout=self._grace + 5)
            if not done:
                self._consumer.cancel()
                log.warning("job consumer did not stop in time")
            elif not self._consumer.cancelled() and self._consumer.exception() is not None:
                log.error("job consumer failed", exc_info=self._consumer.exception())
            self._consumer = None
        await self.broker.shutdown()

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        _checked(name, kwargs)
        self.register_jobs()
        await AsyncKicker(task_name=name, broker=self.broker, labels={}).kiq(**kwargs)
