"""The journeys of the foundation: find an agency on a phone, sign in (citizen by phone, staff with the second
factor) and come back where one was going, switch language, and meet no serious accessibility problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select, update
from tests.e2e.helpers import (
    CITIZEN_PHONES,
    E2EServer,
    check_accessibility,
    last_code,
    screenshot,
    sign_in_citizen,
    sign_in_staff,
)

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.people.models import LoginSession, User
from loa.kit.phone import normalize_mobile


async def test_a_citizen_on_a_phone_finds_an_agency_typing_without_accents(page: Page, tmp_path: Path) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tìm tài khoản chính thức của cơ quan, đơn vị")
    await check_accessibility(page)
    await screenshot(page, "home-phone", tmp_path)

    await page.get_by_label("Tên cơ quan, đơn vị").fill("bo y te")
    await page.get_by_role("button", name="Tìm", exact=True).click()

    await expect(page.get_by_role("heading", name="Kết quả cho “bo y te”")).to_be_visible()
    first = page.locator(".cards > li").first
    await expect(first).to_contain_text("Bộ Y tế")
    await expect(first).to_contain_text("đã xác minh")
    assert "q=bo+y+te" in page.url
    # Nothing wider than the phone: no sideways scrolling at 360 px.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
    await check_accessibility(page)


async def test_a_citizen_signs_in_by_phone_and_lands_on_the_page_they_wanted(page: Page, server: E2EServer,
                                                                           tmp_path: Path) -> None:
    await page.goto("/me")
    await expect(page).to_have_url(f"{server.url}/login?next=/me")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập bằng số điện thoại")
    await check_accessibility(page)
    await screenshot(page, "login-phone", tmp_path)

    phone = CITIZEN_PHONES[1]  # Nguyễn Văn An, who follows Bộ Y tế
    await page.get_by_label("Số điện thoại di động").fill(phone)
    await page.get_by_role("button", name="Gửi mã cho tôi").click()
    await expect(page.get_by_text(normalize_mobile(phone))).to_be_visible()
    await expect(page.get_by_role("link", name="Xem các mã đã gửi")).to_be_visible()  # development only
    await check_accessibility(page)
    await page.get_by_label("Mã xác thực", exact=True).fill(await last_code(server, phone))
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()

    await expect(page).to_have_url(f"{server.url}/me")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tài khoản của tôi")
    await expect(page.get_by_role("main")).to_contain_text("Nguyễn Văn An")
    await expect(page.locator(".cards")).to_contain_text("Bộ Y tế")
    await check_accessibility(page)

    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page).to_have_url(f"{server.url}/")
    await page.goto("/me")
    await expect(page).to_have_url(f"{server.url}/login?next=/me")


async def test_bad_input_is_explained_next_to_the_field_keeping_what_was_typed(page: Page, server: E2EServer) -> None:
    await page.goto("/login")
    phone = page.get_by_label("Số điện thoại di động")
    await phone.fill("0123")
    await page.get_by_role("button", name="Gửi mã cho tôi").click()
    await expect(phone).to_have_value("0123")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-phone-error")).to_have_text("Lỗi: Số điện thoại không hợp lệ")
    await expect(phone).to_be_focused()
    await check_accessibility(page)

    await page.get_by_role("link", name="English").click()
    await page.get_by_label("Mobile phone number").fill("0123")
    await page.get_by_role("button", name="Send me a code").click()
    await expect(page.locator("#f-phone-error")).to_have_text("Error: Invalid phone number")

    await page.get_by_label("Mobile phone number").fill(CITIZEN_PHONES[3])
    await page.get_by_role("button", name="Send me a code").click()
    wrong = "000000" if await last_code(server, CITIZEN_PHONES[3]) != "000000" else "111111"
    await page.get_by_label("Code").fill(wrong)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_label("Code")).to_have_value(wrong)
    await expect(page.locator("#f-code-error")).to_have_text("Error: Wrong code. 4 attempts left.")
    assert "Traceback" not in await page.content()


async def test_staff_sign_in_with_the_second_factor_reaches_the_console(desktop_page: Page, server: E2EServer,
                                                                        tmp_path: Path) -> None:
    page = desktop_page
    await page.goto("/console")
    await expect(page).to_have_url(f"{server.url}/console/login?next=/console")
    await check_accessibility(page)
    await screenshot(page, "console-login-desktop", tmp_path)

    # A wrong password first: said next to the password, the e-mail kept.
    await page.get_by_label("Địa chỉ email").fill("csgt.hanoi@loa.example")
    await page.get_by_label("Mật khẩu").fill("not the password")
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.locator("#f-password-error")).to_have_text("Lỗi: Email hoặc mật khẩu không đúng")
    await expect(page.get_by_label("Địa chỉ email")).to_have_value("csgt.hanoi@loa.example")

    await sign_in_staff(page, "csgt.hanoi@loa.example")
    await expect(page).to_have_url(f"{server.url}/console")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")

    async def follower_counts() -> dict[str, int]:
        async with server.runtime.read_session() as session:
            user = await session.scalar(select(User).where(User.email == "csgt.hanoi@loa.example"))
            assert user is not None
            return {account.name: account.follower_count
                    for account, _ in await accounts.accounts_of_member(session, user.id)}

    counts = await server.call(follower_counts())
    assert set(counts) == {"Phòng CSGT Công an TP. Hà Nội", "Công an phường Ba Đình"}
    for name, count in counts.items():
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
        await expect(row.get_by_role("cell").nth(0)).to_have_text("Chủ sở hữu")
        await expect(row.get_by_role("cell").nth(1)).to_have_text(str(count))
    assert counts["Phòng CSGT Công an TP. Hà Nội"] > 0
    await check_accessibility(page)
    await screenshot(page, "console-desktop", tmp_path)


async def test_switching_to_english_and_back(page: Page, server: E2EServer) -> None:
    await page.goto("/?q=bo+y+te")
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(f"{server.url}/?q=bo+y+te")  # the same page, now in English
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Find the official account of an agency")
    await expect(page.get_by_role("heading", name="Results for “bo y te”")).to_be_visible()
    await expect(page.locator(".cards > li").first).to_contain_text("Ministry")
    await check_accessibility(page)

    await page.goto("/login")
    await expect(page.get_by_role("button", name="Send me a code")).to_be_visible()

    await page.get_by_role("link", name="Tiếng Việt").click()
    await expect(page).to_have_url(f"{server.url}/login")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_role("button", name="Gửi mã cho tôi")).to_be_visible()


async def test_an_expired_session_leads_to_sign_in_and_back(page: Page, server: E2EServer) -> None:
    phone = CITIZEN_PHONES[2]
    await sign_in_citizen(page, server, phone, next_path="/me")
    await expect(page).to_have_url(f"{server.url}/me")

    async def expire() -> None:
        async with server.runtime.session() as session:
            user_id = await session.scalar(select(User.id).where(User.phone == normalize_mobile(phone)))
            await session.execute(update(LoginSession).where(LoginSession.user_id == user_id)
                                  .values(expires_at=utcnow() - timedelta(minutes=1)))
            await session.commit()

    await server.call(expire())
    await page.goto("/me?tab=follows")
    await expect(page).to_have_url(f"{server.url}/login?next=/me%3Ftab%3Dfollows")
    await sign_in_citizen(page, server, phone)
    await expect(page).to_have_url(f"{server.url}/me?tab=follows")
    await expect(page.get_by_role("main")).to_contain_text("Trần Thị Bình")


async def test_pages_for_staff_refuse_citizens_and_explain_it(page: Page, server: E2EServer) -> None:
    await sign_in_citizen(page, server, CITIZEN_PHONES[4], next_path="/")
    response = await page.goto("/console")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không mở được trang này")
    await expect(page.get_by_role("link", name="Đăng nhập bằng tài khoản khác")).to_have_attribute(
        "href", "/console/login?next=/console")
    await check_accessibility(page)


async def test_an_unknown_page_is_a_page_in_the_viewers_language(page: Page) -> None:
    response = await page.goto("/khong-co-trang-nay")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
    await expect(page.get_by_role("link", name="Về trang chủ")).to_be_visible()
    await check_accessibility(page)


async def test_the_operator_reaches_the_administration(desktop_page: Page, server: E2EServer) -> None:
    await desktop_page.goto("/admin")
    await sign_in_staff(desktop_page, "vanhanh@loa.example")
    await expect(desktop_page).to_have_url(f"{server.url}/admin")

    async def pending() -> list[str]:
        async with server.runtime.read_session() as session:
            return list(await session.scalars(select(Account.name).where(Account.verification_status == "pending")))

    for name in await server.call(pending()):
        await expect(desktop_page.locator(".cards")).to_contain_text(name)
    await check_accessibility(desktop_page)
