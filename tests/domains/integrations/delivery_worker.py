"""A webhook delivery worker in an OS process of its own, for the crash test (test_worker_crash.py): it runs the
real delivery loop (`webhooks.deliver_due`) against the database named by the LOA_* environment until it is
killed. The lease is shortened so the test waits seconds for a dead worker's rows, not a minute.

    python -m tests.domains.integrations.delivery_worker LEASE_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from loa.domains.integrations import webhooks
from loa.runtime import Runtime
from loa.settings import Settings


async def main(lease_seconds: float) -> None:
    webhooks.LEASE = timedelta(seconds=lease_seconds)
    # Not started: no sweeps and no job consumer, so this loop is the only thing that sends.
    runtime = Runtime(Settings(run_worker_in_web=False, redis_url=None))
    print("ready", flush=True)
    while True:
        await webhooks.deliver_due(runtime)
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
