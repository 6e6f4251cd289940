"""The console's pages over HTTP (no browser): every page answers its own account's staff, in their role, and
refuses everyone else; forms keep what was typed and say what is wrong next to the field."""

from __future__ import annotations

import re
from typing import Any

from httpx import AsyncClient
from tests.factories import BA_DINH, HANOI, add_staff, make_account, make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import text_content
from loa.domains.follows import service as follows
from loa.kit.effects import commit
from loa.runtime import Runtime

BROWSER = {"Accept": "text/html"}
PAGES = ("", "/inbox", "/inbox-replies", "/broadcasts", "/broadcasts/new", "/reports", "/followers", "/staff",
         "/automation", "/profile")


async def _staff(runtime: Runtime, client_as: Any, email: str, account: Any, role: str) -> AsyncClient:
    person = await make_user(runtime, name=f"Cán bộ {role}", email=email)
    async with runtime.session() as session:
        from loa.domains.people.models import User

        user = await session.get(User, person.id)
        assert user is not None
        user.password_hash = "x"  # a staff login (signed in here straight into a session)
        await commit(session)
    await add_staff(runtime, account, person, role)
    client: AsyncClient = await client_as(person)
    client.headers.update(BROWSER)
    return client


async def test_every_page_opens_for_the_owner_and_none_for_another_accounts_staff(runtime: Runtime,
                                                                                  client_as: Any) -> None:
    account = await make_account(runtime, name="UBND Phường Thử", kind="commune_committee", province=HANOI,
                                 commune=BA_DINH)
    other = await make_account(runtime, name="Sở Y tế Thử", province=HANOI)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    stranger = await _staff(runtime, client_as, "stranger@example.vn", other, "owner")
    citizen = await make_user(runtime, name="Nguyễn Văn Dân", commune=BA_DINH)
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=account.id)
        await commit(session)
    stored = await conversations.send_as_citizen(runtime, citizen=citizen, account_id=account.id,
                                                 content=text_content("Xin hỏi giờ làm việc của phường?"))
    conversation_id = stored.row["conversation_id"]

    for path in (*PAGES, f"/inbox/{conversation_id}"):
        page = await owner.get(f"/console/{account.id}{path}")
        assert page.status_code == 200, (path, page.text[:2000])
        assert "Traceback" not in page.text
        refused = await stranger.get(f"/console/{account.id}{path}")
        assert refused.status_code in (403, 404), path
    inbox = await owner.get(f"/console/{account.id}/inbox")
    assert "Nguyễn Văn Dân" in inbox.text and "Xin hỏi giờ làm việc" in inbox.text
    # Another account's conversation under this account's address is not found.
    assert (await stranger.get(f"/console/{other.id}/inbox/{conversation_id}")).status_code == 404


async def test_an_agent_sees_only_the_pages_of_their_role(runtime: Runtime, client_as: Any) -> None:
    account = await make_account(runtime, name="UBND Phường Thử", kind="commune_committee", province=HANOI,
                                 commune=BA_DINH)
    viewer = await _staff(runtime, client_as, "viewer@example.vn", account, "viewer")
    assert (await viewer.get(f"/console/{account.id}")).status_code == 200
    assert (await viewer.get(f"/console/{account.id}/reports")).status_code == 200
    for path in ("/inbox", "/followers", "/broadcasts/new", "/automation"):
        assert (await viewer.get(f"/console/{account.id}{path}")).status_code == 403, path
    menu = (await viewer.get(f"/console/{account.id}")).text
    assert f'href="/console/{account.id}/inbox"' not in menu and f'href="/console/{account.id}/reports"' in menu


async def test_the_profile_keeps_what_was_typed_and_the_application_carries_its_documents(runtime: Runtime,
                                                                                         client_as: Any) -> None:
    account = await make_account(runtime, name="Công ty Cấp nước Thử", kind="water", province=HANOI, verified=False)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    base = f"/console/{account.id}"

    refused = await owner.post(f"{base}/profile", data={"name": "Công ty Cấp nước Thử", "website": "capnuoc.vn"})
    assert refused.status_code == 422
    assert "Hãy nhập địa chỉ trang web bắt đầu bằng https://" in refused.text and 'value="capnuoc.vn"' in refused.text
    saved = await owner.post(f"{base}/profile", data={"name": "Công ty Cấp nước Thử", "website": "https://capnuoc.vn",
                                                     "phone": "1900 1234"})
    assert saved.status_code == 303
    assert "1900 1234" in (await owner.get(f"{base}/profile")).text

    untitled = await owner.post(f"{base}/verification", data={"note": "Đề nghị xác minh"})
    assert untitled.status_code == 422 and "Hãy đính kèm ít nhất một giấy tờ" in untitled.text
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    applied = await owner.post(f"{base}/verification", data={"title1": "Quyết định thành lập số 12/QĐ-UBND"},
                               files={"file1": ("quyet-dinh.pdf", pdf, "application/pdf")})
    assert applied.status_code == 303, applied.text
    page = (await owner.get(f"{base}/profile")).text
    assert "Đang chờ duyệt xác minh" in page and "Quyết định thành lập số 12/QĐ-UBND" in page
    document = await owner.get(f"{base}/verification/documents/0")
    assert document.status_code == 200 and document.content == pdf
    assert document.headers["content-type"] == "application/pdf"


