"""The push API: the VAPID key, registering devices, quiet hours and per-account opt-out."""

from __future__ import annotations

import base64
import os

from httpx import AsyncClient
from sqlalchemy import select
from tests.domains.push.fakes import FakeBrowser, b64url
from tests.factories import make_account, make_user

from loa.domains.follows.models import Follow
from loa.domains.push.models import PushSubscription
from loa.runtime import Runtime

URL = "https://fcm.googleapis.com/fcm/send/abc123"


def _sub(endpoint: str = URL, browser: FakeBrowser | None = None) -> dict:
    browser = browser or FakeBrowser()
    return {"endpoint": endpoint, "expirationTime": None,
            "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}}


async def test_the_vapid_key_is_a_p256_point(client: AsyncClient) -> None:
    response = await client.get("/api/v1/push/key")
    assert response.status_code == 200
    key = response.json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    assert (await client.get("/api/v1/push/key")).json()["public_key"] == key  # stable


async def test_subscribe_list_resubscribe_and_unsubscribe(client_as, runtime: Runtime) -> None:
    me: AsyncClient = await client_as(await make_user(runtime))
    created = await me.post("/api/v1/me/push-subscriptions", json=_sub())
    assert created.status_code == 201, created.text
    again = await me.post("/api/v1/me/push-subscriptions", json=_sub())  # new keys, same browser
    assert again.json()["id"] == created.json()["id"]
    assert [s["endpoint"] for s in (await me.get("/api/v1/me/push-subscriptions")).json()] == [URL]
    gone = await me.request("DELETE", "/api/v1/me/push-subscriptions", json={"endpoint": URL})
    assert gone.status_code == 204
    assert (await me.get("/api/v1/me/push-subscriptions")).json() == []


async def test_bad_subscriptions_are_refused_with_a_reason(client_as, client: AsyncClient, runtime: Runtime) -> None:
    me: AsyncClient = await client_as(await make_user(runtime))
    assert (await client.post("/api/v1/me/push-subscriptions", json=_sub())).status_code == 401
    off_curve = b64url(b"\x04" + os.urandom(64))
    bad = [
        _sub("http://push.example.com/x"),  # not https
        _sub("https://127.0.0.1:8443/x".replace("127.0.0.1", "10.1.2.3")),  # private network
        _sub("https://localhost/x"),
        _sub("https://user:pw@push.example.com/x"),
        _sub("ftp://push.example.com/x"),
        {**_sub(), "keys": {"p256dh": off_curve, "auth": b64url(os.urandom(16))}},
        {**_sub(), "keys": {"p256dh": FakeBrowser().p256dh, "auth": b64url(os.urandom(12))}},
        {**_sub(), "keys": {"p256dh": FakeBrowser().p256dh + "+", "auth": b64url(os.urandom(16))}},
        {**_sub(), "extra": 1},
        {**_sub(), "endpoint": "https://push.example.com/" + "a" * 1000},
    ]
    for body in bad:
        response = await me.post("/api/v1/me/push-subscriptions", json=body)
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()["error"]) >= {"code", "message"}
    message = (await me.post("/api/v1/me/push-subscriptions", json=bad[0])).json()["error"]["message"]
    assert message.startswith("Địa chỉ nhận thông báo") and " / " in message
    async with runtime.read_session() as session:
        assert (await session.scalars(select(PushSubscription))).all() == []


async def test_a_citizen_cannot_remove_another_citizens_device(client_as, runtime: Runtime) -> None:
    alice: AsyncClient = await client_as(await make_user(runtime))
    bob: AsyncClient = await client_as(await make_user(runtime))
    assert (await alice.post("/api/v1/me/push-subscriptions", json=_sub())).status_code == 201
    refused = await bob.request("DELETE", "/api/v1/me/push-subscriptions", json={"endpoint": URL})
    assert refused.status_code == 404
    assert len((await alice.get("/api/v1/me/push-subscriptions")).json()) == 1
    assert (await bob.get("/api/v1/me/push-subscriptions")).json() == []


async def test_quiet_hours(client_as, runtime: Runtime) -> None:
    me: AsyncClient = await client_as(await make_user(runtime))
    assert (await me.get("/api/v1/me/push-preferences")).json() == {"quiet_from": None, "quiet_until": None}
    saved = await me.put("/api/v1/me/push-preferences", json={"quiet_from": "22:00", "quiet_until": "06:30"})
    assert saved.json() == {"quiet_from": "22:00", "quiet_until": "06:30"}
    for body in ({"quiet_from": "25:00", "quiet_until": "06:00"}, {"quiet_from": "22:00"},
                 {"quiet_from": "22:00", "quiet_until": "22:00"}, {"quiet_from": "7:00", "quiet_until": "08:00"},
                 {"quiet_from": "22:00", "quiet_until": "06:30", "tz": "UTC"}):
        response = await me.put("/api/v1/me/push-preferences", json=body)
        assert response.status_code == 422, body
    assert (await me.get("/api/v1/me/push-preferences")).json()["quiet_from"] == "22:00"
    cleared = await me.put("/api/v1/me/push-preferences", json={"quiet_from": None, "quiet_until": None})
    assert cleared.json() == {"quiet_from": None, "quiet_until": None}


async def test_push_from_one_followed_account_can_be_turned_off(client_as, runtime: Runtime) -> None:
    citizen = await make_user(runtime)
    account = await make_account(runtime)
    me: AsyncClient = await client_as(citizen)
    not_following = await me.put(f"/api/v1/accounts/{account.id}/push", json={"enabled": False})
    assert not_following.status_code == 404
    assert not_following.json()["error"]["code"] == "not_following"
    await me.post(f"/api/v1/accounts/{account.id}/follow")
    off = await me.put(f"/api/v1/accounts/{account.id}/push", json={"enabled": False})
    assert off.json() == {"account_id": str(account.id), "push_enabled": False}
    async with runtime.read_session() as session:
        row = await session.get(Follow, (account.id, citizen.id))
        assert row is not None and row.push_enabled is False
    assert (await me.put(f"/api/v1/accounts/{account.id}/push", json={"enabled": "maybe"})).status_code == 422
    assert (await me.put("/api/v1/accounts/999999/push", json={"enabled": True})).status_code == 404
