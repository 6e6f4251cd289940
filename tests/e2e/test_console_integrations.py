"""API keys and webhooks in the console on a desktop: an app made with its secret shown once, an API key, a webhook
endpoint chosen by its events whose failed delivery shows in the log and is sent again; errors next to the field;
another account's staff kept out."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from tests.e2e.console_support import make_account, make_citizen
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot, sign_in_staff

STAFF = "hanoi@loa.example"
OTHER = "danang@loa.example"
DEAD_URL = "http://127.0.0.1:9/loa-webhook"  # nothing listens there: every attempt fails


async def test_staff_connect_a_system_with_an_app_a_key_and_a_webhook(desktop_page: Page, server: E2EServer,
                                                                      tmp_path: Path) -> None:
    page = desktop_page
    account = await make_account(server, STAFF, name="Sở Tư pháp Tích hợp")
    await sign_in_staff(page, STAFF, next_path=f"{account.base}/integrations")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Khóa API và webhook")
    await expect(page.get_by_role("link", name="Khóa API và webhook")).to_have_attribute("aria-current", "page")
    await check_accessibility(page)

    # A nameless app: the error is next to the field and the ticked scope stays ticked.
    await page.get_by_label("Tin nhắn: đọc và trả lời hộp thư").check()
    await page.get_by_role("button", name="Tạo ứng dụng").click()
    await expect(page.locator("#f-name-error")).to_have_text(
        "Lỗi: Hãy đặt tên cho ứng dụng, ví dụ tên hệ thống được kết nối.")
    await expect(page.get_by_label("Tin nhắn: đọc và trả lời hộp thư")).to_be_checked()
    await check_accessibility(page)

    await page.get_by_label("Tên ứng dụng").fill("Hệ thống một cửa")
    await page.get_by_label("Phản ánh: xem và xử lý").check()
    await page.get_by_role("button", name="Tạo ứng dụng").click()
    await expect(page.get_by_role("heading", name="Đã tạo ứng dụng")).to_be_visible()
    secret = await page.get_by_label("Khóa bí mật (client secret)").input_value()
    assert secret.startswith("loas_")
    await expect(page.get_by_text("khóa này sẽ không được hiển thị lại")).to_be_visible()
    await check_accessibility(page)

    await page.get_by_label("Tên khóa").fill("Cổng thông tin")
    await page.get_by_label("Thời hạn").select_option(label="90 ngày")
    await page.get_by_role("button", name="Tạo khóa").click()
    key = await page.get_by_label("Khóa API", exact=True).input_value()
    assert key.startswith("loak_")
    await page.reload()  # a second visit: neither the secret nor the key is shown again
    assert secret not in await page.content() and key not in await page.content()
    await expect(page.locator("table.data")).to_contain_text("Cổng thông tin")

    await page.get_by_role("link", name="Tất cả ứng dụng và webhook").click()
    await page.get_by_label("Địa chỉ (URL) nhận sự kiện").fill("ftp://example.vn/hook")
    await page.get_by_label("Có người theo dõi tài khoản").check()
    await page.get_by_role("button", name="Thêm điểm nhận").click()
    await expect(page.locator("#f-url-error")).to_contain_text("Địa chỉ webhook phải là URL http(s)")
    await expect(page.get_by_label("Địa chỉ (URL) nhận sự kiện")).to_have_value("ftp://example.vn/hook")
    await expect(page.get_by_label("Có người theo dõi tài khoản")).to_be_checked()
    await page.get_by_label("Địa chỉ (URL) nhận sự kiện").fill(DEAD_URL)
    await page.get_by_label("Người dân gửi tin nhắn").check()
    await page.get_by_role("button", name="Thêm điểm nhận").click()
    await expect(page.get_by_role("heading", name="Đã thêm điểm nhận")).to_be_visible()
    assert (await page.get_by_label("Khóa ký (signing secret)").input_value()).startswith("whsec_")
    await check_accessibility(page)

    # A citizen follows: the event goes to the endpoint, which does not answer; the log says so.
    await make_citizen(server, "Trần Thị Tích Hợp", follows_account=account.id)
    action = await page.locator("form[action$='/disable']").get_attribute("action")
    assert action is not None
    log = page.locator("table.data")
    for _ in range(30):
        await page.goto(action.removesuffix("/disable"))
        if await log.count() and "Connect" in await log.inner_text():
            break
        await page.wait_for_timeout(500)
    await expect(log).to_contain_text("Có người theo dõi tài khoản")
    await expect(log).to_contain_text("ConnectError")
    await page.get_by_role("button", name="Gửi lại").first.click()
    await expect(page.get_by_role("status")).to_have_text("Đã xếp hàng để gửi lại: lần gửi mới nằm ở đầu nhật ký.")
    await expect(page.locator("table.data tbody tr")).to_have_count(2)
    await check_accessibility(page)
    await screenshot(page, "console-integrations-log", tmp_path)

    await page.get_by_role("button", name="Tắt").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã tắt")
    await page.get_by_role("link", name="Tất cả ứng dụng và webhook").click()
    await expect(page.locator("#webhooks ~ .table-wrap")).to_contain_text("Đang tắt")
    await screenshot(page, "console-integrations", tmp_path, full_page=True)


async def test_another_accounts_staff_cannot_open_the_integrations(desktop_page: Page, server: E2EServer) -> None:
    page = desktop_page
    theirs = await make_account(server, OTHER, name="Sở Riêng Tích hợp")
    await sign_in_staff(page, STAFF, next_path="/console")
    response = await page.goto(f"{theirs.base}/integrations")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không mở được trang này")
    await check_accessibility(page)
