"""Webhooks: what happens in an account reaches its endpoints, signed (Standard Webhooks, verified here with the
library's own verifier), in order per conversation, retried with backoff, and an endpoint that keeps failing is
disabled with a notice; a worker killed mid-send loses nothing; staff read the log and replay."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.domains.integrations.helpers import Receiver, Tenant, eventually, make_tenant
from tests.domains.reports.helpers import file, waste_report
from tests.domains.reports.helpers import make_scene as report_scene
from tests.factories import make_user

from loa.db.base import utcnow
from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.follows import service as follows
from loa.domains.integrations import webhooks
from loa.domains.integrations.models import WebhookAttempt, WebhookDelivery
from loa.domains.people.models import AuditEvent, User
from loa.kit.effects import commit
from loa.runtime import Runtime


async def _endpoint(tenant: Tenant, url: str, events: list[str]) -> dict[str, Any]:
    response = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/webhooks",
                                          json={"url": url, "events": events, "description": "Hệ thống một cửa"})
    assert response.status_code == 201, response.text
    return response.json()


async def _follow(runtime: Runtime, citizen: User, account_id: int) -> None:
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=account_id)
        await commit(session)


async def _write(runtime: Runtime, citizen: User, account_id: int, text: str) -> None:
    await conversations.send_as_citizen(runtime, citizen=citizen, account_id=account_id,
                                        content=Content(kind="text", text=text))


async def _deliveries(runtime: Runtime, endpoint_id: str) -> list[WebhookDelivery]:
    async with runtime.read_session() as session:
        return list(await session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == int(endpoint_id)).order_by(WebhookDelivery.id)))


async def test_events_arrive_signed_per_standard_webhooks(runtime: Runtime, client_as, receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["follow", "unfollow", "message.received"])
    assert endpoint["secret"].startswith("whsec_")
    citizen = await make_user(runtime, name="Nguyễn Văn An")
    await _follow(runtime, citizen, tenant.account.id)
    await _write(runtime, citizen, tenant.account.id, "Xin chào, tôi muốn hỏi về học bạ.")
    await eventually(lambda: _count(receiver, 2))

    verifier = Webhook(endpoint["secret"])
    payloads = [verifier.verify(item.body, item.headers) for item in receiver.received]
    assert [payload["type"] for payload in payloads] == ["follow", "message.received"]
    follow_event, message_event = payloads
    assert follow_event["account_id"] == str(tenant.account.id)
    assert follow_event["data"] == {"user_id": str(citizen.id)}
    assert message_event["data"]["user_id"] == str(citizen.id)
    assert message_event["data"]["message"]["kind"] == "text"
    assert message_event["data"]["message"]["text"] == "Xin chào, tôi muốn hỏi về học bạ."
    assert receiver.received[0].headers["webhook-id"] == follow_event["id"]

    tampered = dict(receiver.received[0].headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(receiver.received[0].body.replace(b"follow", b"unfollow"), tampered)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(receiver.received[0].body, tampered)


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_only_chosen_events_are_sent_and_a_rolled_back_change_sends_nothing(
        runtime: Runtime, client_as, receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["unfollow"])
    citizen = await make_user(runtime)
    await _follow(runtime, citizen, tenant.account.id)  # not chosen
    async with runtime.session() as session:  # an unfollow that never happened
        await follows.unfollow(session, user=citizen, account_id=tenant.account.id)
        await session.rollback()
    async with runtime.session() as session:
        await follows.unfollow(session, user=citizen, account_id=tenant.account.id)
        await commit(session)
    await eventually(lambda: _count(receiver, 1))
    await asyncio.sleep(0.3)
    assert [item.json["type"] for item in receiver.received] == ["unfollow"]
    assert len(await _deliveries(runtime, endpoint["id"])) == 1


async def test_reports_and_broadcasts_reach_the_endpoint(runtime: Runtime, client_as, receiver: Receiver,
                                                        client: AsyncClient) -> None:
    scene = await report_scene(runtime, client_as)
    tenant = Tenant(scene.committee, scene.manager, scene.as_manager)
    await _endpoint(tenant, receiver.url, ["report.created", "report.status_changed", "broadcast.published"])
    report = await file(scene.as_citizen, waste_report())
    accepted = await scene.as_manager.post(f"/api/v1/reports/{report['id']}/actions", json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text
    draft = await scene.as_manager.post(f"/api/v1/accounts/{scene.committee.id}/broadcasts",
                                        json={"kind": "notice", "title": "Cắt nước ngày 5/12"})
    assert draft.status_code == 201, draft.text
    approved = await scene.as_manager.post(f"/api/v1/broadcasts/{draft.json()['id']}/approve")
    assert approved.status_code == 200, approved.text
    await eventually(lambda: _count(receiver, 3))
    events = [item.json for item in receiver.received]
    by_type = {event["type"]: event["data"] for event in events}
    assert by_type["report.created"] == {"report_id": str(report["id"]), "code": report["code"],
                                         "status": "submitted"}
    assert by_type["report.status_changed"]["status"] == "accepted"
    assert by_type["report.status_changed"]["action"] == "accept"
    assert by_type["broadcast.published"]["title"] == "Cắt nước ngày 5/12"


async def test_messages_of_a_conversation_arrive_in_order_despite_a_failure(runtime: Runtime, client_as,
                                                                           receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["message.received"])
    failing = {"một"}
    receiver.answer = lambda item: 503 if item.json["data"]["message"]["text"] in failing else 200
    citizen, other = await make_user(runtime), await make_user(runtime)
    await _write(runtime, citizen, tenant.account.id, "một")
    await _write(runtime, citizen, tenant.account.id, "hai")
    await _write(runtime, other, tenant.account.id, "khác")  # another conversation: not held up
    await eventually(lambda: _texts_received(receiver, {"một", "khác"}))
    await asyncio.sleep(1.5)  # a sweep or two: "hai" waits behind "một"
    assert "hai" not in {item.json["data"]["message"]["text"] for item in receiver.received}
    first = (await _deliveries(runtime, endpoint["id"]))[0]
    assert first.status == "pending" and first.attempts == 1 and first.last_status_code == 503
    assert utcnow() < first.next_attempt_at <= utcnow() + timedelta(seconds=30)  # retried later, not yet

    failing.clear()
    await webhooks.deliver_due(runtime, now=utcnow() + timedelta(minutes=1))
    texts = [item.json["data"]["message"]["text"] for item in receiver.ok()]
    assert texts.index("một") < texts.index("hai")
    assert texts.count("một") == 1 and texts.count("hai") == 1
    assert {d.status for d in await _deliveries(runtime, endpoint["id"])} == {"delivered"}


async def _texts_received(receiver: Receiver, texts: set[str]) -> bool:
    return texts <= {item.json["data"]["message"]["text"] for item in receiver.received}


async def test_retries_back_off_then_the_endpoint_is_disabled_with_a_notice(runtime: Runtime, client_as,
                                                                            receiver: Receiver,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "DISABLE_AFTER", 4)
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["follow"])
    receiver.answer = lambda item: 500
    citizen = await make_user(runtime)
    await _follow(runtime, citizen, tenant.account.id)
    await eventually(lambda: _count(receiver, 1))
    await eventually(lambda: _attempts_are(runtime, endpoint["id"], 1))
    delays = []
    for attempt in range(1, 4):
        [delivery] = await _deliveries(runtime, endpoint["id"])
        async with runtime.read_session() as session:
            last = await session.scalar(select(func.max(WebhookAttempt.created_at)).where(
                WebhookAttempt.delivery_id == delivery.id))
        delays.append((delivery.next_attempt_at - last).total_seconds())
        await webhooks.deliver_due(runtime, now=delivery.next_attempt_at + timedelta(seconds=1))
        await eventually(lambda n=attempt + 1: _attempts_are(runtime, endpoint["id"], n))
    assert 15 <= delays[0] <= 30 and 30 <= delays[1] <= 60 and 60 <= delays[2] <= 120  # doubling, with jitter

    url = f"/api/v1/accounts/{tenant.account.id}/webhooks"
    [shown] = (await tenant.as_owner.get(url)).json()
    assert shown["enabled"] is False and shown["consecutive_failures"] == 4 and shown["disabled_reason"]
    log = (await tenant.as_owner.get(f"{url}/{endpoint['id']}/deliveries")).json()["items"]
    assert [attempt["status_code"] for attempt in log[0]["log"]] == [500, 500, 500, 500]
    async with runtime.read_session() as session:
        notice = await session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook_endpoint.disabled"))
    assert notice is not None and notice.account_id == tenant.account.id

    # Disabled: new events are not queued for it, retries stop.
    await _follow(runtime, await make_user(runtime), tenant.account.id)
    await webhooks.deliver_due(runtime, now=utcnow() + timedelta(days=1))
    assert len(receiver.received) == 4 and len(await _deliveries(runtime, endpoint["id"])) == 1

    # Enabled again, with a receiver that works: the waiting delivery goes out.
    receiver.answer = lambda item: 200
    enabled = await tenant.as_owner.patch(f"{url}/{endpoint['id']}", json={"enabled": True})
    assert enabled.status_code == 200 and enabled.json()["consecutive_failures"] == 0
    await eventually(lambda: _status_is(runtime, endpoint["id"], "delivered"))


async def _attempts_are(runtime: Runtime, endpoint_id: str, n: int) -> bool:
    return [d.attempts for d in await _deliveries(runtime, endpoint_id)] == [n]


async def _status_is(runtime: Runtime, endpoint_id: str, status: str) -> bool:
    return {d.status for d in await _deliveries(runtime, endpoint_id)} == {status}


async def test_a_delivery_gives_up_after_its_last_attempt(runtime: Runtime, client_as, receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["follow"])
    receiver.answer = lambda item: 500
    await _follow(runtime, await make_user(runtime), tenant.account.id)
    await eventually(lambda: _attempts_are(runtime, endpoint["id"], 1))  # recorded, not only sent
    for hours in (1, 2, 3):
        await webhooks.deliver_due(runtime, now=utcnow() + timedelta(hours=hours))
    [delivery] = await _deliveries(runtime, endpoint["id"])
    assert delivery.status == "failed" and delivery.attempts == 3 and len(receiver.received) == 3


async def test_a_worker_killed_mid_send_loses_no_delivery(runtime: Runtime, client_as, receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["follow"])
    receiver.hold = asyncio.Event()  # the receiver takes the request and does not answer yet
    citizen = await make_user(runtime)
    await _follow(runtime, citizen, tenant.account.id)
    await eventually(lambda: _count(receiver, 1))
    # Kill the worker mid-send: every delivery task of this process is cancelled while waiting for the answer.
    sending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()
               and "_send" in _awaiting(task.get_coro())]
    assert sending
    for task in sending:
        task.cancel()
    await asyncio.sleep(0.2)
    [delivery] = await _deliveries(runtime, endpoint["id"])
    assert delivery.status == "pending" and delivery.lease_until is not None  # still claimed by the dead worker
    receiver.hold.set()
    receiver.received.clear()
    await webhooks.deliver_due(runtime, now=utcnow() + timedelta(seconds=5))
    assert receiver.received == []  # its lease holds: nobody sends it twice meanwhile
    await webhooks.deliver_due(runtime, now=utcnow() + webhooks.LEASE + timedelta(seconds=1))
    [delivery] = await _deliveries(runtime, endpoint["id"])
    assert delivery.status == "delivered" and len(receiver.received) == 1
    assert receiver.received[0].json["data"] == {"user_id": str(citizen.id)}


def _awaiting(coroutine: Any) -> list[str]:
    """The names of the coroutines a task is inside of, outermost first."""
    names = []
    while coroutine is not None:
        code = getattr(coroutine, "cr_code", None)
        if code is not None:
            names.append(code.co_name)
        coroutine = getattr(coroutine, "cr_await", None)
    return names


async def test_staff_read_the_log_and_replay_a_delivery(runtime: Runtime, client_as, receiver: Receiver) -> None:
    tenant = await make_tenant(runtime, client_as)
    endpoint = await _endpoint(tenant, receiver.url, ["follow"])
    await _follow(runtime, await make_user(runtime), tenant.account.id)
    await eventually(lambda: _status_is(runtime, endpoint["id"], "delivered"))
    url = f"/api/v1/accounts/{tenant.account.id}/webhooks/{endpoint['id']}/deliveries"
    [logged] = (await tenant.as_owner.get(url)).json()["items"]
    assert logged["status"] == "delivered" and logged["log"][0]["status_code"] == 200
    replayed = await tenant.as_owner.post(f"{url}/{logged['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    await eventually(lambda: _count(receiver, 2))
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.json == second.json

    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    assert (await other.as_owner.get(url)).status_code == 403
    assert (await other.as_owner.post(f"{url}/{logged['id']}/replay")).status_code == 403
    foreign = f"/api/v1/accounts/{other.account.id}/webhooks/{endpoint['id']}/deliveries"
    assert (await other.as_owner.get(foreign)).status_code == 404


async def test_an_endpoint_hears_only_its_own_account(runtime: Runtime, client_as, receiver: Receiver) -> None:
    mine = await make_tenant(runtime, client_as)
    theirs = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    await _endpoint(mine, receiver.url, ["follow", "message.received"])
    citizen = await make_user(runtime)
    await _follow(runtime, citizen, theirs.account.id)
    await _write(runtime, citizen, theirs.account.id, "Tôi bị mất ví.")
    await _follow(runtime, citizen, mine.account.id)
    await eventually(lambda: _count(receiver, 1))
    await asyncio.sleep(0.5)
    assert [(item.json["type"], item.json["account_id"]) for item in receiver.received] == [
        ("follow", str(mine.account.id))]


async def test_bad_endpoints_are_refused(runtime: Runtime, client_as) -> None:
    tenant = await make_tenant(runtime, client_as)
    url = f"/api/v1/accounts/{tenant.account.id}/webhooks"
    for body in ({"url": "ftp://example.vn/hook", "events": ["follow"]},
                 {"url": "https://example.vn/hook", "events": ["everything"]},
                 {"url": "https://example.vn/hook", "events": []},
                 {"url": "https://example.vn/hook", "events": ["follow"], "secret": "mine"}):
        response = await tenant.as_owner.post(url, json=body)
        assert response.status_code == 422, body
    editor = await make_user(runtime)
    from tests.factories import add_staff

    await add_staff(runtime, tenant.account, editor, "editor")
    as_editor = await client_as(editor)
    assert (await as_editor.post(url, json={"url": "https://example.vn/h", "events": ["follow"]})).status_code == 403


async def test_replies_and_read_receipts_are_reported(runtime: Runtime, client_as, receiver: Receiver,
                                                      client: AsyncClient) -> None:
    from tests.domains.integrations.helpers import bearer, get_tokens, make_app

    tenant = await make_tenant(runtime, client_as)
    await _endpoint(tenant, receiver.url, ["message.sent", "message.seen"])
    citizen = await make_user(runtime)
    await _write(runtime, citizen, tenant.account.id, "Cho hỏi giờ tiếp dân?")
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]
    [conversation] = (await client.get("/api/v1/oa/conversations", headers=bearer(token))).json()["items"]
    reply = await client.post(f"/api/v1/oa/conversations/{conversation['id']}/messages",
                              json={"text": "Sáng thứ Năm hằng tuần."}, headers=bearer(token))
    assert reply.status_code == 201
    async with runtime.session() as session:
        await conversations.citizen_mark_seen(session, citizen=citizen, account_id=tenant.account.id)
        await commit(session)
    await eventually(lambda: _count(receiver, 2))
    sent, seen = (item.json for item in receiver.received)
    assert sent["type"] == "message.sent" and sent["data"]["message"]["text"] == "Sáng thứ Năm hằng tuần."
    assert seen["type"] == "message.seen"
    assert seen["data"] == {"conversation_id": conversation["id"], "user_id": str(citizen.id),
                            "message_id": reply.json()["id"]}


def test_in_production_a_webhook_cannot_point_into_the_servers_own_network() -> None:
    from loa.kit.errors import Invalid

    for url in ("http://127.0.0.1:8000/admin", "http://10.0.0.5/hook", "http://[::1]/hook", "http://localhost/x",
                "http://169.254.169.254/latest/meta-data", "http://192.168.1.10/hook"):
        with pytest.raises(Invalid):
            webhooks._check_url(url, production=True)
        assert webhooks._check_url(url, production=False) == url  # a developer's own receiver
    assert webhooks._check_url("https://motcua.example.gov.vn/hook", production=True)
