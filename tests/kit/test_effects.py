"""Effects are sent after commit only; a rollback drops them, even when no SQL ran before it."""

from loa.kit.effects import commit, publish_after_commit
from loa.runtime import Runtime


async def test_effects_staged_before_any_sql_are_dropped_by_rollback(runtime: Runtime) -> None:
    async with runtime.bus.subscribe("test:effects") as subscription:
        async with runtime.session() as session:
            publish_after_commit(session, "test:effects", {"n": 1})
            await session.rollback()
            publish_after_commit(session, "test:effects", {"n": 2})
            await commit(session)
        _, payload = await subscription.get(timeout=5)
        assert payload == {"n": 2}
        assert subscription.queue.empty()
