"""Citizens write to accounts and staff answer: every message kind, both directions, receipts, retries."""

from __future__ import annotations

import io

from PIL import Image
from tests.domains.conversations.helpers import make_scene
from tests.factories import add_staff, make_user

from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime


async def test_a_citizen_writes_and_staff_answer_as_the_account(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    agent = scene.agent
    account = scene.account
    as_citizen = scene.as_citizen
    as_agent = scene.as_agent

    sent = await as_citizen.post(f"/api/v1/accounts/{account.id}/conversation/messages",
                                 json={"text": "Xin chào, cho hỏi lịch tiêm chủng?"})
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["direction"] == "in" and message["kind"] == "text"

    inbox = (await as_agent.get(f"/api/v1/accounts/{account.id}/inbox")).json()["items"]
    assert [row["citizen"]["name"] for row in inbox] == ["Nguyễn Văn An"]
    assert inbox[0]["unread"] == 1 and inbox[0]["preview"] == "Xin chào, cho hỏi lịch tiêm chủng?"
    conversation_id = inbox[0]["id"]

    reply = await as_agent.post(f"/api/v1/conversations/{conversation_id}/messages",
                                json={"text": "Chào anh, lịch tiêm vào thứ Bảy."})
    assert reply.status_code == 201, reply.text
    assert reply.json()["sent_by"] == {"id": agent.id, "name": "Cán bộ Lan"}

    mine = (await as_citizen.get(f"/api/v1/accounts/{account.id}/conversation/messages")).json()["items"]
    assert [m["text"] for m in mine] == ["Chào anh, lịch tiêm vào thứ Bảy.", "Xin chào, cho hỏi lịch tiêm chủng?"]
    assert "sent_by" not in mine[0]  # the citizen sees the account, not the person

    row = (await as_agent.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert row["state"] == "waiting" and row["unread"] == 0
    assert row["first_response_seconds"] is not None


async def test_photo_loses_its_gps_and_gets_a_thumbnail(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    account = scene.account
    as_citizen = scene.as_citizen
    as_agent = scene.as_agent
    image = Image.new("RGB", (1600, 1200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (21.0, 1.0, 30.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif().get_ifd(0x8825)

    sent = await as_citizen.post(f"/api/v1/accounts/{account.id}/conversation/uploads",
                                 files={"file": ("pho-ho-ga.jpg", buffer.getvalue(), "image/jpeg")},
                                 data={"caption": "Ổ gà trước nhà"})
    assert sent.status_code == 201, sent.text
    attachment = sent.json()["attachment"]
    assert sent.json()["kind"] == "image" and attachment["width"] == 1600

    for url in (attachment["url"], attachment["thumbnail_url"]):
        served = await as_agent.get(url)
        assert served.status_code == 200
        stored = Image.open(io.BytesIO(served.content))
        assert not stored.getexif()  # no EXIF at all, so no GPS
    thumb = Image.open(io.BytesIO((await as_agent.get(attachment["thumbnail_url"])).content))
    assert max(thumb.size) <= 320

    stranger = await client_as(await make_user(runtime))
    assert (await stranger.get(attachment["url"])).status_code == 404


async def test_welcome_message_on_follow(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    citizen = scene.citizen
    account = scene.account
    as_citizen = scene.as_citizen
    owner = await make_user(runtime, email="owner@soyte.example")
    await add_staff(runtime, account, owner, "owner")
    as_owner = await client_as(owner)
    settings = await as_owner.put(f"/api/v1/accounts/{account.id}/automation", json={
        "welcome_enabled": True, "welcome_text": "Cảm ơn bạn đã quan tâm Sở Y tế Hà Nội.",
        "out_of_hours_enabled": False, "office_hours": {"days": {}}})
    assert settings.status_code == 200, settings.text
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=account.id)
        await commit(session)
    mine = (await as_citizen.get(f"/api/v1/accounts/{account.id}/conversation/messages")).json()["items"]
    assert [(m["text"], m["auto"]) for m in mine] == [("Cảm ơn bạn đã quan tâm Sở Y tế Hà Nội.", "welcome")]
