"""What the administration journeys share: the demo operator signed in once per run (with the second factor)
and reused by later tests, and fresh accounts with a verification application made through the services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Browser, Page
from tests.e2e.helpers import E2EServer, sign_in_staff

from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.storage import media_storage

OPERATOR = "vanhanh@loa.example"
DESKTOP = {"width": 1280, "height": 800}  # as the `desktop_page` fixture
TIMEOUT_MS = 15_000
FAR_PROVINCE = "96"  # Tỉnh Cà Mau: the demo data and the other journeys are in Hà Nội, Đà Nẵng, TP. Hồ Chí Minh
# A small but real PDF: the upload check reads the content, not the name.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")

_signed_in: dict[str, Any] = {}  # server url → the operator's browser storage (cookies) after signing in


@asynccontextmanager
async def operator_page(browser: Browser, server: E2EServer) -> AsyncIterator[Page]:
    """A desktop page of the demo operator: signs in with password and authenticator code the first time, then
    reuses that session (each code is accepted once, so signing in again would wait for the next one)."""
    context = await browser.new_context(base_url=server.url, viewport=DESKTOP, locale="vi-VN",
                                        timezone_id="Asia/Ho_Chi_Minh", storage_state=_signed_in.get(server.url))
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        if server.url not in _signed_in:
            await sign_in_staff(page, OPERATOR, next_path="/admin")
            _signed_in[server.url] = await context.storage_state()
        yield page
    finally:
        await context.close()


def remember_operator(server: E2EServer, state: dict[str, Any]) -> None:
    """Keep a session the test made by signing in itself, for the later tests."""
    _signed_in.setdefault(server.url, state)


@dataclass(frozen=True)
class NewApplication:
    account_id: int
    application_id: int
    name: str
    handle: str


async def new_application(server: E2EServer, name: str, *, kind: str = "water",
                          province: str = FAR_PROVINCE) -> NewApplication:
    """A new, unverified account whose owner applies for the badge with a scanned decision (a PDF stored
    through the service) and a reference number. In a province the other journeys never look at: once
    verified, it shows in the public search."""
    suffix = uuid.uuid4().hex[:8]

    async def create() -> NewApplication:
        async with server.runtime.session() as session:
            owner = User(email=f"chu-{suffix}@loa.example", display_name="Chủ tài khoản thử nghiệm")
            session.add(owner)
            await session.flush()
            account = await accounts.create_account(session, name=name, kind=kind, province_code=province,
                                                    handle=f"thu-{suffix}", owner=owner)
            stored = await accounts.store_verification_document(
                media_storage(server.settings), account_id=account.id, data=PDF, filename="quyet-dinh-thanh-lap.pdf",
                title="Quyết định thành lập")
            application = await accounts.apply_for_verification(
                session, account_id=account.id, user=owner, note="Đề nghị xác minh tài khoản của đơn vị.",
                documents=[stored, {"title": "Giấy ủy quyền", "reference": f"GUQ-{suffix}"}])
            await commit(session)
            return NewApplication(account.id, application.id, account.name, account.handle)

    result: NewApplication = await server.call(create())
    return result


async def verification_status(server: E2EServer, account_id: int) -> str:
    async def read() -> str:
        async with server.runtime.read_session() as session:
            return (await accounts.get_account(session, account_id)).verification_status

    status: str = await server.call(read())
    return status


async def new_account(server: E2EServer, name: str, *, kind: str = "power",
                      province: str = FAR_PROVINCE) -> tuple[int, str]:
    """A new account of its own for a test (id, handle), so that no demo account's routing changes."""
    handle = f"thu-{uuid.uuid4().hex[:8]}"

    async def create() -> int:
        async with server.runtime.session() as session:
            account = await accounts.create_account(session, name=name, kind=kind, province_code=province,
                                                    handle=handle)
            await commit(session)
            return account.id

    return await server.call(create()), handle
