"""A delivery worker killed with SIGKILL in the middle of a batch loses nothing: another worker process delivers
every webhook, at least once, and the messages of each conversation still arrive in order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from tests.domains.integrations.helpers import Receiver, eventually, make_tenant
from tests.factories import make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.integrations import webhooks
from loa.domains.integrations.models import WebhookDelivery
from loa.runtime import Runtime

ROOT = Path(__file__).resolve().parents[3]
CONVERSATIONS, MESSAGES_EACH = 4, 3
LEASE_SECONDS = 2.0


@contextmanager
def worker_process(runtime: Runtime) -> Iterator[subprocess.Popen[bytes]]:
    settings = runtime.settings
    env = os.environ | {"LOA_ENV": "test", "LOA_DATABASE_URL": runtime.database_url,
                        "LOA_DATA_DIR": str(settings.data_dir), "LOA_SECRET_KEY": settings.resolved_secret_key,
                        "LOA_LOG_LEVEL": "WARNING", "LOA_SEED_DEMO": "false"}
    process = subprocess.Popen([sys.executable, "-m", "tests.domains.integrations.delivery_worker",
                                str(LEASE_SECONDS)], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


async def _statuses(runtime: Runtime) -> list[str]:
    async with runtime.read_session() as session:
        return list(await session.scalars(select(WebhookDelivery.status).order_by(WebhookDelivery.id)))


async def test_a_killed_worker_process_loses_no_delivery(runtime: Runtime, client_as, receiver: Receiver) -> None:
    # This test process never sends: its delivery loop is kept busy, so only the worker processes deliver.
    async with webhooks.sender(runtime).running:
        tenant = await make_tenant(runtime, client_as)
        created = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/webhooks",
                                             json={"url": receiver.url, "events": ["message.received"]})
        assert created.status_code == 201
        citizens = [await make_user(runtime, name=f"Công dân {n}") for n in range(CONVERSATIONS)]
        for round_ in range(MESSAGES_EACH):
            for citizen in citizens:
                await conversations.send_as_citizen(runtime, citizen=citizen, account_id=tenant.account.id,
                                                    content=Content(kind="text", text=f"Tin {round_}"))
        total = CONVERSATIONS * MESSAGES_EACH
        assert await _statuses(runtime) == ["pending"] * total

        # The first batch (one message per conversation) is answered; of the second, two are answered and two
        # hang: the worker is killed while it waits for them, before it records anything of that batch.
        receiver.hold, receiver.hold_after = asyncio.Event(), CONVERSATIONS + 2
        with worker_process(runtime) as first:
            await eventually(lambda: _received(receiver, 2 * CONVERSATIONS), seconds=30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        statuses = await _statuses(runtime)
        assert statuses.count("delivered") == CONVERSATIONS and "failed" not in statuses
        receiver.hold.set()

        with worker_process(runtime):
            await eventually(lambda: _all_delivered(runtime, total), seconds=30)

    by_event = {item.headers["webhook-id"]: item.json for item in receiver.ok()}
    assert len(by_event) == total  # every delivery arrived
    seen: dict[str, list[int]] = defaultdict(list)
    for item in receiver.ok():
        data = item.json["data"]
        seen[data["conversation_id"]].append(int(data["message"]["id"]))
    for message_ids in seen.values():  # a redelivery repeats the latest, never overtakes a later one
        assert message_ids == sorted(message_ids) and len(set(message_ids)) == MESSAGES_EACH


async def _received(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def _all_delivered(runtime: Runtime, total: int) -> bool:
    return await _statuses(runtime) == ["delivered"] * total
