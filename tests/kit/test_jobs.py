"""Background jobs (in memory and on Redis), workers, and the periodic sweeps with their scheduler."""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import text
from structlog.testing import capture_logs

from loa.kit.effects import commit, enqueue_after_commit
from loa.kit.jobs import JOBS, QueueNames, RedisJobQueue, import_task_modules, job
from loa.kit.workers import SWEEPS, LocalLease, RedisLease, Scheduler, Sweep, run_scheduler, run_worker
from loa.runtime import Runtime
from loa.settings import Settings

# What the test jobs did, by a token unique to each test: (kwargs, the runtime that ran the job).
DONE: dict[str, list[tuple[dict[str, Any], Runtime]]] = {}


@job("test.kit.record")
async def record(runtime: Runtime, token: str, **kwargs: Any) -> None:
    DONE.setdefault(token, []).append(({"token": token, **kwargs}, runtime))


@job("test.kit.fail")
async def fail(runtime: Runtime, token: str) -> None:
    raise RuntimeError(f"job failed on purpose ({token})")


@job("test.kit.slow")
async def slow(runtime: Runtime, token: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    DONE.setdefault(token, []).append(({"token": token}, runtime))


def new_token() -> str:
    return uuid.uuid4().hex


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def jobs_total(name: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("loa_jobs_total", {"job": name, "outcome": outcome}) or 0.0


@pytest.fixture
async def names(redis_url: str | None) -> AsyncIterator[QueueNames]:
    """Keys of our own, so parallel test runs sharing the Redis never take each other's jobs."""
    names = QueueNames(prefix=f"loa-test-{uuid.uuid4().hex[:12]}")
    yield names
    url = redis_url or os.environ.get("LOA_TEST_REDIS_URL")
    if url:
        client = Redis.from_url(url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{names.prefix}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture
def redis_settings(settings: Settings, live_redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": live_redis_url, "run_worker_in_web": False})


@pytest.fixture
async def redis_client(live_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(live_redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def web(redis_settings: Settings, names: QueueNames, redis_client: Redis, reference_data: None,
              ) -> AsyncIterator[Runtime]:
    """A scaled-out web process: enqueues on Redis, runs no jobs itself."""
    runtime = Runtime(redis_settings, names=names)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture(params=["memory", "redis"])
async def job_runtime(request: pytest.FixtureRequest, settings: Settings, names: QueueNames,
                      reference_data: None) -> AsyncIterator[Runtime]:
    """A process that enqueues and runs jobs: embedded, or with Redis consuming in-process (`./loa run`)."""
    if request.param == "redis":
        settings = settings.model_copy(update={"redis_url": request.getfixturevalue("live_redis_url"),
                                                "run_worker_in_web": True})
    runtime = Runtime(settings, names=names)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


# --- enqueue after commit -------------------------------------------------------------------------

async def test_a_job_enqueued_after_commit_runs(job_runtime: Runtime) -> None:
    token = new_token()
    async with job_runtime.session() as session:
        await session.execute(text("SELECT 1"))
        enqueue_after_commit(session, "test.kit.record", token=token, ids=["1", "2"])
        await commit(session)
    await eventually(lambda: token in DONE)
    [(kwargs, ran_by)] = DONE[token]
    assert kwargs == {"token": token, "ids": ["1", "2"]}
    assert ran_by is job_runtime


async def test_a_rolled_back_transaction_enqueues_nothing(job_runtime: Runtime) -> None:
    dropped, kept = new_token(), new_token()
    async with job_runtime.session() as session:
        await session.execute(text("SELECT 1"))
        enqueue_after_commit(session, "test.kit.record", token=dropped)
        await session.rollback()
    with pytest.raises(RuntimeError):
        async with job_runtime.session() as session:
            await session.execute(text("SELECT 1"))
            enqueue_after_commit(session, "test.kit.record", token=dropped)
            raise RuntimeError("the service failed before commit")
    # A later job that did commit has run, so the dropped ones would have by now.
    async with job_runtime.session() as session:
        await session.execute(text("SELECT 1"))
        enqueue_after_commit(session, "test.kit.record", token=kept)
        await commit(session)
    await eventually(lambda: kept in DONE)
    assert dropped not in DONE


async def test_a_failing_job_is_logged_and_counted_and_others_still_run(job_runtime: Runtime) -> None:
    token = new_token()
    failed_before = jobs_total("test.kit.fail", "failed")
    with capture_logs() as logs:
        await job_runtime.jobs.enqueue("test.kit.fail", token=token)
        await job_runtime.jobs.enqueue("test.kit.record", token=token)
        await eventually(lambda: token in DONE and jobs_total("test.kit.fail", "failed") == failed_before + 1)
    assert any(entry["event"] == "job failed" and entry.get("job") == "test.kit.fail" for entry in logs)


async def test_job_kwargs_must_be_json_and_names_known(job_runtime: Runtime) -> None:
    with pytest.raises(TypeError, match="JSON"):
        await job_runtime.jobs.enqueue("test.kit.record", token=new_token(), account=uuid.uuid4())
    with pytest.raises(KeyError):
        await job_runtime.jobs.enqueue("test.kit.no-such-job", token=new_token())


# --- the Redis queue across processes -------------------------------------------------------------

async def test_run_worker_runs_jobs_enqueued_by_a_web_process(web: Runtime, redis_settings: Settings,
                                                              names: QueueNames) -> None:
    token = new_token()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(redis_settings, stop=stop, names=names))
    try:
        await web.jobs.enqueue("test.kit.record", token=token, n=1)
        await eventually(lambda: token in DONE)
        [(kwargs, ran_by)] = DONE[token]
        assert kwargs == {"token": token, "n": 1}
        assert ran_by is not web  # the worker's own runtime
    finally:
        stop.set()
        await asyncio.wait_for(worker, 90)  # its blocking read of the stream ends within its timeout


async def test_a_stopping_worker_finishes_its_running_job(web: Runtime, redis_settings: Settings,
                                                          names: QueueNames, redis_client: Redis) -> None:
    token = new_token()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(redis_settings, stop=stop, names=names))
    await web.jobs.enqueue("test.kit.slow", token=token, seconds=0.5)
    for _ in range(500):  # until the worker has taken the job (delivered, not yet acked)
        if (await redis_client.xpending(names.jobs, names.jobs_group))["pending"] == 1:
            break
        await asyncio.sleep(0.01)
    assert token not in DONE
    stop.set()
    await asyncio.wait_for(worker, 30)
    assert token in DONE
    pending = await redis_client.xpending(names.jobs, names.jobs_group)
    assert pending["pending"] == 0  # acked: no other worker will run it again


async def test_jobs_a_dead_worker_took_are_redelivered(runtime: Runtime, live_redis_url: str,
                                                       names: QueueNames, redis_client: Redis) -> None:
    token = new_token()
    queue = RedisJobQueue(runtime, live_redis_url, names, idle_timeout_seconds=0.2, claim_every_seconds=0.1)
    await queue.start()
    try:
        await queue.enqueue("test.kit.record", token=token)
        # A worker reads the job and dies before acknowledging it.
        taken = await redis_client.xreadgroup(names.jobs_group, "dead-worker", {names.jobs: ">"}, count=10)
        assert len(taken[0][1]) == 1
        await queue.start_consumer()
        await eventually(lambda: token in DONE)
    finally:
        await queue.close()
    pending = await redis_client.xpending(names.jobs, names.jobs_group)
    assert pending["pending"] == 0


def test_every_job_has_a_consumer() -> None:
    """Every job a domain registers can be run by a worker, and every queue is consumed."""
    import_task_modules()
    names = QueueNames()
    queue = RedisJobQueue(None, "redis://127.0.0.1:1/0", names)  # type: ignore[arg-type]  # never connects
    queue.register_jobs()
    assert JOBS
    for name, handler in JOBS.items():
        assert queue.broker.find_task(name) is not None, name
        assert inspect.iscoroutinefunction(handler), name
        first = next(iter(inspect.signature(handler).parameters.values()))
        assert first.name == "runtime", f"{name}: handlers are called as handler(runtime, **kwargs)"
    consumed = {queue.broker.queue_name, *queue.broker.additional_streams}
    assert set(names.queues()) == consumed


# --- sweeps and the scheduler ---------------------------------------------------------------------

def counting_sweep(runs: list[Any], *, fail_on: frozenset[int] = frozenset()) -> Callable[[Runtime], Any]:
    async def run(runtime: Runtime) -> None:
        runs.append(runtime)
        if len(runs) in fail_on:
            raise RuntimeError("sweep failed on purpose")

    return run


async def test_sweeps_run_on_their_interval_and_survive_an_exception(runtime: Runtime) -> None:
    fast: list[Any] = []
    flaky: list[Any] = []
    slow: list[Any] = []
    sweeps = {
        "fast": Sweep("test.fast", counting_sweep(fast), every_seconds=0.05),
        "flaky": Sweep("test.flaky", counting_sweep(flaky, fail_on=frozenset({1, 3})), every_seconds=0.05),
        "slow": Sweep("test.slow", counting_sweep(slow), every_seconds=60),
    }
    failed_before = jobs_total("sweep:test.flaky", "failed")
    scheduler = Scheduler(runtime, LocalLease(), sweeps)
    with capture_logs() as logs:
        await scheduler.start()
        try:
            await eventually(lambda: len(fast) >= 5 and len(flaky) >= 5, within=5)
        finally:
            await scheduler.close()
    assert jobs_total("sweep:test.flaky", "failed") == failed_before + 2
    assert any(entry["event"] == "sweep failed" and entry.get("sweep") == "test.flaky" for entry in logs)
    assert slow == []  # its first run is LOA_SWEEP_INTERVAL_SECONDS after start
    assert all(ran_with is runtime for ran_with in fast)
    stopped_at = len(fast)
    await asyncio.sleep(0.2)
    assert len(fast) == stopped_at  # closed means stopped


async def test_embedded_runtime_runs_the_sweeps_and_stops_them_on_close(
    settings: Settings, reference_data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[Any] = []
    monkeypatch.setitem(SWEEPS, "test.embedded", Sweep("test.embedded", counting_sweep(runs)))
    runtime = Runtime(settings.model_copy(update={"sweep_interval_seconds": 0.05}))
    assert runtime.settings.embedded_worker
    await runtime.start()
    try:
        await eventually(lambda: len(runs) >= 3)
    finally:
        await runtime.close()
    stopped_at = len(runs)
    await asyncio.sleep(0.2)
    assert len(runs) == stopped_at


async def test_only_one_scheduler_runs_the_sweeps(redis_settings: Settings, names: QueueNames,
                                                  redis_client: Redis, reference_data: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[Runtime] = []
    monkeypatch.setitem(SWEEPS, "test.single", Sweep("test.single", counting_sweep(runs)))
    quick = redis_settings.model_copy(update={"sweep_interval_seconds": 0.05})
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(run_scheduler(quick, stop=first_stop, names=names))
    try:
        await eventually(lambda: len(runs) >= 3)
        second = asyncio.create_task(run_scheduler(quick, stop=second_stop, names=names))
        try:
            await asyncio.sleep(0.5)
            assert len(set(map(id, runs))) == 1  # the second one waits for the lease
            holder = runs[0]
            first_stop.set()
            await asyncio.wait_for(first, 30)
            # The lease was released: the waiting scheduler takes over.
            await eventually(lambda: runs[-1] is not holder)
        finally:
            second_stop.set()
            await asyncio.wait_for(second, 30)
    finally:
        first_stop.set()
        await asyncio.wait_for(first, 30)
    assert len(set(map(id, runs))) == 2
    assert await redis_client.exists(names.scheduler_lease) == 0


async def test_a_scheduler_that_loses_its_lease_stops_sweeping(runtime: Runtime, redis_client: Redis,
                                                               names: QueueNames) -> None:
    runs: list[Any] = []
    lease = RedisLease(redis_client, names.scheduler_lease, ttl_seconds=0.3)
    scheduler = Scheduler(runtime, lease, {"s": Sweep("test.lease", counting_sweep(runs), every_seconds=0.02)})
    await scheduler.start()
    try:
        await eventually(lambda: len(runs) >= 2)
        # Another process took the lease (say this one was paused longer than the TTL).
        await redis_client.set(names.scheduler_lease, "someone-else", px=60_000)
        await eventually(lambda: not scheduler.holding, within=5)
        paused_at = len(runs)
        await asyncio.sleep(0.3)
        assert len(runs) == paused_at
        # It waits, and comes back once the lease is free again.
        await redis_client.delete(names.scheduler_lease)
        await eventually(lambda: len(runs) > paused_at, within=5)
    finally:
        await scheduler.close()


async def test_a_scheduler_closes_whenever_it_is_stopped(runtime: Runtime, redis_client: Redis,
                                                         names: QueueNames) -> None:
    """Closing never hangs, even when the stop lands in the middle of a Redis command."""
    for ticks in range(40):
        lease = RedisLease(redis_client, names.scheduler_lease, ttl_seconds=5)
        scheduler = Scheduler(runtime, lease, {})
        await scheduler.start()
        for _ in range(ticks):
            await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(scheduler.close(), 5)
        assert asyncio.get_running_loop().time() - started < 1, f"close hung (stopped after {ticks} ticks)"
        assert await redis_client.exists(names.scheduler_lease) == 0
