"""A citizen writes to an agency from a phone: text, a photo (shown as a picture, its hidden data gone), a place
from "use my location"; the agency's answer arrives live; what cannot be sent is said plainly next to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from tests.e2e.citizen_support import (
    agency,
    block,
    image_shown,
    no_sideways_scroll,
    patient_expect,  # noqa: F401 - the fixture pytestmark names
    photo_bytes,
    sign_in_new_citizen,
    staff_reply,
)
from tests.e2e.helpers import E2EServer, check_accessibility, screenshot

pytestmark = pytest.mark.usefixtures("patient_expect")

MARKET = {"handle": "bql-cho-dongxuan", "name": "Ban Quản lý chợ Đồng Xuân", "kind": "other_state",
          "commune": "00070", "office_hours": [{"days": "mon-sun", "open": "06:00", "close": "18:00"}]}


async def test_a_conversation_with_a_photo_a_place_and_a_live_answer(page: Page, server: E2EServer,
                                                                    tmp_path: Path) -> None:
    market = await agency(server, **MARKET)
    citizen = await sign_in_new_citizen(page, server, name="Đỗ Minh Khoa")
    await page.context.grant_permissions(["geolocation"])
    await page.context.set_geolocation({"latitude": 21.0379, "longitude": 105.8494})

    await page.goto(f"/a/{market.handle}")
    await page.get_by_role("link", name="Nhắn tin").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(market.name)
    await expect(page.get_by_text("Chưa có tin nhắn nào.")).to_be_visible()

    # Text: sent, the box emptied for the next one.
    message = page.get_by_label("Tin nhắn của bạn")
    await message.fill("Cho tôi hỏi chợ có mở cửa ngày mùng 1 Tết không?")
    await page.get_by_role("button", name="Gửi", exact=True).click()
    chat = page.get_by_role("log", name="Tin nhắn")
    await expect(chat.locator(".bubble--mine")).to_contain_text("chợ có mở cửa ngày mùng 1 Tết")
    await expect(page.get_by_label("Tin nhắn của bạn")).to_have_value("")

    # A photo: arrives as a picture.
    await page.get_by_text("Gửi ảnh hoặc tài liệu").click()
    await page.get_by_label("Ảnh hoặc tài liệu").set_input_files(
        {"name": "sap-hang.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()})
    await page.get_by_label("Chú thích (không bắt buộc)").fill("Sạp hàng bị dột mái")
    await page.get_by_role("button", name="Gửi tệp").click()
    await expect(chat.locator(".bubble--mine", has_text="Sạp hàng bị dột mái")).to_be_visible()
    await image_shown(page, ".bubble--mine img")

    # The agency answers from its inbox: the answer appears without reloading.
    await staff_reply(server, market, citizen, "Chào anh, chợ nghỉ mùng 1, mở lại từ mùng 2 Tết ạ.")
    await expect(chat.locator(".bubble--theirs", has_text="mở lại từ mùng 2 Tết")).to_be_visible()

    # A place: "use my location" puts the pin and the coordinates, with the commune in words.
    await page.get_by_text("Chia sẻ vị trí").click()
    await page.get_by_role("button", name="Dùng vị trí của tôi").click()
    await expect(page.get_by_label("Vĩ độ")).to_have_value("21.037900")
    await expect(page.get_by_label("Kinh độ")).to_have_value("105.849400")
    await expect(page.locator("[data-map-place]")).to_contain_text("Gần Phường")
    await expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    await page.get_by_label("Ở đó có gì (không bắt buộc)").fill("Cổng số 3 bị khóa")
    await page.get_by_role("button", name="Gửi vị trí").click()
    place = chat.locator(".bubble--mine", has_text="Cổng số 3 bị khóa")
    await expect(place).to_contain_text("21.03790, 105.84940")
    await expect(place).to_contain_text("gần Phường")
    await no_sideways_scroll(page)
    await check_accessibility(page)
    await page.evaluate("window.scrollTo(0, 0)")  # the conversation from its top: the latest messages in view
    await screenshot(page, "citizen-conversation", tmp_path)

    # My conversations: this one, with the agency's answer not yet... read (the page read it).
    await page.goto("/me/messages")
    await expect(page.get_by_role("link", name=market.name)).to_be_visible()
    await check_accessibility(page)


async def test_what_cannot_be_sent_is_said_next_to_it_and_kept(page: Page, server: E2EServer) -> None:
    market = await agency(server, **MARKET)
    citizen = await sign_in_new_citizen(page, server)
    await page.goto(f"/a/{market.handle}/messages")

    await page.get_by_role("button", name="Gửi", exact=True).click()  # nothing written
    await expect(page.locator("#f-text-error")).to_have_text("Lỗi: Tin nhắn không được để trống")

    # A file of a kind that is not accepted: said next to the file, the caption kept.
    await page.get_by_text("Gửi ảnh hoặc tài liệu").click()
    await page.get_by_label("Ảnh hoặc tài liệu").set_input_files(
        {"name": "virus.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00" + b"\x00" * 200})
    await page.get_by_label("Chú thích (không bắt buộc)").fill("Tệp của tôi")
    await page.get_by_role("button", name="Gửi tệp").click()
    await expect(page.locator("#f-file-error")).to_contain_text("Chỉ nhận tệp .pdf")
    await expect(page.get_by_label("Chú thích (không bắt buộc)")).to_have_value("Tệp của tôi")
    await check_accessibility(page)

    # Blocked by the agency while writing: the refusal in words, what was typed kept.
    await block(server, market, citizen)
    await page.get_by_label("Tin nhắn của bạn").fill("Sao tôi không nhắn được?")
    await page.get_by_role("button", name="Gửi", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("Tài khoản này đã chặn bạn")
    await expect(page.get_by_label("Tin nhắn của bạn")).to_have_value("Sao tôi không nhắn được?")

    # Opened again (here in English), the page says so at once, and offers no box to write in.
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("#blocked")).to_have_text(
        "This account has blocked you: you cannot follow it or write to it.")
    await expect(page.get_by_label("Your message")).to_have_count(0)
    assert "Traceback" not in await page.content()
