"""Apps and their tokens: the owner makes an app, the app gets tokens, refreshes them once, loses them when a
refresh token is replayed or the app is revoked; scopes limit what a token reaches; every call is logged."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select
from tests.domains.integrations.helpers import bearer, get_tokens, make_app, make_tenant
from tests.factories import add_staff, make_user

from loa.db.base import utcnow
from loa.domains.integrations import service
from loa.domains.integrations.models import IntegrationApp
from loa.kit.effects import commit
from loa.runtime import Runtime


async def test_owner_creates_an_app_whose_secret_is_shown_once_and_gets_tokens(runtime: Runtime, client_as,
                                                                                  client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant)
    assert app["client_id"].startswith("loa_app_") and app["client_secret"].startswith("loas_")
    listed = (await tenant.as_owner.get(f"/api/v1/accounts/{tenant.account.id}/apps")).json()
    assert [item["client_id"] for item in listed] == [app["client_id"]]
    assert "client_secret" not in listed[0]
    async with runtime.read_session() as session:  # stored hashed only
        stored = await session.scalar(select(IntegrationApp).where(IntegrationApp.client_id == app["client_id"]))
    assert stored is not None and app["client_secret"] not in stored.secret_hash

    tokens = await get_tokens(client, app)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "broadcasts followers messages reports"
    me = await client.get("/api/v1/oa", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(tenant.account.id) and me.json()["name"] == "Sở Y tế Hà Nội"

    wrong = await client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": app["client_id"], "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_client"


async def test_only_owners_and_admins_manage_apps_of_their_own_account(runtime: Runtime, client_as) -> None:
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    editor = await make_user(runtime, name="Biên tập viên")
    await add_staff(runtime, tenant.account, editor, "editor")
    as_editor = await client_as(editor)
    body = {"name": "Chatbot", "scopes": ["messages"]}
    assert (await as_editor.post(f"/api/v1/accounts/{tenant.account.id}/apps", json=body)).status_code == 403
    assert (await other.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps", json=body)).status_code == 403
    assert (await other.as_owner.get(f"/api/v1/accounts/{tenant.account.id}/apps")).status_code == 403
    bad = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps",
                                     json={"name": "Chatbot", "scopes": ["everything"]})
    assert bad.status_code == 422


async def test_refresh_token_is_single_use_and_a_replay_revokes_the_whole_chain(runtime: Runtime, client_as,
                                                                                 client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant)
    first = await get_tokens(client, app)
    refresh = {"grant_type": "refresh_token", "client_id": app["client_id"], "refresh_token": first["refresh_token"]}
    second = await client.post("/api/v1/oauth/token", data=refresh)
    assert second.status_code == 200, second.text
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/oa", headers=bearer(second_tokens["access_token"]))).status_code == 200

    replayed = await client.post("/api/v1/oauth/token", data=refresh)  # the spent one again: it leaked
    assert replayed.status_code == 422 and replayed.json()["error"]["code"] == "invalid_grant"
    for token in (first["access_token"], second_tokens["access_token"]):
        refused = await client.get("/api/v1/oa", headers=bearer(token))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
    newest = await client.post("/api/v1/oauth/token", data=refresh | {"refresh_token": second_tokens["refresh_token"]})
    assert newest.status_code == 422  # the chain's latest refresh token went too

    fresh = await get_tokens(client, app)  # the app itself is fine: new credentials start a new chain
    assert (await client.get("/api/v1/oa", headers=bearer(fresh["access_token"]))).status_code == 200


async def test_expired_and_revoked_tokens_are_refused(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant)
    async with runtime.session() as session:
        old = await service.grant_client_credentials(session, client_id=app["client_id"],
                                                     client_secret=app["client_secret"],
                                                     now=utcnow() - timedelta(hours=2))
        await commit(session)
    expired = await client.get("/api/v1/oa", headers=bearer(old.access_token))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "invalid_token"

    tokens = await get_tokens(client, app)
    for field in ("client_id", "client_secret", "token"):  # PostgreSQL refuses NUL in text: a clear 422 first
        form = {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": tokens["access_token"]}
        garbled = await client.post("/api/v1/oauth/revoke", data=form | {field: form[field] + "\x00"})
        assert garbled.status_code == 422 and garbled.json()["error"]["message"]
    assert (await client.get("/api/v1/oa", headers=bearer(tokens["access_token"]))).status_code == 200
    revoke = await client.post("/api/v1/oauth/revoke", data={"client_id": app["client_id"],
                                                             "client_secret": app["client_secret"],
                                                             "token": tokens["access_token"]})
    assert revoke.status_code == 200
    assert (await client.get("/api/v1/oa", headers=bearer(tokens["access_token"]))).status_code == 401

    tokens = await get_tokens(client, app)
    key = (await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/keys",
                                      json={"name": "Cổng dịch vụ công", "scopes": ["messages"]})).json()
    assert (await client.get("/api/v1/oa", headers=bearer(key["key"]))).status_code == 200
    revoked = await tenant.as_owner.delete(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    for token in (tokens["access_token"], key["key"]):
        assert (await client.get("/api/v1/oa", headers=bearer(token))).status_code == 401
    again = await client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": app["client_id"],
                                                           "client_secret": app["client_secret"]})
    assert again.status_code == 401
    assert (await client.get("/api/v1/oa", headers=bearer("garbage"))).status_code == 401
    assert (await client.get("/api/v1/oa")).status_code == 401


async def test_scopes_limit_what_a_token_reaches(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant, ["messages", "followers"])
    narrow = await get_tokens(client, app, scope="messages")
    assert narrow["scope"] == "messages"
    assert (await client.get("/api/v1/oa/conversations", headers=bearer(narrow["access_token"]))).status_code == 200
    refused = await client.get("/api/v1/oa/followers", headers=bearer(narrow["access_token"]))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    refused = await client.get("/api/v1/oa/reports", headers=bearer(narrow["access_token"]))
    assert refused.status_code == 403  # the app itself was never given reports

    wider = await client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": app["client_id"],
                                                           "client_secret": app["client_secret"],
                                                           "scope": "messages reports"})
    assert wider.status_code == 422 and wider.json()["error"]["code"] == "invalid_scope"
    key = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/keys",
                                     json={"name": "Báo cáo", "scopes": ["reports"]})
    assert key.status_code == 422
    key = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/keys",
                                     json={"name": "Danh bạ", "scopes": ["followers"]})
    assert key.status_code == 201
    headers = bearer(key.json()["key"])
    assert (await client.get("/api/v1/oa/followers", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/oa/conversations", headers=headers)).status_code == 403


async def test_every_call_of_an_app_is_logged_for_the_account(runtime: Runtime, client_as,
                                                             client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant, ["messages"])
    tokens = await get_tokens(client, app)
    headers = bearer(tokens["access_token"])
    await client.get("/api/v1/oa/conversations", headers=headers)
    await client.get("/api/v1/oa/followers", headers=headers)
    await client.get("/api/v1/oa/conversations/999999/messages", headers=headers)
    calls = await tenant.as_owner.get(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/calls")
    assert calls.status_code == 200
    seen = [(call["method"], call["route"], call["status"]) for call in calls.json()["items"]]
    assert seen == [("GET", "/oa/conversations/{conversation_id}/messages", 404),
                    ("GET", "/oa/followers", 403),
                    ("GET", "/oa/conversations", 200)]
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    assert (await other.as_owner.get(
        f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/calls")).status_code == 403
    assert (await other.as_owner.get(
        f"/api/v1/accounts/{other.account.id}/apps/{app['id']}/calls")).status_code == 404


async def test_old_call_logs_spent_tokens_and_idempotency_keys_are_pruned(runtime: Runtime, client_as,
                                                                          client: AsyncClient) -> None:
    from sqlalchemy import func

    from loa.domains.integrations.models import AppCall, AppToken, IdempotencyKey
    from loa.domains.integrations.tasks import prune

    tenant = await make_tenant(runtime, client_as)
    app = await make_app(tenant)
    fresh = await get_tokens(client, app)
    long_ago = utcnow() - timedelta(days=120)
    async with runtime.session() as session:
        app_id = await session.scalar(select(IntegrationApp.id))
        session.add_all([
            AppCall(app_id=app_id, method="GET", route="/oa", status=200, duration_ms=1, created_at=long_ago),
            AppCall(app_id=app_id, method="GET", route="/oa", status=200, duration_ms=1, created_at=utcnow()),
            IdempotencyKey(app_id=app_id, key="old", request_hash="x", status_code=201, response={},
                           created_at=utcnow() - timedelta(days=2))])
        await service.grant_client_credentials(session, client_id=app["client_id"],
                                               client_secret=app["client_secret"], now=long_ago)
        await commit(session)
    await prune(runtime)
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(AppCall)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
        assert await session.scalar(select(func.count()).select_from(AppToken)) == 2  # the fresh pair only
    assert (await client.get("/api/v1/oa", headers=bearer(fresh["access_token"]))).status_code == 200
