"""A citizen on a phone finds agencies: results as they type (accents optional), narrowed by province, commune and
kind, the verified badge telling official accounts from others."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from tests.e2e.citizen_support import (
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
)
from tests.e2e.helpers import check_accessibility, screenshot

pytestmark = pytest.mark.usefixtures("patient_expect")


async def test_discover_searches_as_you_type_and_narrows_by_place_and_kind(page: Page, tmp_path: Path) -> None:
    await page.goto("/accounts")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tìm cơ quan")
    results = page.locator("#results-list")

    # Typed without accents, no button pressed: the results follow the typing.
    await page.get_by_label("Tên cơ quan, đơn vị").press_sequentially("bo y te", delay=30)
    await expect(page.get_by_role("heading", name="Kết quả cho “bo y te”")).to_be_visible()
    await expect(results.locator("> li").first).to_contain_text("Bộ Y tế")
    await expect(results.locator("> li").first).to_contain_text("đã xác minh")
    await expect(page).to_have_url(re.compile(r"/accounts\?q=bo(\+|%20)y(\+|%20)te"))  # an address to share
    await check_accessibility(page)

    # A province, then one of its communes (the commune list follows the province).
    await page.get_by_label("Tên cơ quan, đơn vị").fill("")
    await page.get_by_text("Lọc theo tỉnh, xã, loại cơ quan").click()
    await page.get_by_label("Tỉnh, thành phố").select_option(label="Thành phố Hồ Chí Minh")
    await expect(results).to_contain_text("UBND Phường Sài Gòn")
    await expect(results).not_to_contain_text("Bộ Y tế")
    commune = page.get_by_label("Xã, phường")
    await expect(commune.locator("option", has_text="Phường Sài Gòn")).to_have_count(1)
    await commune.select_option(label="Phường Sài Gòn")
    await expect(results.locator("> li")).to_have_count(1)
    await expect(results).to_contain_text("UBND Phường Sài Gòn")

    # A kind, in Hà Nội: its police only.
    await page.get_by_label("Tỉnh, thành phố").select_option(label="Thành phố Hà Nội")
    await expect(results).to_contain_text("UBND Phường Ba Đình")
    await page.get_by_label("Loại cơ quan").select_option(label="Công an")
    await expect(results).to_contain_text("Công an phường Ba Đình")
    await expect(results).to_contain_text("Phòng CSGT Công an TP. Hà Nội")
    await expect(results).not_to_contain_text("UBND")
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await page.get_by_text("Lọc theo tỉnh, xã, loại cơ quan").click()  # folded away: the results in view
    await screenshot(page, "citizen-discover", tmp_path)
    await page.get_by_text("Lọc theo tỉnh, xã, loại cơ quan").click()

    # Accounts not verified yet appear only when asked for, and say so.
    await page.get_by_label("Loại cơ quan").select_option(label="Cấp nước")
    await expect(page.get_by_text("Không tìm thấy tài khoản nào")).to_be_visible()
    await page.get_by_label("Hiện cả tài khoản chưa được xác minh").check()
    water = results.locator("> li", has_text="Công ty Nước sạch Hà Nội")
    await expect(water).to_contain_text("chưa xác minh")

    # The address holds the search: opened again (or shared), the page shows the same results.
    await page.reload()
    await expect(page.locator("#results-list > li", has_text="Công ty Nước sạch Hà Nội")).to_be_visible()
    await expect(page.get_by_label("Loại cơ quan")).to_have_value("water")
    await page.locator("#results-list > li", has_text="Công ty Nước sạch Hà Nội").get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Công ty Nước sạch Hà Nội")
    await expect(page.get_by_text("Tài khoản này chưa được Loa xác minh")).to_be_visible()
    await check_accessibility(page)


async def test_the_landing_search_leads_to_an_agency_page(page: Page) -> None:
    await page.goto("/?q=ba+dinh")
    await page.get_by_role("link", name="UBND Phường Ba Đình").click()
    await expect(page).to_have_url("/a/ubnd-badinh")
    await expect(page.get_by_text("Thứ Hai – Thứ Sáu: 07:30–17:00")).to_be_visible()
    await expect(page.get_by_role("link", name="Đăng nhập để theo dõi")).to_be_visible()
    await check_accessibility(page)
