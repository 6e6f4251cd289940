"""Background work of integrations: webhook delivery (job and sweep, in `webhooks`) and pruning old rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loa.domains.integrations import access, service, uploads, webhooks  # noqa: F401 - registers the webhook job and sweep
from loa.kit.storage import media_storage
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@sweep("integrations.prune", every_seconds=3600)
async def prune(runtime: Runtime) -> None:
    """Call logs past 30 days, spent tokens, idempotency keys past 24 hours, expired uploads."""
    async with runtime.session() as session:
        await service.prune(session)
        await session.commit()
    await access.prune_keys(runtime)
    await uploads.prune(runtime, media_storage(runtime.settings))
