"""Live events over SSE from a real server: after-commit delivery, channels of a person, reconnect with
Last-Event-ID, and (on Redis) one event reaching the clients of two separate processes."""

from __future__ import annotations

from typing import Any

import httpx
from redis.asyncio import Redis
from tests.factories import add_staff, make_account, make_user
from tests.live import serving, stream, until, web_process

from loa.domains.follows import service as follows
from loa.domains.people import service as people
from loa.kit.auth import session_cookie_name
from loa.kit.effects import commit
from loa.kit.events import RedisEventBus
from loa.kit.jobs import QueueNames
from loa.kit.sse import LiveEvent
from loa.runtime import Runtime


def broadcast(n: int) -> dict[str, Any]:
    return {"id": n, "type": "broadcast.published", "title": f"Thông báo số {n}"}


async def test_my_live_stream_gets_my_channels_and_replays_what_i_missed(runtime: Runtime) -> None:
    citizen = await make_user(runtime, name="Nguyễn Văn An")
    followed = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee")
    worked_for = await make_account(runtime, name="Công an Phường Ba Đình", kind="police")
    other = await make_account(runtime, name="Sở Y tế Hà Nội")
    await add_staff(runtime, worked_for, citizen, "agent")
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=followed.id)
        token, _ = await people.start_session(session, citizen)
        await commit(session)
    cookies = {session_cookie_name(runtime.settings): token}
    table: list[LiveEvent] = []  # what the domain's table holds for account:{followed}

    async def replay(channel: str, after: int | None) -> list[LiveEvent]:
        rows = [row for row in table if channel == f"account:{followed.id}" and (after is None or row[0] > after)]
        return rows[-1:] if after is None else rows

    with serving(runtime.settings) as server:
        server.runtime.live.register_replay("account", replay)
        url = f"{server.url}/api/v1/live"
        async with httpx.AsyncClient() as anonymous:
            assert (await anonymous.get(url)).status_code == 401
        async with stream(url, cookies=cookies) as live:
            assert live.ready["data"]["channels"] == [f"user:{citizen.id}", f"chat:{citizen.id}",
                                                      f"account:{followed.id}", f"staff:{worked_for.id}",
                                                      f"inbox:{worked_for.id}"]
            await server.publish(f"account:{other.id}", broadcast(99))  # not mine: never arrives
            table.append((1, "broadcast.published", broadcast(1)))
            await server.publish(f"account:{followed.id}", broadcast(1))
            await server.publish(f"user:{citizen.id}", {"id": 7, "type": "report.updated"})
            await server.publish(f"staff:{worked_for.id}", {"id": 3, "type": "message.created"})
            got = await live.events(3)
            assert [(frame["event"], frame["data"]["id"]) for frame in got] == [
                ("broadcast.published", 1), ("report.updated", 7), ("message.created", 3)]
            last_event_id = got[-1]["id"]
            assert last_event_id == f"account:{followed.id}=1,user:{citizen.id}=7,staff:{worked_for.id}=3"
        await until(lambda: server.runtime.live.client_count == 0)
        for n in (2, 3):  # published while the citizen was away
            table.append((n, "broadcast.published", broadcast(n)))
            await server.publish(f"account:{followed.id}", broadcast(n))
        async with stream(url, cookies=cookies, headers={"Last-Event-ID": last_event_id}) as live:
            await server.publish(f"account:{followed.id}", broadcast(4))
            got = await live.events(3)
            assert [frame["data"]["id"] for frame in got] == [2, 3, 4]
            assert got[-1]["id"] == f"account:{followed.id}=4,user:{citizen.id}=7,staff:{worked_for.id}=3"
        await until(lambda: server.runtime.live.client_count == 0)
        assert server.runtime.live.channel_names == set()


async def test_public_account_stream(runtime: Runtime) -> None:
    account = await make_account(runtime, name="Công ty Nước sạch Hà Nội", kind="water")
    with serving(runtime.settings) as server:
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(f"{server.url}/api/v1/live/accounts/123456789")).status_code == 404
        url = f"{server.url}/api/v1/live/accounts/{account.id}"
        async with stream(url) as first, stream(url + "?last_event_id=0") as second:
            await server.publish(f"account:{account.id}", broadcast(5))
            for live in (first, second):
                frame = await live.frame()
                assert (frame["id"], frame["event"], frame["data"]) == (f"account:{account.id}=5",
                                                                          "broadcast.published", broadcast(5))


async def test_the_stream_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/live", "/api/v1/live/accounts/{account_id}"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert "text/event-stream" in content


# --- two processes on Redis -----------------------------------------------------------------------------


async def test_one_event_reaches_the_clients_of_two_processes(runtime: Runtime, live_redis_url: str) -> None:
    account = await make_account(runtime, name="Bộ Y tế", kind="ministry")
    # This process publishes as a third one would (on the SQLite run the test's own runtime has no Redis).
    redis = Redis.from_url(live_redis_url)
    publisher = RedisEventBus(redis, channel_prefix=QueueNames(prefix=runtime.settings.redis_prefix).channel_prefix)
    try:
        with (web_process(runtime.settings, live_redis_url) as first_url,
              web_process(runtime.settings, live_redis_url) as second_url):
            path = f"/api/v1/live/accounts/{account.id}"
            async with stream(first_url + path) as first, stream(second_url + path) as second:
                await publisher.publish(f"account:{account.id}", broadcast(11))
                for live in (first, second):
                    frame = await live.frame()
                    assert frame["data"] == broadcast(11)
    finally:
        await redis.aclose()
