"""Periodic work of the people domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loa.domains.people import service
from loa.kit.effects import commit
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime


@sweep("people.purge_expired", every_seconds=3600)
async def purge_expired_sign_ins(runtime: Runtime) -> None:
    """Expired sessions and one-time codes are of no use to anyone: do not keep them."""
    async with runtime.session() as session:
        await service.purge_expired(session)
        await commit(session)
