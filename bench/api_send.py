"""p99 of the native Open API's send-message call (`POST /api/v1/oa/conversations/{id}/messages` with a Bearer
token and an Idempotency-Key) through a real HTTP server (uvicorn, one process) at a fixed offered rate of
200 requests/s, against the same server's `/healthz` at the same rate. Target: p99 ≤ 50 ms.

Data: one account with an app, 2,000 citizens who each wrote to it once (the conversations answered).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator
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
from bench.message_ingest import OFFERED_PER_SECOND, offered_against_health

NAME = "api_send"
DESCRIPTION = "p99 of the Open API send-message call at 200 req/s over HTTP vs /healthz at the same rate"
CITIZENS = 2_000
TARGET_P99_MS = 50.0


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    seconds = 2.0 if options.quick else 20.0
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                await load_people(settings, users=CITIZENS + 1, accounts=1)
                note(f"{NAME}: {database}: {CITIZENS:,} conversations and an app…")
                token, conversation_ids = await _setup(settings)
                note(f"{NAME}: {database}: POST at {OFFERED_PER_SECOND}/s for {seconds:.0f} s over HTTP…")
                post, health = await _latencies(settings, token, conversation_ids, seconds)
                yield result(
                    NAME, {"database": database, "offered_per_second": OFFERED_PER_SECOND,
                           "requests": len(post.latencies), "server": "uvicorn, 1 process"},
                    value=percentile(post.latencies, 99) * 1000, unit="ms (p99 of POST send)",
                    baseline=percentile(health.latencies, 99) * 1000,
                    baseline_what=f"p99 ms of GET /healthz (one SELECT 1) at {OFFERED_PER_SECOND}/s, same server",
                    better="lower", target_ms=TARGET_P99_MS,
                    p50_ms=round(percentile(post.latencies, 50) * 1000, 3),
                    p99_ms=round(percentile(post.latencies, 99) * 1000, 3),
                    errors=post.errors, achieved_per_second=round(post.achieved, 1),
                    server_cpu_ms_per_call=post.cpu_ms_per_request(),
                    baseline_server_cpu_ms_per_call=health.cpu_ms_per_request())


async def _setup(settings: Any) -> tuple[str, list[int]]:
    from sqlalchemy import select

    from loa.domains.accounts import service as accounts
    from loa.domains.conversations import service as conversations
    from loa.domains.conversations.content import Content
    from loa.domains.conversations.models import Conversation
    from loa.domains.integrations import service
    from loa.domains.people.models import User
    from loa.kit.effects import commit
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        owner_id = CITIZENS + 1
        async with runtime.session() as session:
            await accounts.add_member(session, account_id=1, user_id=owner_id, role="owner")
            owner = await session.get(User, owner_id)
            assert owner is not None
            app, secret = await service.create_app(session, account_id=1, actor=owner, name="Bench",
                                                   scopes=["messages"])
            await commit(session)
        async with runtime.session() as session:
            tokens = await service.grant_client_credentials(session, client_id=app.client_id, client_secret=secret)
            await commit(session)
        async with runtime.read_session() as session:
            citizens = list(await session.scalars(select(User).where(User.id <= CITIZENS)))
        for citizen in citizens:
            await conversations.send_as_citizen(runtime, citizen=citizen, account_id=1,
                                                content=Content(kind="text", text="Xin hỏi giờ làm việc?"))
        async with runtime.read_session() as session:
            ids = list(await session.scalars(select(Conversation.id).where(Conversation.account_id == 1)))
        return tokens.access_token, ids
    finally:
        await runtime.close()


async def _latencies(settings: Any, token: str, conversation_ids: list[int], seconds: float) -> tuple[Any, Any]:
    run_id = uuid.uuid4().hex[:8]

    async def post(connections: Any, n: int) -> bool:
        body = json.dumps({"text": f"Từ 7 giờ 30 đến 17 giờ. ({n})"}).encode()
        status = await connections.request(
            "POST", f"/api/v1/oa/conversations/{conversation_ids[n % len(conversation_ids)]}/messages",
            body=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                                "Idempotency-Key": f"{run_id}-{n}"})
        return status == 201

    return await offered_against_health(settings, int(seconds * OFFERED_PER_SECOND), post)
