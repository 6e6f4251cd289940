from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.domains.integrations.helpers import Receiver, start_receiver, stop_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await start_receiver(found)
    try:
        yield found
    finally:
        if found.hold is not None:
            found.hold.set()
        await stop_receiver(server)
