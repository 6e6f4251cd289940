"""The operators' administration in a real browser, on a desktop: an operator verifies a new account and the
badge shows publicly; a rejection needs its reason; routing rules and holidays are added and seen; citizens and
agency staff are refused; every page passes the accessibility check, in Vietnamese and in English."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from tests.e2e.admin_support import (
    new_account,
    new_application,
    operator_page,
    remember_operator,
    verification_status,
)
from tests.e2e.helpers import CITIZEN_PHONES, E2EServer, check_accessibility, screenshot, sign_in_citizen, sign_in_staff

from loa.domains.reports import admin

HOLIDAY_YEAR = 2031  # far from the deadlines other journeys compute: their calendar does not change


@pytest.fixture
async def operator(browser: Browser, server: E2EServer) -> AsyncIterator[Page]:
    async with operator_page(browser, server) as page:
        yield page


async def test_an_operator_verifies_a_new_account(desktop_page: Page, server: E2EServer, tmp_path: Path) -> None:
    page = desktop_page
    new = await new_application(server, "Công ty Cấp nước Cà Mau")
    await page.goto("/admin/verification")
    await sign_in_staff(page, "vanhanh@loa.example")  # password, then the authenticator's code
    await expect(page).to_have_url(f"{server.url}/admin/verification")
    remember_operator(server, await page.context.storage_state())

    item = page.locator(".queue__item").filter(has_text=new.name)
    await expect(item).to_contain_text("Quyết định thành lập")
    await expect(item).to_contain_text(f"GUQ-{new.handle.removeprefix('thu-')}")
    await expect(item.get_by_text("Đang chờ duyệt")).to_be_visible()
    await check_accessibility(page)
    await screenshot(page, "admin-verification-desktop", tmp_path)

    # The scanned decision opens for the operator (and for nobody else: see the HTTP tests).
    link = item.get_by_role("link", name="quyet-dinh-thanh-lap.pdf")
    document = await page.request.get(await link.get_attribute("href") or "")
    assert document.status == 200 and document.headers["content-type"] == "application/pdf"
    assert (await document.body()).startswith(b"%PDF")

    await item.get_by_role("link", name=re.compile(f"^Xem xét và quyết định.*{new.name}$")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ của {new.name}")
    await check_accessibility(page)
    await page.get_by_role("button", name="Duyệt và cấp dấu xác minh").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã duyệt hồ sơ")
    await expect(page.locator(".facts")).to_contain_text("Đã xác minh")
    assert await verification_status(server, new.account_id) == "verified"

    # Citizens now find it, with the badge.
    await page.get_by_role("link", name="Xem tài khoản như người dân tìm thấy").click()
    card = page.locator(".cards > li").filter(has_text=new.name)
    await expect(card).to_contain_text("đã xác minh")

    await page.goto("/admin/verification?view=decided")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=new.name))
    await expect(row).to_contain_text("Đã duyệt")
    await expect(row).to_contain_text("Vận hành Loa")
    await check_accessibility(page)


async def test_a_rejection_without_a_reason_is_explained_next_to_the_field(operator: Page,
                                                                           server: E2EServer) -> None:
    page = operator
    new = await new_application(server, "Trạm Y tế Phường Thử Nghiệm", kind="hospital")
    await page.goto(f"/admin/verification/{new.application_id}")
    await page.get_by_role("button", name="Từ chối hồ sơ").click()

    reason = page.get_by_label("Lý do từ chối")
    await expect(page.locator("#f-reason-error")).to_have_text("Lỗi: Từ chối cần nêu lý do")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_be_focused()
    await check_accessibility(page)
    assert await verification_status(server, new.account_id) == "pending"

    await reason.fill("Giấy ủy quyền chưa có chữ ký của thủ trưởng đơn vị.")
    await page.get_by_role("button", name="Từ chối hồ sơ").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã từ chối hồ sơ")
    await expect(page.locator(".facts")).to_contain_text("Giấy ủy quyền chưa có chữ ký")
    assert await verification_status(server, new.account_id) == "rejected"


async def test_an_operator_adds_a_routing_rule_and_sees_it_listed(operator: Page, server: E2EServer) -> None:
    page = operator
    name = "Điện lực Cà Mau (thử nghiệm)"
    _, handle = await new_account(server, name)
    await page.goto("/admin/routing")
    await check_accessibility(page)
    add = page.get_by_role("region", name="Thêm quy tắc")
    await add.get_by_label("Loại phản ánh").select_option("power_outage")
    await add.get_by_label("Tỉnh, thành phố").select_option(label="Tỉnh Cà Mau")
    await add.get_by_label("Tài khoản nhận phản ánh").fill("khong-co-tai-khoan-nay")
    await add.get_by_role("button", name="Thêm quy tắc").click()
    await expect(page.locator("#f-account-error")).to_contain_text("Không có tài khoản nào mang tên định danh này")
    await expect(add.get_by_label("Tỉnh, thành phố")).to_have_value("96")  # the choices are kept

    await add.get_by_label("Tài khoản nhận phản ánh").fill(handle)
    await add.get_by_label("Thứ tự ưu tiên").fill("20")
    await add.get_by_role("button", name="Thêm quy tắc").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã thêm quy tắc chuyển")
    row = page.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("Mất điện, sự cố điện")
    await expect(row).to_contain_text("Tỉnh Cà Mau")
    await expect(row.get_by_role("cell").nth(2)).to_have_text("20")
    await check_accessibility(page)

    # Edit it, then delete it: the rule sends no real report anywhere afterwards.
    await row.get_by_role("link", name="Sửa").click()
    await expect(page.get_by_label("Tài khoản nhận phản ánh")).to_have_value(handle)
    await check_accessibility(page)
    await page.get_by_role("button", name="Xóa quy tắc này").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã xóa quy tắc chuyển")
    await expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)


async def test_an_operator_adds_a_holiday_and_sees_the_calendar(operator: Page, server: E2EServer,
                                                                tmp_path: Path) -> None:
    page = operator
    await page.goto("/admin/calendar")
    year = admin.this_year()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Lịch nghỉ lễ năm {year}")
    await expect(page.get_by_role("table", name="Tháng 1", exact=True)).to_be_visible()
    # The built-in public holidays, lunar Tết included, as the `holidays` calendar gives them.
    days_off = page.locator("section").filter(has=page.get_by_role("heading", name=f"Các ngày nghỉ năm {year}"))
    await expect(days_off).to_contain_text("Tết Nguyên Đán")
    await expect(days_off).to_contain_text("Quốc khánh")
    await check_accessibility(page)
    await screenshot(page, "admin-calendar-desktop", tmp_path, full_page=True)

    await page.get_by_role("navigation", name="Năm khác").get_by_role("link", name=str(year + 1)).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Lịch nghỉ lễ năm {year + 1}")
    await page.goto(f"/admin/calendar?year={HOLIDAY_YEAR}")
    await page.get_by_label("Ngày", exact=True).fill(f"{HOLIDAY_YEAR}-03-10")
    await page.get_by_label("Ngày nghỉ thêm").check()
    await page.get_by_role("button", name="Lưu thay đổi").click()
    await expect(page.locator("#f-name-error")).to_have_text(
        "Lỗi: Hãy nêu lý do, ví dụ văn bản quy định ngày này.")  # a reason is required
    await expect(page.get_by_label("Ngày", exact=True)).to_have_value(f"{HOLIDAY_YEAR}-03-10")
    await page.get_by_label("Lý do").fill("Nghỉ theo quyết định thử nghiệm")
    await page.get_by_role("button", name="Lưu thay đổi").click()

    await expect(page.get_by_role("status")).to_contain_text("Đã thay đổi lịch")
    march = page.get_by_role("table", name="Tháng 3", exact=True)
    await expect(march.locator("td.day--off.day--changed")).to_have_text("10: Nghỉ theo quyết định thử nghiệm")
    change = page.locator("#changes").get_by_role("row").filter(has_text="Nghỉ theo quyết định thử nghiệm")
    await expect(change).to_contain_text("Ngày nghỉ thêm")
    await check_accessibility(page)

    await change.get_by_role("button", name="Hoàn tác").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã bỏ thay đổi")
    await expect(march.locator("td.day--changed")).to_have_count(0)


async def test_citizens_and_agency_staff_get_the_refusal_page(page: Page, desktop_page: Page,
                                                             server: E2EServer) -> None:
    await sign_in_citizen(page, server, CITIZEN_PHONES[10], next_path="/")
    response = await page.goto("/admin")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không mở được trang này")
    await expect(page.get_by_role("main")).to_contain_text("Trang này chỉ dành cho quản trị viên nền tảng")
    await check_accessibility(page)

    await sign_in_staff(desktop_page, "danang@loa.example", next_path="/console")
    for path in ("/admin", "/admin/verification", "/admin/calendar"):
        response = await desktop_page.goto(path)
        assert response is not None and response.status == 403, path
        await expect(desktop_page.get_by_role("heading", level=1)).to_have_text("Bạn không mở được trang này")
    await expect(desktop_page.get_by_role("link", name="Quản trị")).to_have_count(0)  # no menu item either
    await check_accessibility(desktop_page)


async def test_every_administration_page_passes_the_accessibility_check(operator: Page, server: E2EServer) -> None:
    page = operator
    new = await new_application(server, "Trường Mầm non Thử Nghiệm", kind="school")
    pages = ["/admin", "/admin/verification", "/admin/verification?view=decided",
             f"/admin/verification/{new.application_id}", "/admin/accounts", "/admin/accounts?q=bo+y+te",
             f"/admin/accounts/{new.account_id}", "/admin/organisations", "/admin/categories",
             "/admin/categories/new", "/admin/categories/traffic_violation", "/admin/routing", "/admin/calendar"]
    for path in pages:
        response = await page.goto(path)
        assert response is not None and response.status == 200, path
        await expect(page.get_by_role("navigation", name="Danh mục quản trị")).to_be_visible()
        await check_accessibility(page)
    await page.goto("/admin/organisations")
    await page.get_by_role("link", name="UBND Thành phố Hà Nội").click()
    await expect(page.get_by_label("Tên tổ chức")).to_have_value("UBND Thành phố Hà Nội")
    await expect(page.locator("section").filter(has_text="Tổ chức cấp dưới")).to_contain_text("Sở Y tế Hà Nội")
    await check_accessibility(page)


async def test_the_administration_switches_to_english_and_back(operator: Page, server: E2EServer) -> None:
    page = operator
    await page.goto("/admin/verification")
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(f"{server.url}/admin/verification")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Verification of accounts")
    nav = page.get_by_role("navigation", name="Administration menu")
    await expect(nav.get_by_role("link", name="Holiday calendar")).to_be_visible()
    await check_accessibility(page)

    await nav.get_by_role("link", name="Routing rules").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Routing rules")
    await expect(page.get_by_label("Report category")).to_contain_text("Power outage")
    await page.goto("/admin/calendar")
    await expect(page.get_by_role("table", name="January", exact=True)).to_be_visible()
    await expect(page.locator("section").filter(has=page.get_by_role("heading", name="Days off in"))).to_contain_text(
        "Lunar New Year")

    await page.get_by_role("link", name="Tiếng Việt").click()
    await expect(page).to_have_url(f"{server.url}/admin/calendar")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_role("navigation", name="Danh mục quản trị").get_by_role(
        "link", name="Lịch nghỉ lễ")).to_have_attribute("aria-current", "page")