async def test_canned_replies_and_keyword_answers_are_edited_keeping_what_was_typed(runtime: Runtime,
                                                                                   client_as: Any) -> None:
    account = await make_account(runtime, name="UBND Phường Thử", kind="commune_committee", province=HANOI,
                                 commune=BA_DINH)
    other = await make_account(runtime, name="Sở Y tế Thử", province=HANOI)
    owner = await _staff(runtime, client_as, "owner@example.vn", account, "owner")
    agent = await _staff(runtime, client_as, "agent@example.vn", account, "agent")
    stranger = await _staff(runtime, client_as, "stranger@example.vn", other, "owner")
    base = f"/console/{account.id}"

    assert (await owner.post(f"{base}/inbox-replies", data={"title": "Giờ làm việc",
                                                            "text": "Sáng 7:30–11:30."})).status_code == 303
    reply_id = int(re.findall(r"/inbox-replies/(\d+)/edit", (await owner.get(f"{base}/inbox-replies")).text)[0])
    edit = await agent.get(f"{base}/inbox-replies/{reply_id}/edit")  # agents answer the inbox: theirs to edit
    assert edit.status_code == 200 and 'value="Giờ làm việc"' in edit.text and "Sáng 7:30–11:30." in edit.text
    refused = await agent.post(f"{base}/inbox-replies/{reply_id}/edit",
                               data={"title": " ", "text": "Sáng 7:30–11:30, chiều 13:30–17:00."})
    assert refused.status_code == 422
    assert "Hãy đặt một tiêu đề ngắn cho câu trả lời." in refused.text
    assert "Sáng 7:30–11:30, chiều 13:30–17:00." in refused.text  # the text typed, not the stored one
    saved = await agent.post(f"{base}/inbox-replies/{reply_id}/edit",
                             data={"title": "Giờ tiếp dân", "text": "Sáng 7:30–11:30, chiều 13:30–17:00."})
    assert saved.status_code == 303
    page = (await owner.get(saved.headers["location"])).text
    assert "Giờ tiếp dân" in page and "chiều 13:30–17:00" in page and "Giờ làm việc" not in page
    assert (await stranger.get(f"{base}/inbox-replies/{reply_id}/edit")).status_code == 403
    assert (await stranger.get(f"/console/{other.id}/inbox-replies/{reply_id}/edit")).status_code == 404
    assert (await stranger.post(f"/console/{other.id}/inbox-replies/{reply_id}/edit",
                                data={"title": "Của tôi", "text": "Của tôi"})).status_code == 404

    assert (await owner.post(f"{base}/automation/rules", data={
        "keywords": "tạm trú", "reply": "Mang CCCD đến phường.", "match": "contains",
        "priority": "100"})).status_code == 303
    rule_id = int(re.findall(r"/automation/rules/(\d+)/edit", (await owner.get(f"{base}/automation")).text)[0])
    form = await owner.get(f"{base}/automation/rules/{rule_id}/edit")
    assert form.status_code == 200 and 'value="tạm trú"' in form.text
    assert 'name="enabled" value="1" checked' in form.text
    bad = await owner.post(f"{base}/automation/rules/{rule_id}/edit", data={
        "keywords": "tạm trú, tạm vắng", "reply": "Mang CCCD và sổ hộ khẩu.", "match": "exact", "priority": "sớm"})
    assert bad.status_code == 422 and "Hãy nhập một số từ 1 đến 1000." in bad.text
    assert 'value="tạm trú, tạm vắng"' in bad.text and "Mang CCCD và sổ hộ khẩu." in bad.text
    assert 'value="exact" selected' in bad.text and 'value="sớm"' in bad.text
    saved = await owner.post(f"{base}/automation/rules/{rule_id}/edit", data={
        "keywords": "tạm trú, tạm vắng", "reply": "Mang CCCD và sổ hộ khẩu.", "match": "exact", "priority": "5"})
    assert saved.status_code == 303
    page = (await owner.get(saved.headers["location"])).text
    assert "tạm vắng" in page and "Mang CCCD và sổ hộ khẩu." in page and "đang tắt" in page  # left unticked
    assert "Mang CCCD đến phường." not in page
    assert (await agent.get(f"{base}/automation/rules/{rule_id}/edit")).status_code == 403  # managers only
    assert (await stranger.post(f"/console/{other.id}/automation/rules/{rule_id}/edit", data={
        "keywords": "x", "reply": "x", "priority": "1"})).status_code == 404
