"""Zalo's articles on `/zalo`, as Loa's broadcasts: create writes a draft nobody sees, Zalo's article broadcast
publishes it to followers, getslice/getdetail read them back, update edits a draft, remove deletes a draft or
withdraws a published article. Bad input is refused in Zalo's envelope and changes nothing."""

from __future__ import annotations

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from tests.domains.integrations.helpers import Tenant, get_tokens, make_app, make_tenant
from tests.factories import make_account, make_user

from loa.domains.broadcasts.models import Broadcast
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime

ARTICLE = {"type": "normal", "title": "Lịch tiêm chủng tháng 12", "author": "Trạm y tế phường",
           "description": "Lịch tiêm cho trẻ dưới 5 tuổi.",
           "cover": {"cover_type": "photo", "photo_url": "https://example.gov.vn/anh.jpg", "status": "show"},
           "body": [{"type": "text", "content": "Tiêm **sởi** vào sáng thứ Bảy."},
                    {"type": "image", "url": "https://example.gov.vn/so-do.png", "caption": "Sơ đồ"}],
           "status": "show", "comment": "show"}


async def _post(client: AsyncClient, token: str, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(f"/zalo/{path}", headers={"access_token": token}, json=body)
    assert response.status_code == 200
    return response.json()


async def _get(client: AsyncClient, token: str, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/zalo/{path}", headers={"access_token": token}, params=params)
    assert response.status_code == 200
    return response.json()


async def _count(runtime: Runtime) -> int:
    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Broadcast)) or 0)


def _broadcast_of(article_id: str) -> dict[str, Any]:
    return {"recipient": {"target": {}}, "message": {"attachment": {"type": "template", "payload": {
        "template_type": "media", "elements": [{"media_type": "article", "attachment_id": article_id}]}}}}


async def test_an_article_is_written_read_broadcast_and_removed(runtime: Runtime, client_as,
                                                                client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    citizen = await make_user(runtime)
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=tenant.account.id)
        await commit(session)
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]
    as_citizen = await client_as(citizen)

    created = await _post(client, token, "v2.0/article/create", ARTICLE)
    assert created["error"] == 0, created
    verified = await _post(client, token, "v2.0/article/verify", {"token": created["data"]["token"]})
    article_id = verified["data"]["id"]
    listed = await _get(client, token, "v2.0/article/getslice", offset=0, limit=10, type="normal")
    assert listed["data"]["total"] == 1
    [summary] = listed["data"]["medias"]
    assert (summary["id"], summary["title"], summary["status"]) == (article_id, ARTICLE["title"], "hide")
    assert summary["thumb"] == "https://example.gov.vn/anh.jpg"
    assert (await _get(client, token, "v2.0/article/getslice", type="video"))["data"]["medias"] == []
    detail = await _get(client, token, "v2.0/article/getdetail", id=article_id)
    html = detail["data"]["body"][0]["content"]
    assert "<strong>sởi</strong>" in html and "so-do.png" in html and "Trạm y tế phường" in html
    assert (await as_citizen.get(f"/api/v1/broadcasts/{article_id}")).status_code == 404  # a draft

    updated = await _post(client, token, "v2.0/article/update", ARTICLE | {"id": article_id, "title": "Lịch mới"})
    assert updated["error"] == 0, updated
    sent = await _post(client, token, "v2.0/oa/message", _broadcast_of(article_id))
    assert sent["error"] == 0, sent
    seen = await as_citizen.get(f"/api/v1/broadcasts/{article_id}")
    assert seen.status_code == 200 and seen.json()["title"] == "Lịch mới"
    detail = await _get(client, token, "v2.0/article/getdetail", data=json.dumps({"id": article_id}))
    assert detail["data"]["status"] == "show"
    assert (await _post(client, token, "v2.0/article/update", ARTICLE | {"id": article_id}))["error"] == -201

    assert (await _post(client, token, "v2.0/article/remove", {"id": article_id}))["error"] == 0
    assert (await _get(client, token, "v2.0/article/getdetail", id=article_id))["data"]["status"] == "hide"
    withdrawn = await as_citizen.get(f"/api/v1/broadcasts/{article_id}")
    assert withdrawn.json()["status"] == "withdrawn", withdrawn.text  # followers see it was withdrawn
    draft = (await _post(client, token, "v2.0/article/create", ARTICLE))["data"]["id"]
    assert (await _post(client, token, "v2.0/article/remove", {"id": draft}))["error"] == 0
    assert (await _get(client, token, "v2.0/article/getdetail", id=draft))["error"] == -201
    assert await _count(runtime) == 1  # the withdrawn one stays, marked withdrawn; the draft is gone


async def test_bad_articles_are_refused_and_nothing_changes(runtime: Runtime, client_as,
                                                            client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]
    other_token = (await get_tokens(client, await make_app(other)))["access_token"]
    foreign = (await _post(client, other_token, "v2.0/article/create", ARTICLE))["data"]["id"]
    before = await _count(runtime)
    for body in ({**ARTICLE, "title": ""}, {**ARTICLE, "title": "Tiêu\x00đề"}, {**ARTICLE, "title": "x" * 201},
                 {**ARTICLE, "type": "video"}, {**ARTICLE, "body": [{"type": "product", "id": 1}]},
                 {**ARTICLE, "body": [{"type": "text", "content": "a\x00b"}]},
                 {**ARTICLE, "body": [{"type": "image", "url": "javascript:alert(1)"}]},
                 {**ARTICLE, "cover": {"photo_url": "file:///etc/passwd"}}, {**ARTICLE, "body": "text"},
                 {**ARTICLE, "author": 5}, [1, 2]):
        refused = await _post(client, token, "v2.0/article/create", body)
        assert refused["error"] == -201, (body, refused)
    assert await _count(runtime) == before
    for path, body in (("v2.0/article/remove", {"id": foreign}), ("v2.0/article/verify", {"token": foreign}),
                       ("v2.0/article/remove", {"id": "abc"}), ("v2.0/oa/message", _broadcast_of(foreign))):
        assert (await _post(client, token, path, body))["error"] == -201, path
    targeted = _broadcast_of(foreign) | {"recipient": {"target": {"cities": "4,9", "gender": "1"}}}
    assert (await _post(client, token, "v2.0/oa/message", targeted))["error"] == -201
    text = {"recipient": {"user_id": "1"}, "message": {"text": "Chào"}}
    assert (await _post(client, token, "v2.0/oa/message", text))["error"] == -233
    assert (await _get(client, token, "v2.0/article/getdetail", id=foreign))["error"] == -201
    assert (await _get(client, token, "v2.0/article/getslice", limit=0))["error"] == -201
    assert (await _get(client, other_token, "v2.0/article/getdetail", id=foreign))["error"] == 0
    no_scope = (await get_tokens(client, await make_app(tenant, ["messages"])))["access_token"]
    assert (await _post(client, no_scope, "v2.0/article/create", ARTICLE))["error"] == -212
    assert await _count(runtime) == before


async def test_an_unverified_account_cannot_broadcast_an_article(runtime: Runtime, client_as,
                                                                 client: AsyncClient) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, name="UBND xã Mới", owner=owner, verified=False)
    tenant = Tenant(account, owner, await client_as(owner))
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]
    article_id = (await _post(client, token, "v2.0/article/create", ARTICLE))["data"]["id"]
    refused = await _post(client, token, "v2.0/oa/message", _broadcast_of(article_id))
    assert refused["error"] == -221
    assert (await _get(client, token, "v2.0/article/getdetail", id=article_id))["data"]["status"] == "hide"
