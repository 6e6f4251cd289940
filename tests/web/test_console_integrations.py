"""The console's API keys and webhooks over HTTP (no browser): owners and administrators create apps and keys and
see each secret once, add webhook endpoints with their events, read the delivery log and send a delivery again;
forms keep what was typed and say what is wrong next to the field; nobody else opens any of it."""

from __future__ import annotations

import re
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from tests.factories import HANOI, add_staff, make_account, make_user

from loa.db.base import utcnow
from loa.domains.accounts.models import Account
from loa.domains.integrations import service as integrations
from loa.domains.integrations.models import WebhookAttempt, WebhookDelivery
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.runtime import Runtime

BROWSER = {"Accept": "text/html"}
DEAD_URL = "http://127.0.0.1:9/hook"  # nothing listens there: every attempt fails


async def _staff(runtime: Runtime, client_as: Any, email: str, account: Account, role: str) -> AsyncClient:
    person = await make_user(runtime, name=f"Cán bộ {role}", email=email)
    async with runtime.session() as session:
        user = await session.get(User, person.id)
        assert user is not None
        user.password_hash = "x"  # a staff login (signed in here straight into a session)
        await commit(session)
    await add_staff(runtime, account, person, role)
    client: AsyncClient = await client_as(person)
    client.headers.update(BROWSER)
    return client


async def _works(runtime: Runtime, key: str) -> bool:
    return await integrations.authenticate(runtime, key) is not None


def _location_id(page_text: str, pattern: str) -> int:
    found = re.search(pattern, page_text)
    assert found, pattern
    return int(found.group(1))


async def test_an_app_secret_and_an_api_key_are_shown_once_and_work(runtime: Runtime, client_as: Any,
                                                                     client: AsyncClient) -> None:
    account = await make_account(runtime, name="Sở Tư pháp Thử", province=HANOI)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    base = f"/console/{account.id}/integrations"

    assert "Chưa có ứng dụng nào." in (await owner.get(base)).text
    created = await owner.post(f"{base}/apps", data={"name": "Hệ thống một cửa", "scopes": ["messages", "reports"]})
    assert created.status_code == 201, created.text[:2000]
    secret = re.search(r'value="(loas_[^"]+)"', created.text)
    assert secret and "sẽ không được hiển thị lại" in created.text
    client_id = re.search(r"(loa_app_[0-9a-f]{16})", created.text)
    assert client_id
    app_id = _location_id(created.text, rf"{base}/apps/(\d+)/keys")

    # The secret really is the app's: it gets a token. A second visit never shows it again.
    token = await client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": client_id.group(1),
                                                           "client_secret": secret.group(1)})
    assert token.status_code == 200, token.text
    again = await owner.get(f"{base}/apps/{app_id}")
    assert again.status_code == 200 and secret.group(1) not in again.text and client_id.group(1) in again.text
    overview = (await owner.get(base)).text
    assert "Hệ thống một cửa" in overview and client_id.group(1) in overview
    assert "Tin nhắn: đọc và trả lời hộp thư" in overview and "Đang hoạt động" in overview

    made = await owner.post(f"{base}/apps/{app_id}/keys", data={"name": "Cổng thông tin", "scopes": ["reports"],
                                                                "lifetime": "90"})
    assert made.status_code == 201, made.text[:2000]
    key = re.search(r'value="(loak_[^"]+)"', made.text)
    assert key and "Đã tạo khóa API “Cổng thông tin”" in made.text
    assert await _works(runtime, key.group(1))
    listed = (await owner.get(f"{base}/apps/{app_id}")).text
    assert key.group(1) not in listed and key.group(1)[:11] in listed and "Cổng thông tin" in listed
    key_id = _location_id(listed, rf"{base}/apps/{app_id}/keys/(\d+)/revoke")

    revoked = await owner.post(f"{base}/apps/{app_id}/keys/{key_id}/revoke")
    assert revoked.status_code == 303
    assert "Đã thu hồi: không còn dùng được nữa." in (await owner.get(revoked.headers["location"])).text
    assert not await _works(runtime, key.group(1))
    assert (await owner.post(f"{base}/apps/{app_id}/revoke")).status_code == 303
    page = (await owner.get(f"{base}/apps/{app_id}")).text
    assert "Đã thu hồi" in page and "Tạo khóa API" not in page
    refused = await client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                             "client_id": client_id.group(1),
                                                             "client_secret": secret.group(1)})
    assert refused.status_code == 401


