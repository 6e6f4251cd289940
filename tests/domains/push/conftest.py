"""Fixtures of the push tests: the local push service, and builders of followers with devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from tests.domains.push.fakes import FakeBrowser, FakePushService, running_push_service
from tests.factories import make_user

from loa.db.base import utcnow
from loa.domains.accounts.models import Account
from loa.domains.broadcasts.models import Broadcast
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.domains.push import service
from loa.domains.push.models import PushBatch
from loa.kit.effects import commit
from loa.runtime import Runtime


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    async with running_push_service() as fake:
        yield fake


async def follower(runtime: Runtime, account: Account, push: FakePushService | None = None, *,
                   commune: str | None = None, devices: int = 1) -> tuple[User, list[FakeBrowser]]:
    """A citizen following `account`, with `devices` subscribed browsers on the local push service."""
    user = await make_user(runtime, commune=commune)
    browsers = [push.browser() for _ in range(devices)] if push else []
    async with runtime.session() as session:
        await follows.follow(session, user=user, account_id=account.id)
        for browser in browsers:
            sub = browser.subscription(push.base_url)  # type: ignore[union-attr]
            await service.subscribe(session, user=user, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                                    auth=sub["keys"]["auth"], user_agent="test", settings=runtime.settings)
        await commit(session)
    return user, browsers


async def published(runtime: Runtime, account: Account, *, kind: str = "notice", title: str = "Thông báo",
                    **targeting: Any) -> Broadcast:
    """A published broadcast written directly (its own service has its own tests)."""
    async with runtime.session() as session:
        broadcast = Broadcast(
            account_id=account.id, kind=kind, status="published", title=title, body_source=title,
            body_html=f"<p>{title}</p>", attachments=[], target_all=not targeting,
            target_provinces=targeting.get("provinces", []), target_communes=targeting.get("communes", []),
            target_tags=targeting.get("tags", []), published_at=utcnow(),
        )
        session.add(broadcast)
        await commit(session)
    return broadcast


async def plan(runtime: Runtime, broadcast: Broadcast, *, run_jobs: bool = False) -> int:
    """Plan the pushes; with run_jobs the batches' jobs are enqueued (as in production), else not."""
    async with runtime.session() as session:
        planned = await service.plan_push(session, broadcast)
        if run_jobs:
            await commit(session)
        else:
            await session.commit()
            session.info.pop("pending_effects", None)
    return planned


async def batches(runtime: Runtime, broadcast: Broadcast) -> list[PushBatch]:
    async with runtime.read_session() as session:
        return list(await session.scalars(select(PushBatch).where(PushBatch.broadcast_id == broadcast.id)
                                          .order_by(PushBatch.id)))


async def wait_done(runtime: Runtime, broadcast: Broadcast, seconds: float = 15.0) -> list[PushBatch]:
    async with asyncio.timeout(seconds):
        while True:
            found = await batches(runtime, broadcast)
            if found and all(batch.status in ("done", "failed") for batch in found):
                return found
            await asyncio.sleep(0.02)
