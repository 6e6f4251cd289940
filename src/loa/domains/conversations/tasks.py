"""Background work of conversations: the live event log keeps only the replay window; an erased citizen's
files leave the media storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loa.domains.conversations import service
from loa.kit.effects import commit
from loa.kit.jobs import job
from loa.kit.storage import media_storage
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@sweep("conversations.prune_events", every_seconds=3600)
async def prune_events(runtime: Runtime) -> None:
    async with runtime.session() as session:
        if await service.prune_events(session):
            await commit(session)


@job("conversations.delete_files")
async def delete_files(runtime: Runtime, *, keys: list[str]) -> None:
    storage = media_storage(runtime.settings)
    for key in keys:
        await storage.delete(key)
