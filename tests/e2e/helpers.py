"""What the journeys do often: sign in as a citizen or a staff member the way a person does, check a page
with axe, keep a screenshot."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyotp
from playwright.async_api import Page, expect
from sqlalchemy import select
from tests.live import Server

from loa.domains.people.models import SentMessage
from loa.domains.seed.demo import DEMO_PASSWORD, STAFF
from loa.kit.phone import normalize_mobile
from loa.runtime import Runtime
from loa.settings import Settings

AXE = Path(__file__).resolve().parents[2] / "src/loa/web/static/vendor/axe-core/axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs/screenshots"
BLOCKING_IMPACTS = ("serious", "critical")


class E2EServer:
    def __init__(self, server: Server, settings: Settings) -> None:
        self.url = server.url
        self.settings = settings
        self._server = server

    @property
    def runtime(self) -> Runtime:
        return self._server.runtime

    async def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the server's event loop (its runtime's sessions, bus and limiter live there)."""
        return await self._server.call(coro)


# Demo citizens (`loa.domains.seed.demo.CITIZENS`): give each test its own, so sign-in limits per phone never
# meet across tests.
CITIZEN_PHONES = {n: f"0900 000 {n:03d}" for n in range(1, 11)}


async def last_code(server: E2EServer, phone: str) -> str:
    """The code in the latest text message "sent" to `phone` (the sent-messages table, as /dev/messages shows)."""
    recipient = normalize_mobile(phone)

    async def read() -> str | None:
        async with server.runtime.read_session() as session:
            return await session.scalar(select(SentMessage.body).where(SentMessage.recipient == recipient)
                                        .order_by(SentMessage.id.desc()).limit(1))

    body = await server.call(read())
    assert body is not None, f"no code was sent to {recipient}"
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match.group(1)


async def sign_in_citizen(page: Page, server: E2EServer, phone: str, *, next_path: str | None = None) -> None:
    """From the sign-in page (with `next_path`) or the one the browser is on: phone, then the code."""
    if next_path is not None:
        await page.goto(f"/login?next={quote(next_path)}")
    await page.get_by_label("Số điện thoại di động").fill(phone)
    await page.get_by_role("button", name="Gửi mã cho tôi").click()
    await expect(page.get_by_role("heading", name="Nhập mã xác thực")).to_be_visible()
    await page.get_by_label("Mã xác thực", exact=True).fill(await last_code(server, phone))
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


_used_steps: set[tuple[str, int]] = set()


async def fresh_totp(email: str) -> str:
    """The staff member's current code (the demo's fixed secret). A code is accepted once: when this one was
    used already, wait for the next 30-second step."""
    secret = next(staff.totp_secret for staff in STAFF if staff.email == email)
    totp = pyotp.TOTP(secret)
    while (email, totp.timecode(time.time())) in _used_steps:  # noqa: ASYNC110 - the clock, not a state
        await asyncio.sleep(0.5)
    step = totp.timecode(time.time())
    _used_steps.add((email, step))
    return totp.at(time.time())


async def sign_in_staff(page: Page, email: str, *, next_path: str | None = None) -> None:
    """E-mail and the demo password, then the authenticator code. Starts on `/console/login` (with `next_path`)
    unless `next_path` is None and the browser is already on a sign-in page."""
    if next_path is not None or "/console/login" not in page.url:
        await page.goto("/console/login" + (f"?next={quote(next_path)}" if next_path else ""))
    await page.get_by_label("Địa chỉ email").fill(email)
    await page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.get_by_role("heading", name="Xác thực hai bước")).to_be_visible()
    await page.get_by_label("Mã trên ứng dụng xác thực").fill(await fresh_totp(email))
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


async def check_accessibility(page: Page) -> None:
    """Run the vendored axe-core on the page; fail on any serious or critical violation, listing each."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    results = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    report = [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
               "where": [node["target"] for node in v["nodes"]][:5]} for v in blocking]
    assert not blocking, f"accessibility violations on {page.url}:\n{json.dumps(report, ensure_ascii=False, indent=2)}"


async def screenshot(page: Page, name: str, tmp_path: Path, *, full_page: bool = False) -> Path:
    """A PNG of what the screen shows (or the whole page): into docs/screenshots when LOA_SCREENSHOTS=1 (to
    refresh the documentation's pictures), otherwise into the test's temporary folder."""
    folder = SCREENSHOTS if os.environ.get("LOA_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 1000
    return path