async def test_bad_input_is_explained_next_to_the_field_and_what_was_typed_is_kept(runtime: Runtime,
                                                                                    client_as: Any) -> None:
    account = await make_account(runtime, name="Sở Tư pháp Thử", province=HANOI)
    admin = await _staff(runtime, client_as, "admin@example.vn", account, "admin")
    base = f"/console/{account.id}/integrations"

    unnamed = await admin.post(f"{base}/apps", data={"name": "  ", "scopes": ["stats"]})
    assert unnamed.status_code == 422
    assert 'id="f-name-error"' in unnamed.text and "Hãy đặt tên cho ứng dụng" in unnamed.text
    assert re.search(r'value="stats" checked', unnamed.text)
    unscoped = await admin.post(f"{base}/apps", data={"name": "Chatbot"})
    assert unscoped.status_code == 422 and "Hãy chọn ít nhất một quyền cho ứng dụng." in unscoped.text
    assert 'value="Chatbot"' in unscoped.text

    bad_url = await admin.post(f"{base}/webhooks", data={"url": "ftp://example.vn/hook", "format": "loa",
                                                         "events": ["follow", "report.created"]})
    assert bad_url.status_code == 422
    assert 'id="f-url-error"' in bad_url.text and "Địa chỉ webhook phải là URL http(s)" in bad_url.text
    assert 'value="ftp://example.vn/hook"' in bad_url.text
    assert 'value="follow" checked' in bad_url.text and 'value="report.created" checked' in bad_url.text
    no_events = await admin.post(f"{base}/webhooks", data={"url": "https://example.vn/hook", "format": "loa"})
    assert no_events.status_code == 422 and "Hãy chọn ít nhất một sự kiện để gửi." in no_events.text
    zalo = await admin.post(f"{base}/webhooks", data={"url": "https://example.vn/hook", "format": "zalo",
                                                      "events": ["report.created"]})
    assert zalo.status_code == 422 and "Định dạng Zalo chỉ có sự kiện theo dõi và tin nhắn" in zalo.text
    assert "Chưa có điểm nhận webhook nào." in (await admin.get(base)).text  # nothing was made

    created = await admin.post(f"{base}/apps", data={"name": "Chatbot", "scopes": ["messages"]})
    app_id = _location_id(created.text, rf"{base}/apps/(\d+)/keys")
    nameless = await admin.post(f"{base}/apps/{app_id}/keys", data={"name": "", "scopes": ["messages"],
                                                                    "lifetime": "30"})
    assert nameless.status_code == 422 and "Hãy đặt tên cho khóa" in nameless.text
    assert 'value="30" selected' in nameless.text
    # A scope the app lacks cannot be ticked into a key.
    beyond = await admin.post(f"{base}/apps/{app_id}/keys", data={"name": "Khóa", "scopes": ["broadcasts"]})
    assert beyond.status_code == 422 and "Hãy chọn ít nhất một quyền cho khóa." in beyond.text
    assert "Traceback" not in beyond.text


async def _failed_delivery(runtime: Runtime, endpoint_id: int) -> int:
    """A delivery that used up its attempts (as the sender leaves one whose receiver kept failing)."""
    async with runtime.session() as session:
        now = utcnow()
        delivery = WebhookDelivery(endpoint_id=endpoint_id, event_id="evt_thu_nghiem_0001", event_type="follow",
                                   payload={"type": "follow", "data": {"user_id": "1"}}, status="failed",
                                   attempts=2, next_attempt_at=now, last_status_code=500, last_error="HTTP 500")
        session.add(delivery)
        await session.flush()
        session.add_all([WebhookAttempt(delivery_id=delivery.id, status_code=503, error="HTTP 503", duration_ms=12),
                         WebhookAttempt(delivery_id=delivery.id, status_code=500, error="HTTP 500", duration_ms=9)])
        await commit(session)
        return delivery.id


async def _deliveries_of(runtime: Runtime, event_id: str) -> int:
    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookDelivery)
                                        .where(WebhookDelivery.event_id == event_id)) or 0)


