"""Broadcasts in the console on a desktop: an owner composes with a preview, picks an area and a tag and publishes;
an editor's broadcast waits in the approval queue until an owner, in another browser, approves it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect
from tests.e2e.console_support import make_account
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot, sign_in_staff

from loa.domains.broadcasts.models import Broadcast

OWNER = "hcm@loa.example"
EDITOR = "bientap.boyte@loa.example"


async def _broadcast(server: E2EServer, title: str) -> Broadcast:
    from sqlalchemy import select

    async def read() -> Broadcast:
        async with server.runtime.read_session() as session:
            found = await session.scalar(select(Broadcast).where(Broadcast.title == title))
            assert found is not None
            return found

    return await server.call(read())


async def test_a_broadcast_is_composed_previewed_and_published_and_another_approved(
        desktop_page: Page, browser: Browser, server: E2EServer, tmp_path: Path) -> None:
    page = desktop_page
    account = await make_account(server, OWNER, name="Sở Thông tin Thử nghiệm", kind="provincial_department",
                                 province="48", staff=((EDITOR, "editor"),))
    await sign_in_staff(page, OWNER, next_path=f"{account.base}/broadcasts")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bản tin")
    await check_accessibility(page)
    await page.get_by_role("link", name="Soạn bản tin").click()

    # A missing title is said next to the field, and what was typed stays.
    await page.get_by_label("Nội dung", exact=True).fill("Lịch **cắt điện** ngày mai tại phường.")
    await page.get_by_role("button", name="Đăng", exact=True).click()
    await expect(page.locator("#f-title-error")).to_have_text("Lỗi: Hãy đặt tiêu đề cho bản tin.")
    await expect(page.get_by_label("Nội dung", exact=True)).to_have_value("Lịch **cắt điện** ngày mai tại phường.")

    title = "Thông báo tạm ngừng cấp điện"
    await page.get_by_label("Tiêu đề", exact=True).fill(title)
    communes = page.get_by_label("Xã, phường")
    first_commune = (await communes.locator("option").first.text_content() or "").strip()
    await communes.select_option(index=0)
    await page.get_by_label("Nhãn người theo dõi").fill("Hộ kinh doanh")
    await page.get_by_role("button", name="Xem trước", exact=True).click()
    preview = page.locator(".preview")
    await expect(preview.locator(".preview__title")).to_have_text(title)
    await expect(preview.locator("strong")).to_have_text("cắt điện")
    await expect(page.get_by_label("Xã, phường")).to_have_values([await communes.locator("option").first.get_attribute(
        "value") or ""])
    await check_accessibility(page)
    await screenshot(page, "console-broadcast-compose", tmp_path)

    await page.get_by_role("button", name="Đăng", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Đã đăng: người theo dõi đã có thể xem.")
    await expect(page.locator(".page-head .state")).to_have_text("Đã đăng")
    await expect(page.locator(".facts")).to_contain_text(first_commune)
    await expect(page.locator(".facts")).to_contain_text("#ho kinh doanh")
    await expect(page.get_by_role("heading", name="Mức độ tiếp cận")).to_be_visible()
    await check_accessibility(page)
    published = await _broadcast(server, title)
    assert published.status == "published" and published.target_tags == ["ho kinh doanh"]

    # An editor asks for approval; the owner approves it from the queue in another browser.
    editor = await browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800},
                                       locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    try:
        editor_page = await editor.new_page()
        await sign_in_staff(editor_page, EDITOR, next_path=f"{account.base}/broadcasts/new")
        await editor_page.get_by_label("Tiêu đề", exact=True).fill("Lịch tiếp công dân tháng này")
        await editor_page.get_by_label("Nội dung", exact=True).fill("Lãnh đạo Sở tiếp công dân vào thứ Năm.")
        await expect(editor_page.get_by_role("button", name="Đăng", exact=True)).to_have_count(0)
        await editor_page.get_by_role("button", name="Gửi duyệt").click()
        await expect(editor_page.get_by_role("status")).to_contain_text("Đã gửi duyệt")
        await expect(editor_page.locator(".page-head .state")).to_have_text("Chờ duyệt")
        await expect(editor_page.get_by_role("button", name="Duyệt và đăng")).to_have_count(0)
    finally:
        await editor.close()

    await page.goto(f"{account.base}/broadcasts")
    await expect(page.locator(".notice--warn")).to_contain_text("1 bản tin đang chờ bạn duyệt.")
    await page.get_by_role("link", name="Xem và duyệt").click()
    await page.get_by_role("link", name="Lịch tiếp công dân tháng này").click()
    await check_accessibility(page)
    await page.get_by_role("button", name="Duyệt và đăng").click()
    await expect(page.locator(".page-head .state")).to_have_text("Đã đăng")
    assert (await _broadcast(server, "Lịch tiếp công dân tháng này")).status == "published"
