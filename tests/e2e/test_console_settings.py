"""Automatic answers in the console on a desktop: errors next to the field in Vietnamese and in English with what was
typed kept, the settings saved and shown again, a keyword answer added; and the console of an account stays closed
to the staff of another."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import select
from tests.e2e.console_support import (
    citizen_reports,
    citizen_writes,
    free_commune,
    make_account,
    make_citizen,
)
from tests.e2e.helpers import E2EServer, check_accessibility, sign_in_staff

from loa.domains.accounts.models import Account
from loa.domains.conversations import service as conversations
from loa.domains.people.models import User

STAFF = "hanoi@loa.example"
OTHER = "danang@loa.example"


async def test_automatic_answers_are_saved_and_forms_explain_errors_in_both_languages(desktop_page: Page,
                                                                                      server: E2EServer) -> None:
    page = desktop_page
    account = await make_account(server, STAFF, name="UBND Phường Tự Động", commune=await free_commune(server))
    await sign_in_staff(page, STAFF, next_path=f"{account.base}/automation")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Trả lời tự động")
    await check_accessibility(page)

    # The defaults are the administrative hours; a welcome turned on without its text, a period without its end.
    await expect(page.get_by_label("Thứ Hai, buổi 1, từ")).to_have_value("07:30")
    await page.get_by_label("Gửi lời chào tới mỗi người theo dõi mới").check()
    await page.get_by_label("Lời chào", exact=True).fill("")
    await page.get_by_label("Thứ Hai, buổi 1, từ").fill("08:00")
    await page.get_by_label("Thứ Hai, buổi 1, đến").fill("")
    await page.get_by_role("button", name="Lưu thiết lập").click()
    await expect(page.locator("#f-welcome_text-error")).to_have_text("Lỗi: Hãy viết lời chào, hoặc tắt tin chào.")
    await expect(page.get_by_label("Gửi lời chào tới mỗi người theo dõi mới")).to_be_checked()
    await expect(page.locator("#f-mon_0_start-error")).to_have_text(
        "Lỗi: Hãy nhập giờ bắt đầu và giờ kết thúc muộn hơn.")
    await expect(page.get_by_label("Thứ Hai, buổi 1, từ")).to_have_value("08:00")
    await check_accessibility(page)

    await page.get_by_role("link", name="English").click()
    await page.get_by_label("Send a welcome message to every new follower").check()
    await page.get_by_label("Welcome message", exact=True).fill("")
    await page.get_by_role("button", name="Save the settings").click()
    await expect(page.locator("#f-welcome_text-error")).to_have_text(
        "Error: Write the welcome message, or turn it off.")
    await page.get_by_role("link", name="Tiếng Việt").click()

    await page.get_by_label("Gửi lời chào tới mỗi người theo dõi mới").check()
    await page.get_by_label("Lời chào", exact=True).fill("Chào bạn! Phường trả lời trong giờ hành chính.")
    await page.get_by_label("Thứ Hai, buổi 1, từ").fill("08:00")
    await page.get_by_label("Thứ Hai, buổi 1, đến").fill("11:00")
    await page.get_by_label("Trả lời tin nhắn đến ngoài giờ làm việc").check()
    await page.get_by_role("button", name="Lưu thiết lập").click()
    await expect(page.get_by_role("status")).to_have_text("Đã lưu.")
    await page.reload()
    await expect(page.get_by_label("Lời chào", exact=True)).to_have_value(
        "Chào bạn! Phường trả lời trong giờ hành chính.")
    await expect(page.get_by_label("Thứ Hai, buổi 1, đến")).to_have_value("11:00")
    await expect(page.get_by_label("Thứ Ba, buổi 1, từ")).to_have_value("07:30")  # the other days kept
    await expect(page.get_by_label("Trả lời tin nhắn đến ngoài giờ làm việc")).to_be_checked()

    await page.get_by_label("Từ khóa", exact=True).fill("giờ làm việc, lịch tiếp dân")
    await page.get_by_label("Câu trả lời", exact=True).fill("Phường tiếp dân sáng thứ Hai, 8:00–11:00.")
    await page.get_by_role("button", name="Thêm câu trả lời").click()
    await expect(page.get_by_role("status")).to_have_text("Đã thêm.")
    rules = page.locator("table.data")
    await expect(rules).to_contain_text("lịch tiếp dân")
    await expect(rules).to_contain_text("Phường tiếp dân sáng thứ Hai")
    await check_accessibility(page)

    # The welcome is sent to a new follower, and the keyword answer to a question.
    citizen = await make_citizen(server, "Vũ Thị Chào", follows_account=account.id)
    await citizen_writes(server, citizen, account.id, "Cho hỏi lịch tiếp dân của phường?")

    async def received() -> list[str]:
        async with server.runtime.read_session() as session:
            person = await session.get(User, citizen)
            assert person is not None
            views, _ = await conversations.citizen_messages(session, citizen=person, account_id=account.id,
                                                            cursor=None, limit=10)
        return [view["text"] for view in reversed(views) if view["direction"] == "out"]

    assert await server.call(received()) == ["Chào bạn! Phường trả lời trong giờ hành chính.",
                                             "Phường tiếp dân sáng thứ Hai, 8:00–11:00."]


async def test_staff_of_one_account_cannot_open_another_accounts_console(desktop_page: Page,
                                                                         server: E2EServer) -> None:
    page = desktop_page
    commune = await free_commune(server)
    mine = await make_account(server, STAFF, name="UBND Phường Của Tôi", commune=commune)
    theirs = await make_account(server, OTHER, name="UBND Phường Của Người Khác", commune=await free_commune(server))
    citizen = await make_citizen(server, "Lý Văn Riêng", follows_account=theirs.id)
    their_conversation = await citizen_writes(server, citizen, theirs.id, "Tin nhắn riêng gửi phường khác.")
    their_report, _ = await citizen_reports(server, citizen, theirs.commune_code or "", title="Phản ánh riêng",
                                            description="Phản ánh của người dân gửi phường khác, không phải của bạn.")

    async def boyte() -> int:
        async with server.runtime.read_session() as session:
            found = await session.scalar(select(Account.id).where(Account.handle == "boyte"))
            assert found is not None
            return found

    await sign_in_staff(page, STAFF, next_path=mine.base)
    for path in (theirs.base, f"{theirs.base}/inbox", f"{theirs.base}/reports/{their_report}",
                 f"{theirs.base}/followers", f"/console/{await server.call(boyte())}/broadcasts"):
        response = await page.goto(path)
        assert response is not None and response.status == 403, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không mở được trang này")
        assert "Tin nhắn riêng" not in await page.content()
    for path in (f"{mine.base}/inbox/{their_conversation}", f"{mine.base}/reports/{their_report}",
                 "/console/987654321"):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
    await check_accessibility(page)
