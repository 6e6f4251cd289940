"""A citizen's own settings on a phone: home commune, what they allow, notifications on this device (said plainly
when the browser cannot), a download of everything Loa keeps about them, and deleting it all."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from tests.e2e.citizen_support import (
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
    sign_in_new_citizen,
)
from tests.e2e.helpers import E2EServer, check_accessibility

from loa.domains.people.models import Consent, User

pytestmark = pytest.mark.usefixtures("patient_expect")


async def test_home_commune_consents_notifications_and_my_data(page: Page, server: E2EServer) -> None:
    citizen = await sign_in_new_citizen(page, server, name="Trịnh Văn Bảo", next_path="/me")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tài khoản của tôi")
    await check_accessibility(page)
    await no_sideways_scroll(page)

    # Home commune: the province first, then its communes (loaded when the province changes).
    await page.get_by_label("Tỉnh, thành phố nơi bạn ở").select_option(label="Thành phố Đà Nẵng")
    commune = page.get_by_label("Xã, phường nơi bạn ở")
    await expect(commune.locator("option", has_text="Phường Hải Châu")).to_have_count(1)
    await commune.select_option(label="Phường Hải Châu")
    await page.locator("#profile").get_by_role("button", name="Lưu").click()
    await expect(page.get_by_role("status").filter(has_text="Đã lưu.")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("Phường Hải Châu, Thành phố Đà Nẵng")
    await expect(page.get_by_label("Xã, phường nơi bạn ở")).to_have_value("20242")

    # Consents: ticked and unticked, each decision kept with its date.
    await page.get_by_role("checkbox", name="Nhận thông báo").check()
    await page.get_by_role("checkbox", name="Thống kê").check()
    await page.get_by_role("button", name="Lưu lựa chọn").click()
    await expect(page.get_by_role("checkbox", name="Nhận thông báo")).to_be_checked()
    await expect(page.locator("#consents")).to_contain_text("Đã cho phép lúc")
    await page.get_by_role("checkbox", name="Thống kê").uncheck()
    await page.get_by_role("button", name="Lưu lựa chọn").click()
    await expect(page.get_by_role("checkbox", name="Thống kê")).not_to_be_checked()
    await expect(page.locator("#consents")).to_contain_text("Đã từ chối lúc")

    async def decisions() -> list[tuple[str, bool]]:
        async with server.runtime.read_session() as session:
            rows = await session.execute(select(Consent.purpose, Consent.granted).where(
                Consent.user_id == citizen.user_id).order_by(Consent.id))
            return [(purpose, granted) for purpose, granted in rows.all()]

    assert await server.call(decisions()) == [("notifications", True), ("statistics", True), ("statistics", False)]

    # Web Push: this headless browser has no permission to give; the page says so in words.
    await page.get_by_role("button", name="Bật thông báo trên thiết bị này").click()
    await expect(page.locator("[data-push-status]")).to_contain_text("Trình duyệt")
    await page.get_by_label("Không làm phiền ban đêm").check()
    await page.get_by_label("Từ").fill("22:30")
    await page.get_by_label("Đến").fill("22:30")
    await page.locator("#notifications").get_by_role("button", name="Lưu").click()
    await expect(page.locator("#f-quiet_from-error")).to_have_text("Lỗi: Giờ bắt đầu và kết thúc phải khác nhau")
    await expect(page.get_by_label("Từ")).to_have_value("22:30")  # what was typed, kept
    await page.get_by_label("Đến").fill("06:00")
    await page.locator("#notifications").get_by_role("button", name="Lưu").click()
    await expect(page.get_by_role("status").filter(has_text="Đã lưu.")).to_be_visible()
    await expect(page.get_by_label("Từ")).to_have_value("22:30")
    await expect(page.get_by_label("Không làm phiền ban đêm")).to_be_checked()
    await check_accessibility(page)

    # Everything Loa keeps, as a file.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Tải dữ liệu của tôi").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("loa-du-lieu-cua-toi-")
    data = json.loads((await download.path()).read_text())
    assert data["profile"]["display_name"] == "Trịnh Văn Bảo"
    assert data["profile"]["home_commune_code"] == "20242"
    assert [consent["purpose"] for consent in data["consents"]] == ["statistics", "statistics", "notifications"]


async def test_deleting_my_account_asks_for_confirmation_then_forgets_me(page: Page, server: E2EServer) -> None:
    citizen = await sign_in_new_citizen(page, server, name="Người sắp rời đi", next_path="/me")
    await page.get_by_role("link", name="Xóa tài khoản và dữ liệu của tôi").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Xóa tài khoản")
    await check_accessibility(page)
    await page.get_by_role("button", name="Xóa vĩnh viễn tài khoản").click()
    await expect(page.locator("#f-confirm-error")).to_have_text(
        "Lỗi: Hãy đánh dấu ô xác nhận nếu bạn muốn xóa tất cả.")
    await page.get_by_label("Tôi hiểu rằng việc này không thể hoàn tác.").check()
    await page.get_by_role("button", name="Xóa vĩnh viễn tài khoản").click()
    await expect(page.get_by_text("Tài khoản và dữ liệu của bạn đã được xóa.")).to_be_visible()
    await expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()

    async def gone() -> bool:
        async with server.runtime.read_session() as session:
            return await session.get(User, citizen.user_id) is None

    assert await server.call(gone())
    await page.goto("/me")
    await expect(page).to_have_url(f"{server.url}/login?next=/me")
