"""Web Push of a broadcast: planning batches for a big account, and the cost of each push sent.

Cases:
- `plan`: recipients planned per second by `push.service.plan_push` (one windowed query writing the
  `PushBatch` rows, commit included) for an account with N followers, each with one device; baseline:
  a raw `SELECT count(*) FROM follows WHERE account_id = …` over the same rows, as rows/s.
- `encode`: per push, our request building (`kit.webpush.build_request`: pywebpush's `WebPusher.encode`
  plus the cached VAPID token and the headers), transport excluded; baseline: the library's bare
  `WebPusher(...).encode(payload)` for the same subscriptions and payload.
- `send_batch`: per recipient, the whole job (`push.service.send_batch`: reading recipients, encrypting,
  POSTing to a local push service in another process, checkpoints) on 1,000 recipients; baseline:
  pywebpush's own async API (`WebPusher.send_async` on one aiohttp session, same concurrency) sending the
  same pushes to the same server with no database at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import (
    Options,
    bench_settings,
    database_name,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "push_plan"
DESCRIPTION = "push planning recipients/s vs a raw count of the follows; per-push cost vs pywebpush's encode"

ACCOUNT = 1
HANOI_WARD = "00004"  # Phường Ba Đình, Hà Nội
HCMC_WARD = "25747"
SEND_ACCOUNT = 2

# A minimal HTTP/1.1 push service answering 201 to every POST, in its own process (its CPU is not ours).
_SERVER = """
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            size = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    size = int(line.split(b":")[1])
            if size:
                await reader.readexactly(size)
            writer.write(b"HTTP/1.1 201 Created\\r\\nContent-Length: 0\\r\\n\\r\\n")
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def _sizes(options: Options) -> tuple[int, int, int]:
    """(followers for planning, planning runs, pushes per send round)."""
    return (20_000, 3, 300) if options.quick else (1_000_000, 3, 1_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    followers, runs, pushes = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                note(f"{NAME}: {database}: loading {followers:,} followers with a device each…")
                await _load(settings, followers)
                for scope in ("all", "province"):
                    yield await _plan_case(settings, database, followers, runs, scope)
                async with _push_server() as base_url:
                    yield await _send_batch_case(settings, database, base_url, pushes)
                yield _encode_case(pushes, database)


# ---- planning --------------------------------------------------------------------------------------


async def _load(settings: Any, followers: int) -> None:
    from loa.db.bulk import bulk_insert
    from loa.domains.accounts.models import Account
    from loa.domains.follows.models import Follow
    from loa.domains.people.models import User
    from loa.domains.push.models import PushSubscription
    from loa.runtime import Runtime

    now = datetime.now(UTC)
    followed = now - timedelta(days=1)
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await bulk_insert(session, Account.__table__, (
                {"id": i, "handle": f"bench-{i}", "name": f"Bộ Y tế {i}", "search_text": f"bo y te {i}",
                 "kind": "ministry", "description": "", "contacts": {}, "office_hours": [], "province_code": "01",
                 "commune_code": None, "verification_status": "verified", "verified_at": now,
                 "follower_count": 0, "created_at": now, "updated_at": now} for i in (ACCOUNT, SEND_ACCOUNT)))
            # Half the followers live in Hà Nội: the province case plans half of them.
            await bulk_insert(session, User.__table__, (
                (i, f"+849{i:08d}", f"N {i}", HANOI_WARD if i % 2 else HCMC_WARD, False, "vi", now)
                for i in range(1, followers + 1)),
                columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale", "created_at"])
            await bulk_insert(session, Follow.__table__, (
                (ACCOUNT, i, None, followed, 0, True) for i in range(1, followers + 1)),
                columns=["account_id", "user_id", "commune_code", "created_at", "last_read_broadcast_id",
                         "push_enabled"])
            await bulk_insert(session, PushSubscription.__table__, (
                (i, f"https://push.example.net/{i}", "k", "a", now, 0) for i in range(1, followers + 1)),
                columns=["user_id", "endpoint", "p256dh", "auth", "created_at", "failures"])
            await session.commit()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()


async def _broadcast(session: Any, account_id: int, **targeting: Any) -> Any:
    from loa.domains.broadcasts.models import Broadcast

    broadcast = Broadcast(account_id=account_id, kind="notice", status="published", title="Lịch tiêm chủng",
                          body_source="", body_html="", attachments=[], target_all=not targeting,
                          target_provinces=targeting.get("provinces", []), target_communes=[], target_tags=[],
                          published_at=datetime.now(UTC))
    session.add(broadcast)
    await session.commit()
    return broadcast


async def _plan_case(settings: Any, database: str, followers: int, runs: int, scope: str) -> dict[str, Any]:
    from loa.domains.push import service
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        seconds, planned = [], 0
        for _ in range(runs):
            async with runtime.session() as session:
                broadcast = await _broadcast(session, ACCOUNT, **({"provinces": ["01"]} if scope == "province"
                                                                  else {}))
                started = time.perf_counter()
                planned = await service.plan_push(session, broadcast)
                await session.commit()  # not effects.commit: the batches' jobs are not run here
                seconds.append(time.perf_counter() - started)
                session.info.pop("pending_effects", None)
        baseline_seconds = []
        for _ in range(runs):
            async with runtime.read_session() as session:
                started = time.perf_counter()
                counted = await session.scalar(text("SELECT count(*) FROM follows WHERE account_id = :a"),
                                               {"a": ACCOUNT})
                baseline_seconds.append(time.perf_counter() - started)
    finally:
        await runtime.close()
    note(f"{NAME}: {database}, plan {scope}: {planned:,} recipients in {statistics.median(seconds):.2f} s")
    median = statistics.median(seconds)
    return result(
        NAME, {"database": database, "step": "plan", "target": scope, "followers": followers,
               "recipients": planned, "batch_size": service.BATCH_SIZE},
        value=planned / median, unit="recipients planned/s",
        baseline=(counted or 0) / statistics.median(baseline_seconds),
        baseline_what="rows/s of a raw SELECT count(*) FROM follows WHERE account_id = … (same rows, same engine)",
        better="higher",
        p50_ms=round(percentile(seconds, 50) * 1000, 2), p99_ms=round(percentile(seconds, 99) * 1000, 2),
        runs=runs,
    )


# ---- sending ---------------------------------------------------------------------------------------


class _Sub:
    def __init__(self, endpoint: str) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        from loa.kit.webpush import b64url

        point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.endpoint, self.p256dh, self.auth = endpoint, b64url(point), b64url(os.urandom(16))

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def _payload() -> bytes:
    return json.dumps({"type": "broadcast", "broadcast_id": "123456", "account_id": "42",
                       "account_name": "Sở Y tế Hà Nội", "title": "Lịch tiêm chủng mở rộng tháng 7 tại các phường",
                       "kind": "notice", "url": "/broadcasts/123456", "tag": "broadcast-123456"},
                      ensure_ascii=False, separators=(",", ":")).encode()


def _encode_case(pushes: int, database: str) -> dict[str, Any]:
    from pywebpush import WebPusher

    from loa.kit import webpush
    from loa.settings import Settings

    with tempfile.TemporaryDirectory(prefix="loa-bench-vapid-") as data_dir:
        key = webpush.vapid_key(Settings(data_dir=Path(data_dir), env="test"))
    subs = [_Sub(f"https://fcm.googleapis.com/fcm/send/{i}") for i in range(pushes)]
    payload = _payload()
    ours, bare = [], []
    for _ in range(7):  # alternating rounds, so drift in the machine's speed hits both
        started = time.process_time()
        for sub in subs:
            webpush.build_request(sub, payload, key=key, ttl=86_400, topic="broadcast-123456")
        ours.append((time.process_time() - started) / pushes)
        started = time.process_time()
        for sub in subs:
            WebPusher(sub.info()).encode(payload, "aes128gcm")
        bare.append((time.process_time() - started) / pushes)
    note(f"{NAME}: encode: ours {statistics.median(ours) * 1e6:.1f} µs, bare {statistics.median(bare) * 1e6:.1f} µs")
    return result(
        NAME, {"database": database, "step": "encode", "pushes": pushes, "payload_bytes": len(payload)},
        value=statistics.median(ours) * 1e6, unit="µs CPU per push (build_request, no transport)",
        baseline=statistics.median(bare) * 1e6,
        baseline_what="µs CPU per push of pywebpush WebPusher(subscription).encode(payload) (aes128gcm)",
        better="lower",
        p50_ms=round(percentile(ours, 50) * 1000, 4), p99_ms=round(percentile(ours, 99) * 1000, 4),
    )


class _push_server:
    async def __aenter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self.process = await asyncio.create_subprocess_exec(sys.executable, "-c", _SERVER, str(port),
                                                            stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        await self.process.stdout.readline()
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        self.process.terminate()
        await self.process.wait()


async def _send_batch_case(settings: Any, database: str, base_url: str, pushes: int) -> dict[str, Any]:
    import aiohttp
    from pywebpush import WebPusher
    from sqlalchemy import delete, insert

    from loa.domains.follows.models import Follow
    from loa.domains.push import service
    from loa.domains.push.models import PushSubscription
    from loa.kit import webpush
    from loa.runtime import Runtime

    settings = settings.model_copy(update={"push_limit_global": "1000000/second",
                                           "push_limit_per_account": "1000000/second"})
    runtime = Runtime(settings)
    subs = [_Sub(f"{base_url}/push/{i}") for i in range(pushes)]
    payload = _payload()
    key = webpush.vapid_key(settings)
    followed = datetime.now(UTC) - timedelta(days=1)
    ours, bare = [], []
    try:
        async with runtime.session() as session:
            await session.execute(insert(Follow), [
                {"account_id": SEND_ACCOUNT, "user_id": i + 1, "commune_code": None, "created_at": followed,
                 "last_read_broadcast_id": 0, "push_enabled": True} for i in range(pushes)])
            await session.commit()
        connector_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        slots = asyncio.Semaphore(settings.push_concurrency)

        async def bare_one(sub: _Sub) -> None:
            async with slots:
                headers = {"Authorization": webpush.authorization(key, sub.endpoint), "Urgency": "normal",
                           "Topic": "broadcast-1"}
                response = await WebPusher(sub.info(), aiohttp_session=connector_session).send_async(
                    payload, headers, ttl=86_400)
                assert response.status == 201

        for _ in range(3):
            # Ours: a fresh subscription set (the 1M-follower load took ids 1..N), one batch, the whole job.
            async with runtime.session() as session:
                await session.execute(delete(PushSubscription).where(PushSubscription.user_id <= pushes))
                await session.execute(insert(PushSubscription), [
                    {"user_id": i + 1, "endpoint": sub.endpoint, "p256dh": sub.p256dh, "auth": sub.auth,
                     "created_at": followed, "failures": 0} for i, sub in enumerate(subs)])
                broadcast = await _broadcast(session, SEND_ACCOUNT)
                await service.plan_push(session, broadcast)
                await session.commit()
                session.info.pop("pending_effects", None)
                batch_ids = list(await session.scalars(text("SELECT id FROM push_batches WHERE broadcast_id = :b"),
                                                       {"b": broadcast.id}))
            started = time.perf_counter()
            for batch_id in batch_ids:
                await service.send_batch(runtime, batch_id)
            ours.append((time.perf_counter() - started) / pushes)
            async with runtime.read_session() as session:
                sent = await session.scalar(text("SELECT sum(sent) FROM push_batches WHERE broadcast_id = :b"),
                                            {"b": broadcast.id})
            assert sent == pushes, f"sent {sent} of {pushes}"
            started = time.perf_counter()
            await asyncio.gather(*(bare_one(sub) for sub in subs))
            bare.append((time.perf_counter() - started) / pushes)
        await connector_session.close()
    finally:
        await webpush.close()
        await runtime.close()
    note(f"{NAME}: {database}, send_batch: ours {statistics.median(ours) * 1e6:.0f} µs/recipient, "
         f"pywebpush async {statistics.median(bare) * 1e6:.0f} µs/push")
    return result(
        NAME, {"database": database, "step": "send_batch", "recipients": pushes,
               "concurrency": settings.push_concurrency, "checkpoint_every": settings.push_checkpoint_every},
        value=statistics.median(ours) * 1e6, unit="µs wall per recipient (send_batch to a local push service)",
        baseline=statistics.median(bare) * 1e6,
        baseline_what="µs wall per push of pywebpush WebPusher.send_async (one aiohttp session, same concurrency, "
                      "same server, no database)",
        better="lower",
        p50_ms=round(percentile(ours, 50) * 1000, 4), p99_ms=round(percentile(ours, 99) * 1000, 4),
    )