async def test_a_webhook_endpoint_its_delivery_log_and_a_replay(runtime: Runtime, client_as: Any) -> None:
    account = await make_account(runtime, name="Sở Tư pháp Thử", province=HANOI)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    base = f"/console/{account.id}/integrations"

    created = await owner.post(f"{base}/webhooks", data={
        "url": DEAD_URL, "format": "loa", "events": ["follow", "message.received"], "description": "Máy chủ thử"})
    assert created.status_code == 201, created.text[:2000]
    assert re.search(r'value="whsec_[^"]+"', created.text) and "sẽ không được hiển thị lại" in created.text
    endpoint_id = _location_id(created.text, rf"{base}/webhooks/(\d+)/disable")
    overview = (await owner.get(base)).text
    listed = overview[overview.index('id="webhooks"'):overview.index("Thêm điểm nhận webhook")]
    assert DEAD_URL in listed and "Có người theo dõi tài khoản" in listed
    assert "Người dân gửi tin nhắn" in listed and "Phản ánh chuyển trạng thái" not in listed
    page = (await owner.get(f"{base}/webhooks/{endpoint_id}")).text
    assert "whsec_" not in page and "Chưa gửi gì đến điểm nhận này." in page and "Máy chủ thử" in page

    delivery_id = await _failed_delivery(runtime, endpoint_id)
    log = (await owner.get(f"{base}/webhooks/{endpoint_id}")).text
    assert "Thất bại" in log and "HTTP 500" in log and "HTTP 503" in log and "evt_thu_nghiem_0001" in log
    assert "Thất bại" in (await owner.get(f"{base}/webhooks/{endpoint_id}?status=failed")).text
    assert "evt_thu_nghiem_0001" not in (await owner.get(f"{base}/webhooks/{endpoint_id}?status=delivered")).text
    nonsense = await owner.get(f"{base}/webhooks/{endpoint_id}?status=lost&cursor=%00nonsense")
    assert nonsense.status_code < 500 and "Traceback" not in nonsense.text

    replayed = await owner.post(f"{base}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
    assert replayed.status_code == 303
    after = (await owner.get(replayed.headers["location"])).text
    assert "Đã xếp hàng để gửi lại" in after and "Đang chờ gửi" in after
    assert await _deliveries_of(runtime, "evt_thu_nghiem_0001") == 2

    # Turned off, it refuses replays with a reason; turned on again, it takes them.
    assert (await owner.post(f"{base}/webhooks/{endpoint_id}/disable")).status_code == 303
    off = await owner.post(f"{base}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
    assert off.status_code == 409 and "Điểm nhận đang bị tắt" in off.text and "Đang tắt" in off.text
    assert await _deliveries_of(runtime, "evt_thu_nghiem_0001") == 2
    enabled = await owner.post(f"{base}/webhooks/{endpoint_id}/enable")
    assert "Đã bật" in (await owner.get(enabled.headers["location"])).text

    deleted = await owner.post(f"{base}/webhooks/{endpoint_id}/delete")
    assert deleted.status_code == 303
    assert DEAD_URL not in (await owner.get(deleted.headers["location"])).text
    assert (await owner.get(f"{base}/webhooks/{endpoint_id}")).status_code == 404


async def test_only_the_accounts_owners_and_administrators_reach_its_integrations(runtime: Runtime,
                                                                                  client_as: Any) -> None:
    account = await make_account(runtime, name="Sở Tư pháp Thử", province=HANOI)
    other = await make_account(runtime, name="Sở Y tế Thử", province=HANOI)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    agent = await _staff(runtime, client_as, "agent@example.vn", account, "agent")
    stranger = await _staff(runtime, client_as, "stranger@example.vn", other, "owner")
    base = f"/console/{account.id}/integrations"
    created = await owner.post(f"{base}/apps", data={"name": "Chatbot", "scopes": ["messages"]})
    app_id = _location_id(created.text, rf"{base}/apps/(\d+)/keys")
    made = await owner.post(f"{base}/apps/{app_id}/keys", data={"name": "Khóa", "scopes": ["messages"]})
    key_id = _location_id((await owner.get(f"{base}/apps/{app_id}")).text, r"/keys/(\d+)/revoke")
    assert made.status_code == 201
    hook = await owner.post(f"{base}/webhooks", data={"url": DEAD_URL, "format": "loa", "events": ["follow"]})
    endpoint_id = _location_id(hook.text, rf"{base}/webhooks/(\d+)/disable")
    delivery_id = await _failed_delivery(runtime, endpoint_id)

    pages = (base, f"{base}/apps/{app_id}", f"{base}/webhooks/{endpoint_id}")
    forms = (f"{base}/apps", f"{base}/apps/{app_id}/revoke", f"{base}/apps/{app_id}/keys",
             f"{base}/apps/{app_id}/keys/{key_id}/revoke", f"{base}/webhooks",
             f"{base}/webhooks/{endpoint_id}/enable", f"{base}/webhooks/{endpoint_id}/disable",
             f"{base}/webhooks/{endpoint_id}/delete",
             f"{base}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
    for outsider in (stranger, agent):
        for path in pages:
            refused = await outsider.get(path)
            assert refused.status_code == 403, path
            assert "Chatbot" not in refused.text and DEAD_URL not in refused.text
        for path in forms:
            assert (await outsider.post(path, data={"name": "X", "scopes": ["messages"], "url": DEAD_URL,
                                                    "format": "loa", "events": ["follow"]})).status_code == 403, path
    # This account's things under another account's address are not found, even by that account's owner.
    theirs = f"/console/{other.id}/integrations"
    for path in (f"{theirs}/apps/{app_id}", f"{theirs}/webhooks/{endpoint_id}"):
        assert (await stranger.get(path)).status_code == 404, path
    for path in (f"{theirs}/apps/{app_id}/revoke", f"{theirs}/webhooks/{endpoint_id}/delete",
                 f"{theirs}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"):
        assert (await stranger.post(path)).status_code == 404, path
    menu = (await agent.get(f"/console/{account.id}")).text
    assert f'href="{base}"' not in menu and f'href="{base}"' in (await owner.get(f"/console/{account.id}")).text
    page = (await owner.get(f"{base}/apps/{app_id}")).text
    assert "Đang hoạt động" in page  # nothing the others tried changed it
    # A form posted without the session's CSRF token (from another site) changes nothing.
    del owner.headers["X-CSRF-Token"]
    forged = await owner.post(f"{base}/apps", data={"name": "Giả mạo", "scopes": ["messages"]})
    assert forged.status_code == 403 and "Giả mạo" not in (await owner.get(base)).text
