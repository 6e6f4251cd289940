"""The Zalo-OA-compatible surface, driven by the unmodified `zalo-sdk` client from PyPI pointed at a real Loa
server on a loopback port: an existing Zalo integration works by changing its base URL."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest
import zalo_sdk
from PIL import Image
from tests.domains.integrations.helpers import bearer, get_tokens, make_app, make_tenant
from tests.factories import make_user
from tests.servers import running_server
from zalo_sdk.oa import Client
from zalo_sdk.oa.ZaloMessage import ZaloMessageBody, ZaloRecipient

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime
from loa.settings import Settings


async def test_an_existing_zalo_client_works_against_loa(runtime: Runtime, settings: Settings, client_as,
                                                         client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    app = await make_app(tenant)
    token = (await get_tokens(client, app))["access_token"]
    citizen = await make_user(runtime, name="Lê Thị Cúc")
    stranger = await make_user(runtime, name="Người lạ")
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=tenant.account.id)
        await follows.follow(session, user=stranger, account_id=other.account.id)
        await commit(session)
    await conversations.send_as_citizen(runtime, citizen=citizen, account_id=tenant.account.id,
                                        content=Content(kind="text", text="Cho hỏi thủ tục cấp đổi thẻ BHYT?"))

    with running_server(settings) as base_url:
        zalo = Client(app["client_id"], app["client_secret"], access_token=token, endpoint_prefix=f"{base_url}/zalo")

        def call(method: str, *args: Any) -> Any:
            return getattr(zalo, method)(*args)

        async def run(method: str, *args: Any) -> Any:
            return await asyncio.to_thread(call, method, *args)

        sent = await run("send_message", ZaloRecipient(user_id=str(citizen.id)),
                         ZaloMessageBody(text="Anh/chị mang theo CCCD đến trạm y tế phường."))
        assert sent["error"] == 0 and sent["data"]["user_id"] == str(citizen.id)
        detail = await run("get_user_detail", str(citizen.id))
        assert detail["data"]["display_name"] == "Lê Thị Cúc" and detail["data"]["user_is_follower"] is True
        listed = await run("get_list", {"offset": 0, "count": 50})
        assert listed["data"]["total"] == 1 and listed["data"]["users"] == [{"user_id": str(citizen.id)}]
        assert (await run("tag_follower", str(citizen.id), "BHYT"))["error"] == 0
        tags = (await run("get_tags_of_oa"))["data"]
        assert len(tags) == 1
        tagged = await run("get_list", {"offset": 0, "count": 10, "tag_name": tags[0]})
        assert tagged["data"]["users"] == [{"user_id": str(citizen.id)}]
        assert (await run("rm_follower_from_tag", str(citizen.id), tags[0]))["error"] == 0
        assert (await run("get_user_detail", str(citizen.id)))["data"]["tags_and_notes_info"]["tag_names"] == []

        picture = io.BytesIO()
        Image.new("RGB", (20, 20), (0, 120, 200)).save(picture, "PNG")
        uploaded = await run("upload_file", picture.getvalue(), "image", "logo.png", "image/png")
        assert uploaded["error"] == 0 and uploaded["data"]["attachment_id"]

        # Zalo's refusals, as the client understands them.
        with pytest.raises(zalo_sdk.ZaloOAException) as stranger_detail:  # another account's follower
            await run("get_user_detail", str(stranger.id))
        assert stranger_detail.value.args[0] == -201
        with pytest.raises(zalo_sdk.ZaloOAException) as not_following:
            await run("send_message", ZaloRecipient(user_id=str(stranger.id)), ZaloMessageBody(text="Chào"))
        assert not_following.value.args[0] == -213
        revoked = Client(app["client_id"], app["client_secret"], access_token="loaa_wrong",
                         endpoint_prefix=f"{base_url}/zalo")
        with pytest.raises(zalo_sdk.ZaloOAException) as bad_token:
            await asyncio.to_thread(revoked.get_tags_of_oa)
        assert bad_token.value.args[0] == -216

        # What the client does not cover, with plain HTTP in Zalo's style.
        async with httpx.AsyncClient(base_url=f"{base_url}/zalo", headers={"access_token": token}) as raw:
            oa = (await raw.get("/v2.0/oa/getoa")).json()
            assert oa["error"] == 0 and oa["data"]["name"] == "Sở Y tế Hà Nội" and oa["data"]["num_follower"] == 1
            chat = (await raw.get("/v2.0/oa/conversation",
                                  params={"data": f'{{"user_id": "{citizen.id}", "offset": 0, "count": 10}}'})).json()
            assert [item["message"] for item in chat["data"]] == [
                "Anh/chị mang theo CCCD đến trạm y tế phường.", "Cho hỏi thủ tục cấp đổi thẻ BHYT?"]
            assert [item["src"] for item in chat["data"]] == [0, 1]
            recent = (await raw.get("/v2.0/oa/listrecentchat", params={"data": '{"offset":0,"count":5}'})).json()
            assert [item["from_id"] for item in recent["data"]] == [str(tenant.account.id)]
            malformed = await raw.get("/v3.0/oa/user/detail", params={"data": "{not json"})
            assert malformed.status_code == 200 and malformed.json()["error"] == -201
            too_many = (await raw.get("/v3.0/oa/user/getlist", params={"data": '{"offset":0,"count":500}'})).json()
            assert too_many["error"] == -201
            by_query = (await httpx.AsyncClient().get(f"{base_url}/zalo/v2.0/oa/getoa",
                                                      params={"access_token": token})).json()
            assert by_query["error"] == 0

    # The account's owner sees the Zalo calls in the app's call log, refusals included (the log is written
    # in batches once a second: read it until the last batch is in).
    expected = {("/v3.0/oa/message/cs", 200), ("/v3.0/oa/message/cs", 403), ("/v3.0/oa/user/detail", 422)}
    for _ in range(150):
        calls = (await tenant.as_owner.get(f"/api/v1/accounts/{tenant.account.id}/apps/{app['id']}/calls",
                                           params={"limit": 200})).json()["items"]
        logged = {(call["route"], call["status"]) for call in calls}
        if expected <= logged:
            break
        await asyncio.sleep(0.1)
    assert ("/v3.0/oa/message/cs", 200) in logged and ("/v3.0/oa/message/cs", 403) in logged
    assert ("/v3.0/oa/user/detail", 422) in logged

    # The native API sees what the Zalo client sent.
    messages = await client.get("/api/v1/oa/conversations?state=waiting", headers=bearer(token))  # answered
    assert messages.json()["items"][0]["preview"].startswith("Anh/chị mang theo CCCD")


async def test_a_reply_to_a_given_message_and_a_tag_removed_from_every_follower(runtime: Runtime, client_as,
                                                                                client: httpx.AsyncClient) -> None:
    """What the client package does not call: `message/cs` answering a message by its id (only the account's
    own messages), and `tag/rmtag` taking a tag off every follower at once."""
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    token = (await get_tokens(client, await make_app(tenant)))["access_token"]
    headers = {"access_token": token}
    an, binh = await make_user(runtime, name="Nguyễn Văn An"), await make_user(runtime, name="Trần Thị Bình")
    async with runtime.session() as session:
        for citizen in (an, binh):
            await follows.follow(session, user=citizen, account_id=tenant.account.id)
        await commit(session)
    asked = await conversations.send_as_citizen(runtime, citizen=an, account_id=tenant.account.id,
                                                content=Content(kind="text", text="Cho hỏi lịch tiêm chủng?"))
    elsewhere = await conversations.send_as_citizen(runtime, citizen=binh, account_id=other.account.id,
                                                    content=Content(kind="text", text="Mất giấy tờ xe"))

    def answer(message_id: int) -> dict[str, Any]:
        return {"recipient": {"message_id": str(message_id)}, "message": {"text": "Thứ Bảy, 8 giờ sáng."}}

    replied = (await client.post("/zalo/v3.0/oa/message/cs", json=answer(asked.row["id"]), headers=headers)).json()
    assert replied["error"] == 0 and replied["data"]["user_id"] == str(an.id)
    foreign = (await client.post("/zalo/v3.0/oa/message/cs", json=answer(elsewhere.row["id"]),
                                 headers=headers)).json()
    assert foreign["error"] == -201
    async with runtime.read_session() as session:
        theirs = await conversations.conversation_with(session, account_id=other.account.id, citizen_id=binh.id)
    assert theirs is not None and theirs.messages_out == 0

    for citizen in (an, binh):
        tagged = await client.post("/zalo/v2.0/oa/tag/tagfollower", headers=headers,
                                   json={"user_id": str(citizen.id), "tag_name": "Hộ nghèo"})
        assert tagged.json()["error"] == 0
    removed = await client.post("/zalo/v2.0/oa/tag/rmtag", json={"tag_name": "ho ngheo"}, headers=headers)
    assert removed.json()["error"] == 0
    assert (await client.get("/zalo/v2.0/oa/tag/gettagsofoa", headers=headers)).json()["data"] == []
    for citizen in (an, binh):
        detail = (await client.get("/zalo/v3.0/oa/user/detail", headers=headers,
                                   params={"data": f'{{"user_id": "{citizen.id}"}}'})).json()
        assert detail["data"]["tags_and_notes_info"]["tag_names"] == []
