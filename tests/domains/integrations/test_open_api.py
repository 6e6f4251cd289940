"""The native Open API: an app answers citizens, tags followers, publishes broadcasts, moves reports and uploads
images, through the same rules as the console; retried POSTs are answered once; another account is out of reach."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from tests.domains.integrations.helpers import Tenant, bearer, get_tokens, make_app, make_tenant
from tests.domains.reports.helpers import file, waste_report
from tests.domains.reports.helpers import make_scene as report_scene
from tests.factories import make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.conversations.models import Message
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.runtime import Runtime


async def _headers(client: AsyncClient, tenant: Tenant, scopes: list[str] | None = None) -> dict[str, str]:
    app = await make_app(tenant, scopes)
    return bearer((await get_tokens(client, app))["access_token"])


async def _citizen_writes(runtime: Runtime, citizen: User, account_id: int, text: str) -> int:
    stored = await conversations.send_as_citizen(runtime, citizen=citizen, account_id=account_id,
                                                 content=Content(kind="text", text=text))
    return int(stored.row["conversation_id"])


async def _asked(runtime: Runtime, client_as, client: AsyncClient,  # type: ignore[no-untyped-def]
                 question: str) -> tuple[Tenant, int, dict[str, str]]:
    """An account with an app, and a citizen's question to it: the account, the conversation and the app's
    headers."""
    tenant = await make_tenant(runtime, client_as)
    conversation_id = await _citizen_writes(runtime, await make_user(runtime), tenant.account.id, question)
    return tenant, conversation_id, await _headers(client, tenant)


async def _replies_in(runtime: Runtime, conversation_id: int) -> int:
    """How many messages the account has sent in the conversation."""
    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id, Message.direction == "out")) or 0)


async def _sent_twice(client: AsyncClient, url: str, text: str, headers: dict[str, str]) -> None:
    """A message sent, then sent again with the same key: both answered 201, the second with the first's answer,
    replayed."""
    first = await client.post(url, json={"text": text}, headers=headers)
    again = await client.post(url, json={"text": text}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"


async def _follow(runtime: Runtime, citizen: User, account_id: int) -> None:
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=account_id)
        await commit(session)


async def test_an_app_reads_the_inbox_and_answers_a_citizen(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    citizen = await make_user(runtime, name="Nguyễn Văn An")
    conversation_id = await _citizen_writes(runtime, citizen, tenant.account.id, "Xin hỏi lịch tiêm chủng?")
    headers = await _headers(client, tenant)

    inbox = (await client.get("/api/v1/oa/conversations", headers=headers)).json()
    assert [(item["id"], item["user_name"], item["has_unread"]) for item in inbox["items"]] == [
        (str(conversation_id), "Nguyễn Văn An", True)]
    sent = await client.post(f"/api/v1/oa/conversations/{conversation_id}/messages",
                             json={"text": "Thứ Bảy này, 8 giờ sáng."}, headers=headers)
    assert sent.status_code == 201, sent.text
    assert sent.json()["direction"] == "out" and sent.json()["text"] == "Thứ Bảy này, 8 giờ sáng."
    messages = (await client.get(f"/api/v1/oa/conversations/{conversation_id}/messages", headers=headers)).json()
    assert [item["text"] for item in messages["items"]] == ["Thứ Bảy này, 8 giờ sáng.", "Xin hỏi lịch tiêm chủng?"]

    # The citizen sees the answer in their own conversation.
    as_citizen = await client_as(citizen)
    theirs = (await as_citizen.get(f"/api/v1/accounts/{tenant.account.id}/conversation/messages")).json()
    assert theirs["items"][0]["text"] == "Thứ Bảy này, 8 giờ sáng."

    empty = await client.post(f"/api/v1/oa/conversations/{conversation_id}/messages", json={"text": "   "},
                              headers=headers)
    assert empty.status_code == 422


async def test_a_retried_post_with_the_same_idempotency_key_is_answered_once(runtime: Runtime, client_as,
                                                                               client: AsyncClient) -> None:
    tenant, conversation_id, headers = await _asked(runtime, client_as, client, "Cho hỏi giờ làm việc?")
    url = f"/api/v1/oa/conversations/{conversation_id}/messages"
    key = {"Idempotency-Key": "reply-42"}

    await _sent_twice(client, url, "Từ 7 giờ 30.", headers | key)
    assert await _replies_in(runtime, conversation_id) == 1

    changed = await client.post(url, json={"text": "Từ 8 giờ."}, headers=headers | key)
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency_key_reused"
    other_key = await client.post(url, json={"text": "Từ 8 giờ."}, headers=headers | {"Idempotency-Key": "reply-43"})
    assert other_key.status_code == 201

    # The same request sent three times at once (a client's impatient retries): it is sent once.
    racing = {"Idempotency-Key": "reply-race"}
    answers = await asyncio.gather(*(client.post(url, json={"text": "Có, sáng thứ Bảy."}, headers=headers | racing)
                                     for _ in range(3)))
    assert sorted(answer.status_code for answer in answers)[0] == 201
    assert {answer.status_code for answer in answers} <= {201, 409}
    async with runtime.read_session() as session:
        sent = await session.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id, Message.text == "Có, sáng thứ Bảy."))
    assert sent == 1

    # A refusal is replayed as well: the retry learns the same thing and changes nothing.
    missing = "/api/v1/oa/conversations/999999/messages"
    refused = await client.post(missing, json={"text": "?"}, headers=headers | {"Idempotency-Key": "x"})
    replayed = await client.post(missing, json={"text": "?"}, headers=headers | {"Idempotency-Key": "x"})
    assert refused.status_code == replayed.status_code == 404 and refused.json() == replayed.json()

    # Keys are the app's own: another app of the account may use the same key for its own request.
    other_app = await _headers(client, tenant)
    own = await client.post(url, json={"text": "Từ 9 giờ."}, headers=other_app | key)
    assert own.status_code == 201 and own.json()["text"] == "Từ 9 giờ."


async def test_a_retry_right_after_the_answer_gets_it_again(runtime: Runtime, client_as,
                                                             client: AsyncClient) -> None:
    """A retry sent right after the answer gets that answer, never a 409."""
    _, conversation_id, headers = await _asked(runtime, client_as, client, "Cho hỏi lịch tiếp dân?")
    url = f"/api/v1/oa/conversations/{conversation_id}/messages"
    for n in range(30):
        await _sent_twice(client, url, f"Thứ Năm hằng tuần ({n}).", headers | {"Idempotency-Key": f"at-once-{n}"})
    assert await _replies_in(runtime, conversation_id) == 30


async def test_the_key_keeps_its_answer_with_the_message_a_refusal_included(runtime: Runtime, client_as,
                                                                           client: AsyncClient) -> None:
    """The key, the message and the answer commit together: the key's row has the answer as soon as the call
    has answered (a retry reaching another process gets it too), and a conversation found unknown in the
    write keeps its 404 for the retries."""
    from loa.domains.integrations.models import IdempotencyKey

    async def kept(key: str) -> tuple[int | None, Any]:
        async with runtime.read_session() as session:
            row = (await session.execute(select(IdempotencyKey.status_code, IdempotencyKey.response)
                                         .where(IdempotencyKey.key == key))).one()
        return row.status_code, row.response

    _, conversation_id, headers = await _asked(runtime, client_as, client, "Cho hỏi giờ làm việc?")
    sent = await client.post(f"/api/v1/oa/conversations/{conversation_id}/messages",
                             json={"text": "Từ 7 giờ 30."}, headers=headers | {"Idempotency-Key": "sent"})
    assert sent.status_code == 201 and await kept("sent") == (201, sent.json())

    url = "/api/v1/oa/conversations/999999999/messages"
    unknown = await client.post(url, json={"text": "Từ 7 giờ 30."}, headers=headers | {"Idempotency-Key": "lost"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "conversation_not_found"
    assert await kept("lost") == (404, unknown.json())
    again = await client.post(url, json={"text": "Từ 7 giờ 30."}, headers=headers | {"Idempotency-Key": "lost"})
    assert again.status_code == 404 and again.json() == unknown.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await _replies_in(runtime, conversation_id) == 1


async def test_an_app_lists_tags_and_untags_followers(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    citizen = await make_user(runtime, name="Trần Thị Bình")
    stranger = await make_user(runtime)
    await _follow(runtime, citizen, tenant.account.id)
    headers = await _headers(client, tenant)

    listed = (await client.get("/api/v1/oa/followers", headers=headers)).json()
    assert [item["display_name"] for item in listed["items"]] == ["Trần Thị Bình"]
    tagged = await client.post(f"/api/v1/oa/followers/{citizen.id}/tags", json={"tag": "Tiêm chủng"},
                               headers=headers | {"Idempotency-Key": "tag-1"})
    assert tagged.status_code == 200, tagged.text
    tags = tagged.json()["tags"]
    assert len(tags) == 1
    detail = (await client.get(f"/api/v1/oa/followers/{citizen.id}", headers=headers)).json()
    assert detail["tags"] == tags and detail["display_name"] == "Trần Thị Bình"
    assert (await client.delete(f"/api/v1/oa/followers/{citizen.id}/tags/{tags[0]}", headers=headers)
            ).status_code == 204
    assert (await client.get(f"/api/v1/oa/followers/{citizen.id}", headers=headers)).json()["tags"] == []
    unknown = await client.get(f"/api/v1/oa/followers/{stranger.id}", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "follower_not_found"


async def test_an_app_writes_and_publishes_a_broadcast_and_uploads_its_image(runtime: Runtime, client_as,
                                                                              client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    headers = await _headers(client, tenant, ["broadcasts"])
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture, "JPEG")
    uploaded = await client.post("/api/v1/oa/media/images", files={"file": ("anh.jpg", picture.getvalue(),
                                                                             "image/jpeg")}, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["width"] == 40
    created = await client.post("/api/v1/oa/broadcasts", headers=headers, json={
        "title": "Lịch tiêm chủng tháng 12", "body": "Tiêm tại trạm y tế phường.", "cover_url": uploaded.json()["url"]})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    published = await client.post(f"/api/v1/oa/broadcasts/{created.json()['id']}/publish", headers=headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["published_at"]
    public = (await client.get(f"/api/v1/accounts/{tenant.account.id}/broadcasts")).json()
    assert [item["title"] for item in public["items"]] == ["Lịch tiêm chủng tháng 12"]
    again = await client.post(f"/api/v1/oa/broadcasts/{created.json()['id']}/publish", headers=headers)
    assert again.status_code == 409


async def test_an_app_moves_reports_on(runtime: Runtime, client_as, client: AsyncClient) -> None:
    scene = await report_scene(runtime, client_as)
    report = await file(scene.as_citizen, waste_report())
    tenant = Tenant(scene.committee, scene.manager, scene.as_manager)
    headers = await _headers(client, tenant, ["reports"])
    listed = (await client.get("/api/v1/oa/reports", headers=headers)).json()
    assert [(item["code"], item["status"]) for item in listed["items"]] == [(report["code"], "submitted")]
    accepted = await client.post(f"/api/v1/oa/reports/{report['id']}/actions", json={"action": "accept"},
                                 headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    wrong = await client.post(f"/api/v1/oa/reports/{report['id']}/actions", json={"action": "close"},
                              headers=headers)
    assert wrong.status_code == 409
    timeline: Any = (await scene.as_citizen.get(f"/api/v1/me/reports/{report['id']}")).json()
    assert timeline["status"] == "accepted"


async def test_an_app_never_reaches_another_account(runtime: Runtime, client_as, client: AsyncClient) -> None:
    mine = await make_tenant(runtime, client_as)
    theirs = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    citizen = await make_user(runtime)
    their_conversation = await _citizen_writes(runtime, citizen, theirs.account.id, "Tôi bị mất ví.")
    await _follow(runtime, citizen, theirs.account.id)
    headers = await _headers(client, mine)

    assert (await client.get("/api/v1/oa/conversations", headers=headers)).json()["items"] == []
    read = await client.get(f"/api/v1/oa/conversations/{their_conversation}/messages", headers=headers)
    assert read.status_code == 404
    write = await client.post(f"/api/v1/oa/conversations/{their_conversation}/messages", json={"text": "?"},
                              headers=headers)
    assert write.status_code == 404
    assert (await client.get("/api/v1/oa/followers", headers=headers)).json()["items"] == []
    assert (await client.get(f"/api/v1/oa/followers/{citizen.id}", headers=headers)).status_code == 404
    tag = await client.post(f"/api/v1/oa/followers/{citizen.id}/tags", json={"tag": "x"}, headers=headers)
    assert tag.status_code == 404
    their_headers = await _headers(client, theirs, ["broadcasts"])
    draft = (await client.post("/api/v1/oa/broadcasts", json={"title": "Thông báo"}, headers=their_headers)).json()
    publish = await client.post(f"/api/v1/oa/broadcasts/{draft['id']}/publish", headers=headers)
    assert publish.status_code in (403, 404)
    assert await _replies_in(runtime, their_conversation) == 0


async def test_a_key_whose_first_request_never_finished_or_is_a_day_old_is_freed(runtime: Runtime, client_as,
                                                                                client: AsyncClient) -> None:
    from datetime import timedelta

    from loa.db.base import utcnow
    from loa.domains.integrations.models import IdempotencyKey, IntegrationApp

    _, conversation_id, headers = await _asked(runtime, client_as, client, "Xin chào")
    async with runtime.session() as session:  # a first attempt whose process died mid-request
        app_id = await session.scalar(select(IntegrationApp.id))
        session.add(IdempotencyKey(app_id=app_id, key="k1", request_hash="x", created_at=utcnow()))
        session.add(IdempotencyKey(app_id=app_id, key="k2", request_hash="x",
                                   created_at=utcnow() - timedelta(minutes=5)))
        session.add(IdempotencyKey(app_id=app_id, key="k3", request_hash="x", status_code=201, response={"id": 1},
                                   created_at=utcnow() - timedelta(hours=25)))
        await session.commit()
    url = f"/api/v1/oa/conversations/{conversation_id}/messages"
    running = await client.post(url, json={"text": "a"}, headers=headers | {"Idempotency-Key": "k1"})
    assert running.status_code == 409 and running.json()["error"]["code"] == "idempotency_in_progress"
    freed = await client.post(url, json={"text": "b"}, headers=headers | {"Idempotency-Key": "k2"})
    assert freed.status_code == 201 and freed.json()["text"] == "b"
    expired = await client.post(url, json={"text": "c"}, headers=headers | {"Idempotency-Key": "k3"})
    assert expired.status_code == 201 and expired.json()["text"] == "c"
    again = await client.post(url, json={"text": "c"}, headers=headers | {"Idempotency-Key": "k3"})
    assert again.json() == expired.json()
