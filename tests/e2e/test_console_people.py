"""Followers and staff in the console on a desktop: a follower tagged, the list filtered by the tag, a citizen
blocked and unblocked; a staff member added by the e-mail of their login and given another role."""

from __future__ import annotations

from playwright.async_api import Page, expect
from tests.e2e.console_support import free_commune, make_account, make_citizen, make_staff_login
from tests.e2e.helpers import E2EServer, check_accessibility, sign_in_staff

from loa.domains.accounts import service as accounts
from loa.domains.follows import service as follows
from loa.domains.people.models import User

OWNER = "chinhphu@loa.example"


async def test_followers_are_tagged_and_blocked_and_staff_added_with_a_role(desktop_page: Page,
                                                                            server: E2EServer) -> None:
    page = desktop_page
    commune = await free_commune(server)
    account = await make_account(server, OWNER, name="UBND Phường Người Theo Dõi", commune=commune)
    await make_citizen(server, "Ngô Văn Nhãn", follows_account=account.id, commune=commune[0])
    blocked_id = await make_citizen(server, "Phan Thị Chặn", follows_account=account.id, commune=commune[0])

    await sign_in_staff(page, OWNER, next_path=f"{account.base}/followers")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Người theo dõi")
    nhan = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Ngô Văn Nhãn"))
    await expect(page.locator("tbody tr")).to_have_count(2)
    await check_accessibility(page)

    # An empty tag is explained in the row; then a tag is added, and the list filters by it.
    await nhan.get_by_role("button", name="Gắn nhãn").click()
    await expect(nhan.locator(".field__error")).to_contain_text("Nhãn phải dài 1–40 ký tự")
    await nhan.get_by_label("Nhãn mới cho Ngô Văn Nhãn").fill("Phụ huynh")
    await nhan.get_by_role("button", name="Gắn nhãn").click()
    await expect(page.get_by_role("status")).to_have_text("Đã lưu.")
    await expect(nhan.locator(".tag")).to_contain_text("phu huynh")
    await page.get_by_label("Nhãn", exact=True).select_option("phu huynh")
    await page.get_by_role("button", name="Lọc").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr")).to_contain_text("Ngô Văn Nhãn")

    await page.goto(f"{account.base}/followers")
    await page.get_by_role("button", name="Chặn Phan Thị Chặn").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã chặn")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator(".notices")).to_contain_text("Phan Thị Chặn")
    await check_accessibility(page)

    async def blocked() -> bool:
        async with server.runtime.read_session() as session:
            return await follows.is_blocked(session, account.id, blocked_id)

    assert await server.call(blocked())
    await page.get_by_role("button", name="Bỏ chặn Phan Thị Chặn").click()
    await expect(page.get_by_role("status")).to_have_text("Đã bỏ chặn.")
    await expect(page.get_by_text("Không ai bị chặn.")).to_be_visible()
    assert not await server.call(blocked())

    # Staff: an address without a staff login is refused next to the field; a login is added, its role changed.
    newcomer = await make_staff_login(server, "Mai Thị Tân Binh")
    await page.get_by_role("link", name="Cán bộ và vai trò").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cán bộ và vai trò")
    await check_accessibility(page)
    await page.get_by_label("Email đăng nhập cán bộ của người này").fill("khong-co@loa.example")
    await page.get_by_role("button", name="Thêm vào danh sách cán bộ").click()
    await expect(page.locator("#f-email-error")).to_contain_text("Chưa có tài khoản cán bộ với email này")
    await expect(page.get_by_label("Email đăng nhập cán bộ của người này")).to_have_value("khong-co@loa.example")
    await page.get_by_label("Email đăng nhập cán bộ của người này").fill(newcomer)
    await page.get_by_label("Vai trò", exact=True).select_option(label="Cán bộ tiếp dân")
    await page.get_by_role("button", name="Thêm vào danh sách cán bộ").click()
    await expect(page.get_by_role("status")).to_have_text("Đã thêm.")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Mai Thị Tân Binh"))
    await expect(row.get_by_role("cell").nth(1)).to_have_text("Cán bộ tiếp dân")
    await row.get_by_label("Vai trò mới của Mai Thị Tân Binh").select_option(label="Biên tập viên")
    await row.get_by_role("button", name="Đổi vai trò").click()
    await expect(row.get_by_role("cell").nth(1)).to_have_text("Biên tập viên")
    await check_accessibility(page)

    async def role() -> str | None:
        async with server.runtime.read_session() as session:
            from sqlalchemy import select

            user_id = await session.scalar(select(User.id).where(User.email == newcomer))
            assert user_id is not None
            return await accounts.member_role(session, account.id, user_id)

    assert await server.call(role()) == "editor"
