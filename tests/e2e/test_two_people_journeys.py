"""Journeys with two people at once, each in their own browser: what one does in the console reaches the other's
open page live."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Browser, Page, expect
from tests.e2e.citizen_support import (
    patient_expect,  # noqa: F401 - the fixture pytestmark names
    photo_bytes,
    sign_in_new_citizen,
)
from tests.e2e.console_support import free_commune, make_account
from tests.e2e.helpers import E2EServer, sign_in_staff

from loa.domains.reports.models import Report

pytestmark = pytest.mark.usefixtures("patient_expect")

MINISTRY_OWNER = "boyte@loa.example"
COMMITTEE_OWNER = "nuocsach@loa.example"  # a demo staff login, owner of the commune account made here


async def test_a_citizen_finds_bo_y_te_follows_it_and_sees_a_broadcast_staff_publish_appear_live(
        page: Page, browser: Browser, server: E2EServer) -> None:
    await sign_in_new_citizen(page, server, name="Trần Thị Mai", next_path="/accounts")
    await page.get_by_label("Tên cơ quan, đơn vị").press_sequentially("bo y te", delay=30)
    first = page.locator("#results-list > li").first
    await expect(first).to_contain_text("Bộ Y tế")
    await first.get_by_role("link", name="Bộ Y tế").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bộ Y tế")
    await page.get_by_role("button", name="Theo dõi", exact=True).click()
    await expect(page.get_by_text("Bạn đang theo dõi tài khoản này")).to_be_visible()

    # The ministry's owner, in another browser, composes and publishes from the console.
    title = f"Khuyến cáo phòng sốt xuất huyết mùa mưa {uuid.uuid4().hex[:4]}"
    staff = await browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800},
                                      locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        console = await staff.new_page()
        await sign_in_staff(console, MINISTRY_OWNER, next_path="/console")
        await console.get_by_role("link", name="Bộ Y tế").first.click()
        await console.get_by_role("link", name="Bản tin", exact=True).first.click()
        await console.get_by_role("link", name="Soạn bản tin").click()
        await console.get_by_label("Tiêu đề", exact=True).fill(title)
        await console.get_by_label("Nội dung", exact=True).fill("Đậy kín dụng cụ chứa nước, diệt lăng quăng hằng tuần.")
        await console.get_by_role("button", name="Đăng", exact=True).click()
        await expect(console.get_by_role("status")).to_have_text("Đã đăng: người theo dõi đã có thể xem.")
    finally:
        await staff.close()

    # The citizen's page, never reloaded, shows it.
    await expect(page.locator("#thread")).to_contain_text(title)


async def test_a_citizen_files_a_report_with_a_photo_staff_handle_it_in_the_console_and_the_citizen_rates_it(
        page: Page, browser: Browser, server: E2EServer) -> None:
    commune, province = await free_commune(server)
    account = await make_account(server, COMMITTEE_OWNER, name="UBND Xã Hai Người", commune=(commune, province))
    await sign_in_new_citizen(page, server, name="Hồ Văn Bình", next_path="/reports/new")
    await page.get_by_role("link", name="Rác thải, vệ sinh môi trường").click()
    await page.get_by_label("Vấn đề là gì?").fill("Rác thải đổ trộm thành đống ở đầu cầu, bốc mùi cả tuần nay.")
    await page.get_by_label("Ảnh (không bắt buộc)").set_input_files(
        {"name": "rac.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((90, 120, 60))})
    await page.get_by_text("Không dùng bản đồ? Nhập địa chỉ").click()
    await page.get_by_label("Địa chỉ", exact=True).fill("Đầu cầu thôn Đông")
    await page.get_by_label("Tỉnh, thành phố").select_option(value=province)
    commune_select = page.get_by_label("Xã, phường")
    await expect(commune_select.locator(f"option[value='{commune}']")).to_have_count(1)
    await commune_select.select_option(value=commune)
    await page.get_by_role("button", name="Xem lại trước khi gửi").click()
    preview = page.locator("[data-preview]")
    await expect(preview).to_contain_text(account.name)
    await preview.get_by_role("button", name="Gửi phản ánh").click()
    await expect(page.get_by_text("Phản ánh của bạn đã được gửi.")).to_be_visible()
    code = await page.locator(".sent .code").inner_text()
    report_id = int(page.url.split("/me/reports/")[1].split("?")[0])
    timeline = page.locator("#timeline")
    await expect(timeline.locator("li")).to_have_count(1)

    # Staff of the commune, in another browser, take it through the workflow in the console.
    staff = await browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800},
                                      locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        console = await staff.new_page()
        await sign_in_staff(console, COMMITTEE_OWNER, next_path=f"{account.base}/reports")
        await console.get_by_role("link", name=code).click()
        photo = console.locator(f"img[src^='/api/v1/reports/{report_id}/photos/']")
        await expect(photo).to_have_count(1)  # the citizen's photo, for the staff
        await expect(photo).to_have_js_property("complete", True)
        assert await photo.evaluate("image => image.naturalWidth") > 0  # it loaded: a picture, not a broken link
        await console.get_by_role("button", name="Tiếp nhận").click()
        await expect(console.locator(".page-head .state")).to_have_text("Đã tiếp nhận")
        await expect(timeline).to_contain_text("Đã tiếp nhận")  # the citizen's open page, live
        await console.get_by_label("Người xử lý").select_option(index=1)
        await console.get_by_role("button", name="Giao", exact=True).click()
        await console.get_by_role("button", name="Bắt đầu xử lý").click()
        await expect(console.locator(".page-head .state")).to_have_text("Đang xử lý")
        await console.get_by_label("Kết quả trả lời người phản ánh").fill("Đã thu dọn bãi rác và đặt biển cấm đổ.")
        await console.get_by_role("button", name="Gửi kết quả trả lời").click()
        await expect(console.locator(".page-head .state")).to_have_text("Đã có kết quả")
    finally:
        await staff.close()

    for step in ("Đã giao xử lý", "Đang xử lý", "Đã xử lý, có kết quả trả lời"):
        await expect(timeline).to_contain_text(step)
    await expect(page.locator(".answer")).to_contain_text("Đã thu dọn bãi rác")
    await page.locator("label[for='f-rating-5']").click()
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await expect(page.get_by_role("img", name="5 trên 5 sao").first).to_be_visible()
    await expect(timeline).to_contain_text("Người phản ánh đã đánh giá")

    async def rating() -> int | None:
        async with server.runtime.read_session() as session:
            return (await session.get(Report, report_id)).rating  # type: ignore[union-attr]

    assert await server.call(rating()) == 5
