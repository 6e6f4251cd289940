"""The agency console's dashboard and inbox on a desktop: today's figures, a citizen's message arriving live in the
open inbox and conversation, and the staff member's reply reaching the citizen's conversation."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from tests.e2e.console_support import citizen_writes, free_commune, make_account, make_citizen
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot, sign_in_staff

from loa.domains.conversations import service as conversations
from loa.domains.people.models import User

STAFF = "danang@loa.example"


async def test_the_inbox_receives_a_citizen_message_live_and_the_staff_reply(desktop_page: Page, server: E2EServer,
                                                                             tmp_path: Path) -> None:
    page = desktop_page
    account = await make_account(server, STAFF, name="UBND Phường Hộp Thư", commune=await free_commune(server))
    an = await make_citizen(server, "Trần Văn Hộp", follows_account=account.id, commune=account.commune_code)
    await citizen_writes(server, an, account.id, "Cho tôi hỏi lịch tiêm chủng tháng này?")

    await sign_in_staff(page, STAFF, next_path=account.base)
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hôm nay tại {account.name}")
    followers = page.locator(".figure").filter(has_text="người theo dõi mới")
    await expect(followers.locator(".figure__value")).to_have_text("1")
    received = page.locator(".figure").filter(has_text="tin nhắn nhận được")
    await expect(received.locator(".figure__value")).to_have_text("1")
    await expect(received).to_contain_text("1 cuộc hội thoại đang chờ trả lời")
    await check_accessibility(page)
    await screenshot(page, "console-dashboard", tmp_path)

    # The open inbox hears of a new conversation without a reload.
    await page.get_by_role("navigation", name="Danh mục trang quản lý").get_by_role("link", name="Hộp thư").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hộp thư")
    await expect(page.locator(".conversations")).to_contain_text("Trần Văn Hộp")
    await check_accessibility(page)
    binh = await make_citizen(server, "Lê Thị Trực Tiếp", follows_account=account.id)
    await page.wait_for_timeout(500)  # the live stream is open (it replays anything missed in any case)
    await citizen_writes(server, binh, account.id, "Đèn đường trước nhà tôi bị hỏng từ hôm qua.")
    first = page.locator(".conversations > li").first
    await expect(first).to_contain_text("Lê Thị Trực Tiếp", timeout=10_000)
    await expect(first).to_contain_text("Đèn đường trước nhà tôi bị hỏng")
    await expect(first.locator(".state--unread")).to_have_text("1 mới")

    # In the conversation, the citizen's next message appears live; the reply goes to the citizen.
    await first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Lê Thị Trực Tiếp")).to_be_visible()
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("Đèn đường trước nhà tôi bị hỏng từ hôm qua.")
    await page.wait_for_timeout(500)
    await citizen_writes(server, binh, account.id, "Ở số 12 ngõ 5 ạ.")
    await expect(messages.locator(".message--in").last).to_contain_text("Ở số 12 ngõ 5 ạ.", timeout=10_000)
    await page.get_by_label("Trả lời", exact=True).fill("Cảm ơn chị, phường sẽ cử người kiểm tra trong hôm nay.")
    await page.get_by_role("button", name="Gửi", exact=True).click()
    await expect(messages.locator(".message--out").last).to_contain_text("phường sẽ cử người kiểm tra")
    await expect(messages.locator(".message--out").last).to_contain_text("Huỳnh Văn Khoa")
    await check_accessibility(page)
    await screenshot(page, "console-inbox", tmp_path)

    async def citizen_sees() -> list[str]:
        async with server.runtime.read_session() as session:
            citizen = await session.get(User, binh)
            assert citizen is not None
            views, _ = await conversations.citizen_messages(session, citizen=citizen, account_id=account.id,
                                                            cursor=None, limit=10)
        return [view["text"] for view in views]

    assert (await server.call(citizen_sees()))[0] == "Cảm ơn chị, phường sẽ cử người kiểm tra trong hôm nay."

    # An empty reply is explained next to the box.
    await page.get_by_role("button", name="Gửi", exact=True).click()
    await expect(page.locator("#f-text-error")).to_contain_text("Tin nhắn không được để trống")

    # Still usable on a phone: nothing wider than its screen.
    await page.set_viewport_size({"width": 360, "height": 740})
    for path in (account.base, f"{account.base}/inbox"):
        await page.goto(path)
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360, path
