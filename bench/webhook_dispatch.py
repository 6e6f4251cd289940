"""Webhook deliveries sent per second by the dispatcher (`integrations.webhooks.deliver_due`: claim with a lease,
sign per Standard Webhooks, POST, record the attempt) to a local receiver, against a bare loop of HTTP POSTs of
the same bodies with the same client library (httpx, same concurrency) to the same receiver. Target: ≥ 0.7×.

Data: one account, one endpoint, N pending deliveries (`--quick`: 1,000; full: 20,000) of 1,000 conversations
(order kept per conversation: at most one of a conversation in flight). The receiver is a minimal asyncio
HTTP/1.1 server answering 200, in the same process as both senders. `p50_ms` / `p99_ms`: how long after the
dispatcher started (every delivery due) half of them, and 99%, had reached the receiver.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    Options,
    bench_settings,
    database_name,
    load_people,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "webhook_dispatch"
DESCRIPTION = "webhook deliveries/s to a local receiver vs a bare loop of httpx POSTs to it (target ≥ 0.7×)"
CONVERSATIONS = 1_000


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    count = 1_000 if options.quick else 20_000
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                await load_people(settings, users=1, accounts=1)
                server, port, hits, arrivals = await _receiver()
                try:
                    receiver = f"http://127.0.0.1:{port}/hook"
                    note(f"{NAME}: {database}: {count:,} deliveries…")
                    arrivals.clear()
                    rate, started = await _dispatch_rate(settings, receiver, count)
                    # When the queued deliveries arrived, from the moment all were due: half of them, 99%.
                    waited = [(arrived - started) * 1000 for arrived in arrivals]
                    note(f"{NAME}: {database}: {count:,} bare POSTs…")
                    baseline = await _bare_rate(receiver, count)
                finally:
                    server.close()
                yield result(NAME, {"database": database, "deliveries": count, "conversations": CONVERSATIONS,
                                    "concurrency": _concurrency()},
                             value=rate, unit="deliveries/s", baseline=baseline,
                             baseline_what="bare httpx POSTs/s of the same bodies, same concurrency, same receiver",
                             better="higher", received=hits[0], p50_ms=round(percentile(waited, 50), 1),
                             p99_ms=round(percentile(waited, 99), 1))


def _concurrency() -> int:
    from loa.domains.integrations import webhooks

    return webhooks.CONCURRENCY


def _payload(n: int) -> dict[str, Any]:
    return {"id": f"evt_{n:032d}", "type": "message.received", "created_at": datetime.now(UTC).isoformat(),
            "account_id": "1", "data": {"conversation_id": str(n % CONVERSATIONS), "user_id": "1",
                                        "message": {"id": str(n), "kind": "text",
                                                    "text": "Xin chào, cho hỏi thủ tục cấp đổi giấy phép lái xe?"}}}


async def _dispatch_rate(settings: Any, receiver: str, count: int) -> tuple[float, float]:
    """(deliveries per second, the perf_counter moment the dispatcher started)."""
    from sqlalchemy import insert

    from loa.domains.integrations import webhooks
    from loa.domains.integrations.models import WebhookDelivery, WebhookEndpoint
    from loa.runtime import Runtime

    runtime = Runtime(settings)  # not started: no sweep competes with the measured loop
    try:
        async with runtime.session() as session:
            endpoint = WebhookEndpoint(account_id=1, url=receiver, secret=webhooks.new_secret(),
                                       events=list(webhooks.EVENT_TYPES), description="", enabled=True,
                                       consecutive_failures=0)
            session.add(endpoint)
            await session.flush()
            now = datetime.now(UTC)
            await session.execute(insert(WebhookDelivery.__table__), [
                {"endpoint_id": endpoint.id, "event_id": f"evt_{n:032d}", "event_type": "message.received",
                 "payload": _payload(n), "order_key": f"conversation:{n % CONVERSATIONS}", "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "created_at": now} for n in range(count)])
            await session.commit()
        started = time.perf_counter()
        sent = await webhooks.deliver_due(runtime)
        elapsed = time.perf_counter() - started
        if sent != count:
            raise RuntimeError(f"sent {sent} of {count}")
        return count / elapsed, started
    finally:
        await runtime.close()


async def _bare_rate(receiver: str, count: int) -> float:
    import httpx

    from loa.domains.integrations import webhooks

    bodies = [json.dumps(_payload(n), separators=(",", ":")).encode() for n in range(count)]
    slots = asyncio.Semaphore(webhooks.CONCURRENCY)
    async with httpx.AsyncClient(timeout=webhooks.TIMEOUT_SECONDS,
                                 limits=httpx.Limits(max_connections=64, max_keepalive_connections=32)) as client:

        async def one(body: bytes) -> None:
            async with slots:
                response = await client.post(receiver, content=body, headers={"content-type": "application/json"})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(body) for body in bodies))
        return count / (time.perf_counter() - started)


async def _receiver() -> tuple[asyncio.Server, int, list[int], list[float]]:
    """A minimal keep-alive HTTP/1.1 server answering 200 to every POST (it must cost far less than what it
    measures)."""
    hits = [0]
    arrivals: list[float] = []  # perf_counter() of each POST received

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = 0
                line = await reader.readline()
                if not line:
                    return
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                hits[0] += 1
                arrivals.append(time.perf_counter())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port, hits, arrivals
