"""The report journey on a phone: a category and its fields, a photo, a pin on a map without tiles, the reports
like it nearby suggested, a preview naming who will receive it, the tracking code; then the agency handles it and
the open page shows each step live, and the citizen rates the answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from tests.e2e.citizen_support import (
    act_on_report,
    agency,
    file_report,
    image_shown,
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
    photo_bytes,
    sign_in_new_citizen,
    someone,
)
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot

pytestmark = pytest.mark.usefixtures("patient_expect")

# Phường Tây Hồ, Hà Nội: a commune whose committee is this test's own agency.
TAY_HO = {"handle": "ubnd-tayho", "name": "UBND Phường Tây Hồ", "kind": "commune_committee", "commune": "00103"}
LAT, LON = 21.05810, 105.82030


async def test_a_citizen_files_a_report_and_follows_it_to_its_rating(page: Page, server: E2EServer,
                                                                    tmp_path: Path) -> None:
    committee = await agency(server, **TAY_HO)
    neighbour = await someone(server, "Lý Văn Tú")
    _, earlier = await file_report(server, neighbour, category_code="flooding", latitude=LAT + 0.0003,
                                   longitude=LON + 0.0002, title="Ngập sâu đầu ngõ 52 Tô Ngọc Vân",
                                   description="Mưa xong là ngập đến đầu gối, cống thoát nước bị tắc.")
    await sign_in_new_citizen(page, server, name="Phan Thị Mai", home_commune="00103")

    await page.get_by_role("link", name="Gửi phản ánh").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Gửi phản ánh")
    await check_accessibility(page)
    await page.get_by_role("link", name="Ngập úng, thoát nước").click()
    await page.get_by_label("Độ sâu ngập (cm) (không bắt buộc)").fill("40")
    await page.get_by_label("Vấn đề là gì?").fill("Nước ngập cả con ngõ sau cơn mưa chiều nay, xe máy chết máy.")
    await page.get_by_label("Ảnh (không bắt buộc)").set_input_files(
        {"name": "ngap.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes((40, 90, 160))})

    # No tile server: a blank map where a tap places the pin, and the coordinates as numbers.
    await expect(page.get_by_text("Chưa có nền bản đồ")).to_be_visible()
    # The notice is in the page's HTML; a tap counts once Leaflet has drawn the map (its scripts are deferred).
    await expect(page.locator("[data-map].leaflet-container")).to_be_visible()
    await page.locator("[data-map]").click()
    await expect(page.get_by_label("Vĩ độ")).not_to_have_value("")
    await expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    await page.get_by_label("Vĩ độ").fill(str(LAT))
    await page.get_by_label("Kinh độ").fill(str(LON))
    await page.get_by_label("Kinh độ").press("Tab")
    await expect(page.locator("[data-map-place]")).to_contain_text("Gần Phường Tây Hồ, Thành phố Hà Nội")
    nearby = page.locator("#nearby")
    await expect(nearby).to_contain_text("Có thể việc này đã được phản ánh")
    await expect(nearby).to_contain_text("Ngập sâu đầu ngõ 52 Tô Ngọc Vân")
    await expect(nearby).to_contain_text(earlier)
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await page.locator("[data-map-picker]").evaluate("element => element.scrollIntoView()")
    await screenshot(page, "citizen-report-form", tmp_path)

    # The preview: what will be sent, to whom, within which deadline; the photo as the agency will get it.
    await page.get_by_role("button", name="Xem lại trước khi gửi").click()
    preview = page.locator("[data-preview]")
    await expect(preview.get_by_role("heading", name="Xem lại phản ánh")).to_be_visible()
    await expect(preview).to_contain_text("UBND Phường Tây Hồ")
    await expect(preview).to_contain_text("8 giờ làm việc")
    await expect(preview).to_contain_text("40")
    await expect(preview).to_contain_text("Ngập sâu đầu ngõ 52 Tô Ngọc Vân")
    await image_shown(page, "[data-preview] img")
    await expect(page.get_by_label("Vấn đề là gì?")).to_be_hidden()
    await check_accessibility(page)
    await preview.get_by_role("link", name="Sửa lại").click()
    await expect(page.get_by_label("Vấn đề là gì?")).to_be_visible()
    await page.get_by_label("Tiêu đề (không bắt buộc)").fill("Ngập cả ngõ 48 Tô Ngọc Vân")
    await page.get_by_role("button", name="Xem lại trước khi gửi").click()
    await expect(preview).to_contain_text("Ngập cả ngõ 48 Tô Ngọc Vân")
    await preview.get_by_role("button", name="Gửi phản ánh").click()

    # Sent: the tracking code, the report among mine.
    await expect(page.get_by_text("Phản ánh của bạn đã được gửi.")).to_be_visible()
    code = await page.locator(".sent .code").inner_text()
    assert re.fullmatch(r"PA-\d{4}-\d{6}", code)
    report_id = int(page.url.split("/me/reports/")[1].split("?")[0])
    await image_shown(page, ".photos img")
    await check_accessibility(page)
    await page.get_by_role("link", name="Phản ánh của tôi").first.click()
    mine = page.locator("#my-reports > li").first
    await expect(mine).to_contain_text("Ngập cả ngõ 48 Tô Ngọc Vân")
    await expect(mine).to_contain_text(code)
    await expect(mine).to_contain_text("Đã gửi")
    await check_accessibility(page)

    # The agency handles it while the citizen has the page open: each step appears without reloading.
    await mine.get_by_role("link").click()
    timeline = page.locator("#timeline")
    await expect(timeline.locator("li")).to_have_count(1)
    await act_on_report(server, committee, report_id, "accept")
    await expect(timeline).to_contain_text("Đã tiếp nhận")
    await act_on_report(server, committee, report_id, "assign", assignee_id=committee.owner_id)
    await act_on_report(server, committee, report_id, "start")
    await expect(timeline).to_contain_text("Đã giao xử lý")
    await expect(timeline).to_contain_text("Đang xử lý")
    await act_on_report(server, committee, report_id, "resolve",
                        note="Đã nạo vét cống đầu ngõ, nước đã rút hết sau 2 giờ.")
    await expect(timeline).to_contain_text("Đã xử lý, có kết quả trả lời")
    await expect(page.locator(".answer")).to_contain_text("Đã nạo vét cống đầu ngõ")
    await expect(page.locator(".state__status")).to_contain_text("Đã có kết quả")

    # Rated once resolved (a missing choice said next to the stars first).
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await expect(page.locator("#f-rating-error")).to_have_text("Lỗi: Hãy chọn từ 1 đến 5 sao.")
    await page.locator("label[for='f-rating-4']").click()
    await page.get_by_label("Nhận xét (không bắt buộc)").fill("Xử lý nhanh trong ngày.")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await expect(page.get_by_text("Cảm ơn bạn: đánh giá của bạn giúp cơ quan làm tốt hơn.")).to_be_visible()
    await expect(page.get_by_role("img", name="4 trên 5 sao").first).to_be_visible()
    await expect(timeline).to_contain_text("Người phản ánh đã đánh giá")
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await screenshot(page, "citizen-report", tmp_path, full_page=True)

    # The reporter accepts the answer: the report is closed.
    await page.get_by_role("button", name="Rồi, đóng phản ánh").click()
    await expect(page.locator(".state__status")).to_contain_text("Đã đóng")


async def test_report_form_errors_are_said_next_to_each_field_in_both_languages(page: Page,
                                                                                server: E2EServer) -> None:
    await agency(server, **TAY_HO)
    await sign_in_new_citizen(page, server, next_path="/reports/new?category=school")
    description = page.get_by_label("Vấn đề là gì?")
    await description.fill("Ngắn quá")
    await page.get_by_role("button", name="Xem lại trước khi gửi").click()
    await expect(page.locator("#f-description-error")).to_have_text("Lỗi: Mô tả cần ít nhất 10 ký tự")
    await expect(page.locator("#f-field_school_name-error")).to_have_text("Lỗi: Cần điền “Tên trường”")
    await expect(page.locator("#f-latitude-error")).to_contain_text("Hãy đặt ghim trên bản đồ")
    await expect(page.get_by_label("Vấn đề là gì?")).to_have_value("Ngắn quá")
    await check_accessibility(page)

    await page.get_by_role("link", name="English").click()
    await page.get_by_label("What is the problem?").fill("Too short")
    await page.get_by_label("School").fill("Trường Tiểu học Tây Hồ")
    await page.get_by_role("button", name="Check before sending").click()
    await expect(page.locator("#f-description-error")).to_have_text(
        "Error: The description needs at least 10 characters")
    await expect(page.locator("#f-field_school_name-error")).to_have_count(0)
    await expect(page.get_by_label("School")).to_have_value("Trường Tiểu học Tây Hồ")
    await expect(page.get_by_label("What is the problem?")).to_have_value("Too short")
