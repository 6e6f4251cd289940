"""What the citizen journeys share: citizens of their own (fresh phone numbers, so that no other test's sign-in
limits or data meet theirs), agencies of their own, and staff acting through the services on the server's
runtime (`server.call`), as the console would."""

from __future__ import annotations

import io
import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Page, expect
from sqlalchemy import select
from tests.e2e.helpers import E2EServer, sign_in_citizen

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account, AccountMember
from loa.domains.broadcasts import service as broadcasts
from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import text_content
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.domains.reports import service as reports
from loa.kit.effects import commit
from loa.kit.phone import normalize_mobile

# Mobile numbers no demo citizen has (the demo's are 0900 000 001–010); random per run and process, so that two
# runs against one Redis never share a sign-in budget.
_numbers = itertools.count(random.Random(os.getpid()).randrange(100_000, 900_000))


PATIENCE_MS = 15_000  # as the journeys' actions: a shared CI machine under load answers slower than 5 s at times
DEFAULT_EXPECT_MS = 5_000


@pytest.fixture
def patient_expect() -> Iterator[None]:
    """Assertions wait as long as actions do (`pytestmark = pytest.mark.usefixtures("patient_expect")`)."""
    expect.set_options(timeout=PATIENCE_MS)
    try:
        yield
    finally:
        expect.set_options(timeout=DEFAULT_EXPECT_MS)


def fresh_phone() -> str:
    number = f"{next(_numbers):06d}"
    return f"0901 {number[:3]} {number[3:]}"


@dataclass(frozen=True)
class Citizen:
    phone: str
    user_id: int


async def sign_in_new_citizen(page: Page, server: E2EServer, *, name: str | None = None,
                              home_commune: str | None = None, next_path: str = "/") -> Citizen:
    """A citizen who never used Loa signs in by phone (as a person does), with a name and home commune set."""
    phone = fresh_phone()
    await sign_in_citizen(page, server, phone, next_path=next_path)

    async def describe() -> int:
        async with server.runtime.session() as session:
            user = await session.scalar(select(User).where(User.phone == normalize_mobile(phone)))
            assert user is not None
            if name is not None:
                user.display_name = name
            if home_commune is not None:
                user.home_commune_code = home_commune
            await commit(session)
            return user.id

    citizen = Citizen(phone, await server.call(describe()))
    await page.reload()  # the page signing in led to, as it is with the name and commune
    return citizen


@dataclass(frozen=True)
class Agency:
    account_id: int
    handle: str
    name: str
    owner_id: int


async def agency(server: E2EServer, *, handle: str, name: str, kind: str, province: str = "01",
                 commune: str | None = None, office_hours: list[dict[str, Any]] | None = None,
                 contacts: dict[str, str] | None = None, description: str = "") -> Agency:
    """A verified account with an owner of its own (made once per run: tests may share it)."""

    async def make() -> Agency:
        async with server.runtime.session() as session:
            existing = await session.scalar(select(Account).where(Account.handle == handle))
            if existing is None:
                owner = User(email=f"{handle}@loa.example", display_name=f"Cán bộ {name}")
                session.add(owner)
                await session.flush()
                existing = await accounts.create_account(
                    session, name=name, kind=kind, province_code=province, commune_code=commune, handle=handle,
                    description=description, contacts=contacts, office_hours=office_hours, owner=owner)
                await accounts.set_verified(session, existing)
                await commit(session)
                return Agency(existing.id, handle, name, owner.id)
            owner_id = await session.scalar(select(AccountMember.user_id).where(
                AccountMember.account_id == existing.id, AccountMember.role == "owner"))
            return Agency(existing.id, handle, name, owner_id)

    return await server.call(make())


async def publish(server: E2EServer, agency: Agency, title: str, body: str = "", kind: str = "notice") -> int:
    """The agency's owner composes and approves an announcement: published at once."""

    async def run() -> int:
        async with server.runtime.session() as session:
            owner = await session.get(User, agency.owner_id)
            assert owner is not None
            draft = await broadcasts.create_draft(session, account_id=agency.account_id, actor=owner, kind=kind,
                                                  title=title, body=body)
            await broadcasts.approve(session, broadcast_id=draft.id, actor=owner)
            await commit(session)
            return draft.id

    return await server.call(run())


async def staff_reply(server: E2EServer, agency: Agency, citizen: Citizen, text: str) -> None:
    """The agency answers the citizen's conversation from its inbox."""

    async def run() -> None:
        async with server.runtime.read_session() as session:
            owner = await session.get(User, agency.owner_id)
            assert owner is not None
            found = await conversations.citizen_conversation(
                session, await session.get(User, citizen.user_id), agency.account_id)  # type: ignore[arg-type]
            conversation = await conversations.staff_conversation(session, owner, found.id)
        await conversations.send_as_staff(server.runtime, actor=owner, conversation=conversation,
                                          content=text_content(text))

    await server.call(run())


async def block(server: E2EServer, agency: Agency, citizen: Citizen) -> None:
    async def run() -> None:
        async with server.runtime.session() as session:
            owner = await session.get(User, agency.owner_id)
            assert owner is not None
            await follows.block_follower(session, account_id=agency.account_id, actor=owner, user_id=citizen.user_id,
                                         reason="Tin nhắn quấy rối")
            await commit(session)

    await server.call(run())


async def act_on_report(server: E2EServer, agency: Agency, report_id: int, action: str, **extra: Any) -> None:
    """The agency's owner moves a report on, as from the console's report page."""

    async def run() -> None:
        async with server.runtime.read_session() as session:
            owner = await session.get(User, agency.owner_id)
        assert owner is not None
        await reports.act(server.runtime, actor=owner, report_id=report_id, action_name=action, **extra)

    await server.call(run())


async def file_report(server: E2EServer, citizen_id: int, **fields: Any) -> tuple[int, str]:
    """A report filed through the service by someone else (the duplicate a later citizen should be shown)."""

    async def run() -> tuple[int, str]:
        async with server.runtime.read_session() as session:
            reporter = await session.get(User, citizen_id)
        stored = await reports.submit(server.runtime, reporter=reporter, **fields)
        return stored.id, stored.code

    return await server.call(run())


async def someone(server: E2EServer, name: str) -> int:
    """Another citizen, who never signs in here."""

    async def run() -> int:
        async with server.runtime.session() as session:
            user = User(phone=normalize_mobile(fresh_phone()), display_name=name)
            session.add(user)
            await commit(session)
            return user.id

    return await server.call(run())


def photo_bytes(colour: tuple[int, int, int] = (200, 60, 40), size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG as a phone camera makes one (with EXIF, which Loa must strip)."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "Loa test camera"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def no_sideways_scroll(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling at 360 px."""
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360


async def image_shown(page: Page, selector: str) -> None:
    """The image is there and was really loaded (not a broken picture)."""
    await expect(page.locator(selector)).to_be_visible()
    await page.wait_for_function("selector => [...document.querySelectorAll(selector)].some("
                                 "img => img.complete && img.naturalWidth > 0)", arg=selector)
