"""Anyone, on a phone and without signing in, reads the public statistics: the figures of the demo data, each chart
drawn beside its table, a province chosen from the list, and a table downloaded as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from tests.e2e.citizen_support import (
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
)
from tests.e2e.console_support import make_account
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot, sign_in_staff

pytestmark = pytest.mark.usefixtures("patient_expect")

STAFF = "hanoi@loa.example"
OTHER = "danang@loa.example"


async def test_the_public_dashboard_on_a_phone(page: Page, tmp_path: Path) -> None:
    await page.goto("/")
    await page.get_by_role("link", name="Thống kê", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thống kê công khai")
    # The first roll comes right after the server starts: the figures are there, with their date.
    for _ in range(20):
        if await page.get_by_text("Số liệu tính đến").count():
            break
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.get_by_text("Số liệu tính đến")).to_be_visible()

    areas = page.locator("#areas")
    await expect(areas.get_by_role("table")).to_be_visible()
    await expect(areas.locator("tbody tr")).to_have_count(34)
    # Chart.js drew the chart on its canvas (the table beside it has the same numbers).
    await page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-areas'))")
    await expect(page.locator("#chart-activity")).to_be_visible()
    drawn = await page.evaluate("() => Chart.getChart(document.getElementById('chart-areas')).data.datasets[0].data")
    cells = await areas.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert [str(value) for value in drawn] == [cell.replace(".", "") for cell in cells]
    await no_sideways_scroll(page)
    await check_accessibility(page)
    # The picture shows the figures and the first chart (the filters are above them).
    await page.evaluate("() => window.scrollTo(0, document.getElementById('overview-title').offsetTop - 8)")
    await screenshot(page, "stats-dashboard", tmp_path)

    # The CSV of the table beside the chart: the same rows.
    link = areas.get_by_role("link", name="CSV")
    response = await page.request.get(await link.get_attribute("href") or "")
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await response.body()).decode("utf-8-sig"))))
    assert len(rows) == 35 and rows[0][0] == "Mã (Code)"
    async with page.expect_download() as download:
        await link.click()
    assert (await download.value).suggested_filename.endswith(".csv")

    # One province, from the list.
    await page.get_by_label("Tỉnh, thành phố", exact=True).select_option(label="Thành phố Hà Nội")
    await page.get_by_role("button", name="Xem", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thống kê công khai: Thành phố Hà Nội")
    await check_accessibility(page)

    # A period that ends before it starts: said on the page.
    await page.goto("/stats?from=2025-05-01&to=2025-04-01")
    await expect(page.get_by_role("alert")).to_contain_text("trước khi bắt đầu")


async def test_an_accounts_statistics_in_the_console(desktop_page: Page, server: E2EServer, tmp_path: Path) -> None:
    page = desktop_page
    account = await make_account(server, STAFF, name="UBND Phường Thống Kê")
    await sign_in_staff(page, STAFF, next_path=account.base)
    await page.get_by_role("navigation", name="Danh mục trang quản lý").get_by_role("link", name="Thống kê").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thống kê")
    await expect(page.locator('[data-figure="reports"]')).to_have_text("0")
    await page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-activity'))")
    months = await page.locator("#activity tbody tr").count()
    assert months >= 1
    drawn = await page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-activity')).data.labels.length")
    assert drawn == months
    await check_accessibility(page)
    await screenshot(page, "stats-console", tmp_path)

    # Staff of other accounts are refused this account's figures.
    await page.context.clear_cookies()
    await sign_in_staff(page, OTHER, next_path="/console")
    response = await page.goto(f"{account.base}/stats")
    assert response is not None and response.status == 403
