"""The reports queue in the console on a desktop: deadline colours, filters, and a report accepted, assigned,
started and resolved; a step someone else took meanwhile is refused with words a person understands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect
from tests.e2e.console_support import (
    act_on_report,
    citizen_reports,
    free_commune,
    make_account,
    make_citizen,
    received_for_near_deadline,
)
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot, sign_in_staff

from loa.db.base import utcnow
from loa.domains.reports.models import Report

OWNER = "nuocsach@loa.example"


async def _report(server: E2EServer, report_id: int) -> Report:
    async def read() -> Report:
        async with server.runtime.read_session() as session:
            found = await session.get(Report, report_id)
            assert found is not None
            return found

    return await server.call(read())


async def test_the_queue_shows_deadlines_and_a_report_is_handled_to_its_answer(desktop_page: Page,
                                                                               server: E2EServer,
                                                                               tmp_path: Path) -> None:
    page = desktop_page
    commune = await free_commune(server)
    account = await make_account(server, OWNER, name="UBND Xã Phản Ánh", commune=commune)
    citizen = await make_citizen(server, "Đỗ Thị Phản Ánh", commune=commune[0])
    fresh_id, fresh = await citizen_reports(server, citizen, commune[0], title="Rác tồn đọng ở cổng chợ",
                                            description="Rác thải sinh hoạt tồn đọng ba ngày ở cổng chợ xã.")
    late_id, late = await citizen_reports(server, citizen, commune[0], title="Bãi rác tự phát ven sông",
                                          description="Bãi rác tự phát ven sông gây mùi hôi cho cả xóm.",
                                          received=utcnow() - timedelta(days=20))
    _, near = await citizen_reports(server, citizen, commune[0], title="Cống thoát nước bị tắc", category="flooding",
                                    description="Cống thoát nước đầu ngõ bị tắc, mưa là ngập cả đoạn đường.",
                                    received=await received_for_near_deadline(server))
    assert (await _report(server, fresh_id)).account_id == account.id

    await sign_in_staff(page, OWNER, next_path=f"{account.base}/reports")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Phản ánh")
    rows = page.locator("table.reports tbody tr")
    await expect(rows).to_have_count(3)
    late_row = rows.filter(has=page.get_by_role("link", name=late))
    near_row = rows.filter(has=page.get_by_role("link", name=near))
    fresh_row = rows.filter(has=page.get_by_role("link", name=fresh))
    await expect(rows.first).to_have_attribute("data-deadline", "late")  # the nearest deadline is the passed one
    await expect(late_row).to_have_class("row--late")
    await expect(late_row).to_contain_text("Quá hạn")
    await expect(near_row).to_have_class("row--near")
    await expect(near_row).to_contain_text("Sắp đến hạn")
    await expect(fresh_row).to_have_attribute("data-deadline", "ok")
    assert await late_row.evaluate("row => getComputedStyle(row.cells[1]).backgroundColor") == "rgb(253, 232, 232)"
    await check_accessibility(page)
    await screenshot(page, "console-reports", tmp_path)

    await page.get_by_label("Chỉ phản ánh quá hạn").check()
    await page.get_by_role("button", name="Lọc").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(late)
    await page.get_by_label("Chỉ phản ánh quá hạn").uncheck()
    await page.get_by_label("Từ khóa hoặc mã").fill("cong cho")  # without accents: "cổng chợ"
    await page.get_by_role("button", name="Lọc").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(fresh)

    # Accept, assign, start, resolve: each step the workflow allows, in the order it allows them.
    await rows.first.get_by_role("link", name=fresh).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(fresh)
    await expect(page.locator(".facts")).to_contain_text("Đỗ Thị Phản Ánh")
    await check_accessibility(page)
    await page.get_by_role("button", name="Tiếp nhận").click()
    await expect(page.locator(".page-head .state")).to_have_text("Đã tiếp nhận")
    await page.get_by_label("Người xử lý").select_option(label="Đặng Hữu Phúc (Nước sạch Hà Nội)")
    await page.get_by_role("button", name="Giao", exact=True).click()
    await expect(page.locator(".page-head .state")).to_have_text("Đã giao xử lý")
    await page.get_by_role("button", name="Bắt đầu xử lý").click()
    await expect(page.locator(".page-head .state")).to_have_text("Đang xử lý")
    await page.get_by_role("button", name="Gửi kết quả trả lời").click()
    await expect(page.locator("#f-resolve_note-error")).to_contain_text("Cần ghi lý do, câu hỏi hoặc nội dung trả lời")
    await page.get_by_label("Kết quả trả lời người phản ánh").fill("Đã thu gom toàn bộ rác và bố trí thêm thùng.")
    await page.get_by_role("button", name="Gửi kết quả trả lời").click()
    await expect(page.locator(".page-head .state")).to_have_text("Đã có kết quả")
    timeline = page.locator(".timeline")
    for step in ("Đã gửi phản ánh", "Đã tiếp nhận", "Đã giao xử lý", "Đang xử lý", "Đã xử lý, có kết quả trả lời"):
        await expect(timeline).to_contain_text(step)
    await expect(timeline).to_contain_text("Đã thu gom toàn bộ rác")
    await page.get_by_role("button", name="Ẩn khỏi trang công khai").click()
    await expect(page.locator(".facts")).to_contain_text("cán bộ đã ẩn")
    await check_accessibility(page)
    await screenshot(page, "console-report", tmp_path, full_page=True)
    handled = await _report(server, fresh_id)
    assert handled.status == "resolved" and handled.answer == "Đã thu gom toàn bộ rác và bố trí thêm thùng."
    assert handled.hidden

    # Someone else accepts the overdue report while this page is open: the step is refused, readably.
    await page.goto(f"{account.base}/reports/{late_id}")
    await act_on_report(server, OWNER, late_id, "accept")
    await page.get_by_role("button", name="Tiếp nhận").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Không thể thực hiện bước này nữa: phản ánh hiện đang ở trạng thái “Đã tiếp nhận”. "
        "Trang đã cập nhật những việc có thể làm bây giờ.")
    await expect(page.get_by_role("button", name="Tiếp nhận")).to_have_count(0)
    await expect(page.get_by_role("button", name="Giao", exact=True)).to_be_visible()
    await check_accessibility(page)
