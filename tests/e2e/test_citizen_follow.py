"""Following an agency from its page: its announcements reach the citizen's home, live, with what is unread; the
account page shows its office hours and contacts; unfollowing takes it off the home page. The forms work without
scripts too."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from tests.e2e.citizen_support import (
    agency,
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
    publish,
    sign_in_new_citizen,
)
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot

pytestmark = pytest.mark.usefixtures("patient_expect")

HOURS = [{"weekday": day, "opens": "07:00", "closes": "11:30"} for day in range(5)] + \
        [{"weekday": day, "opens": "13:30", "closes": "17:00"} for day in range(5)] + \
        [{"weekday": 5, "opens": "07:00", "closes": "11:30"}]


async def test_following_brings_announcements_home_live_and_unfollowing_removes_them(
        page: Page, server: E2EServer, tmp_path: Path) -> None:
    clinic = await agency(server, handle="tytt-hoankiem", name="Trạm Y tế phường Hoàn Kiếm", kind="hospital",
                          commune="00070", office_hours=HOURS, contacts={"phone": "024 3825 2000",
                                                                         "address": "12 Hàng Bạc, Hoàn Kiếm"},
                          description="Tiêm chủng, khám sức khỏe ban đầu và thông tin y tế cho người dân phường.")
    await sign_in_new_citizen(page, server, name="Ngô Thị Thu", home_commune="00070")

    await page.goto(f"/a/{clinic.handle}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(clinic.name)
    await expect(page.get_by_text("Thứ Hai – Thứ Sáu: 07:00–11:30, 13:30–17:00")).to_be_visible()
    await expect(page.get_by_text("Thứ Bảy: 07:00–11:30")).to_be_visible()
    await expect(page.get_by_role("link", name="024 3825 2000")).to_have_attribute("href", "tel:02438252000")
    await page.get_by_role("button", name="Theo dõi", exact=True).click()
    await expect(page.get_by_text("Bạn đang theo dõi tài khoản này")).to_be_visible()
    await expect(page.get_by_text("1 người theo dõi")).to_be_visible()
    await expect(page.get_by_text("Tài khoản này chưa đăng thông báo nào.")).to_be_visible()

    # Published while the page is open: it appears without reloading.
    await publish(server, clinic, "Lịch tiêm vắc-xin sởi tháng này", "Tiêm **miễn phí** cho trẻ từ 9 tháng tuổi.")
    thread = page.locator("#thread")
    await expect(thread).to_contain_text("Lịch tiêm vắc-xin sởi tháng này")
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await screenshot(page, "citizen-account", tmp_path)

    # Home: the account among mine, and the next announcement arriving live, marked new.
    await page.get_by_role("navigation", name="Danh mục chính").get_by_role("link", name="Trang chủ").click()
    await expect(page.locator("#my-accounts")).to_contain_text(clinic.name)
    await expect(page.locator("#feed")).to_contain_text("Lịch tiêm vắc-xin sởi tháng này")
    await publish(server, clinic, "Khám sức khỏe miễn phí cho người cao tuổi", kind="alert")
    fresh = page.locator("#feed li", has_text="Khám sức khỏe miễn phí cho người cao tuổi")
    await expect(fresh).to_contain_text("Mới")
    await expect(fresh).to_contain_text("Cảnh báo")
    await expect(fresh).to_contain_text(clinic.name)
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await screenshot(page, "citizen-home", tmp_path)

    # Reading it: its own page; back home it is no longer new.
    await fresh.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Khám sức khỏe miễn phí cho người cao tuổi")
    await check_accessibility(page)
    await page.goto("/")
    await expect(page.locator("#feed li", has_text="Khám sức khỏe miễn phí")).not_to_contain_text("Mới")

    # Unfollowing: off the home page.
    await page.goto(f"/a/{clinic.handle}")
    await expect(page.locator("#thread")).to_contain_text("Tiêm miễn phí cho trẻ từ 9 tháng tuổi.")
    await page.get_by_role("button", name="Bỏ theo dõi").click()
    await expect(page.get_by_role("button", name="Theo dõi", exact=True)).to_be_visible()
    await page.goto("/")
    await expect(page.get_by_text("Bạn chưa theo dõi tài khoản nào.")).to_be_visible()
    await expect(page.locator("main")).not_to_contain_text(clinic.name)


async def test_following_works_without_scripts(browser: Browser, server: E2EServer) -> None:
    clinic = await agency(server, handle="tytt-hoankiem", name="Trạm Y tế phường Hoàn Kiếm", kind="hospital",
                          commune="00070")
    context = await browser.new_context(base_url=server.url, java_script_enabled=False, locale="vi-VN",
                                        viewport={"width": 360, "height": 740})
    try:
        page = await context.new_page()
        await sign_in_new_citizen(page, server)
        await page.goto(f"/a/{clinic.handle}")
        await page.get_by_role("button", name="Theo dõi", exact=True).click()
        await expect(page.get_by_text("Bạn đang theo dõi tài khoản này")).to_be_visible()
        await page.get_by_role("button", name="Tắt thông báo").click()
        await expect(page.get_by_text("Đang tắt thông báo từ tài khoản này.")).to_be_visible()
        await page.get_by_role("button", name="Bỏ theo dõi").click()
        await expect(page.get_by_role("button", name="Theo dõi", exact=True)).to_be_visible()
    finally:
        await context.close()
