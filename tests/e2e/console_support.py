"""What the console's journeys set up through the services, on the server's own runtime: an account of their own
(so that they never change the demo accounts other journeys read), its staff, citizens who follow it, their
messages and reports."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from tests.e2e.helpers import E2EServer

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import text_content
from loa.domains.follows import service as follows
from loa.domains.geo.models import AdminUnit
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.domains.reports import deadlines
from loa.domains.reports import service as reports
from loa.domains.reports.models import ReportCategory
from loa.domains.seed.demo import CITIZENS
from loa.kit.effects import commit


@dataclass(frozen=True)
class ConsoleAccount:
    id: int
    name: str
    handle: str
    commune_code: str | None
    province_code: str

    @property
    def base(self) -> str:
        return f"/console/{self.id}"


async def _user_id(session, email: str) -> int:  # type: ignore[no-untyped-def]
    user_id = await session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None, email
    return user_id


async def free_commune(server: E2EServer) -> tuple[str, str]:
    """A commune (code, province) with no account and no demo citizen: reports there go to the account made for
    it, and to no other journey's."""

    async def pick() -> tuple[str, str]:
        async with server.runtime.read_session() as session:
            taken = set(await session.scalars(select(Account.commune_code).where(Account.commune_code.is_not(None))))
            taken |= {commune for _, _, commune, _ in CITIZENS}
            rows = (await session.execute(select(AdminUnit.code, AdminUnit.province_code).where(
                AdminUnit.scheme == "current", AdminUnit.level == "commune"))).all()
        free = [(code, province) for code, province in rows if code not in taken and province]
        return random.choice(free)

    return await server.call(pick())


async def make_account(server: E2EServer, owner: str, *, name: str, kind: str = "commune_committee",
                       commune: tuple[str, str] | None = None, province: str = "48",
                       staff: tuple[tuple[str, str], ...] = ()) -> ConsoleAccount:
    """A verified account of this journey's own, `owner` (a demo staff e-mail) its owner, `staff` others."""
    unique = f"{name} {uuid.uuid4().hex[:4].upper()}"

    async def create() -> ConsoleAccount:
        async with server.runtime.session() as session:
            owner_user = await session.get(User, await _user_id(session, owner))
            account = await accounts.create_account(
                session, name=unique, kind=kind, province_code=commune[1] if commune else province,
                commune_code=commune[0] if commune else None, owner=owner_user,
                description="Tài khoản dùng trong kiểm thử bảng điều khiển.")
            await accounts.set_verified(session, account)
            for email, role in staff:
                await accounts.add_member(session, account_id=account.id, user_id=await _user_id(session, email),
                                          role=role)
            await commit(session)
            return ConsoleAccount(account.id, account.name, account.handle, account.commune_code,
                                  account.province_code)

    return await server.call(create())


async def make_citizen(server: E2EServer, name: str, *, follows_account: int | None = None,
                       commune: str | None = None) -> int:
    """A citizen of this journey (a phone no demo citizen has), following the account if asked."""

    async def create() -> int:
        async with server.runtime.session() as session:
            citizen = User(phone=f"+8498{random.randint(0, 9_999_999):07d}", display_name=name,
                           home_commune_code=commune)
            session.add(citizen)
            await session.flush()
            if follows_account is not None:
                await follows.follow(session, user=citizen, account_id=follows_account)
            await commit(session)
            return citizen.id

    return await server.call(create())


async def make_staff_login(server: E2EServer, name: str) -> str:
    """A staff login (password and authenticator) of no account yet, as the operators make them."""
    email = f"canbo-{uuid.uuid4().hex[:8]}@loa.example"

    async def create() -> None:
        async with server.runtime.session() as session:
            await people.set_staff_credentials(session, email=email, password=uuid.uuid4().hex, name=name)
            await commit(session)

    await server.call(create())
    return email


async def citizen_writes(server: E2EServer, citizen_id: int, account_id: int, text: str) -> int:
    """A citizen's message through the conversations service (as the citizen's page sends it)."""

    async def send() -> int:
        async with server.runtime.read_session() as session:
            citizen = await session.get(User, citizen_id)
        assert citizen is not None
        stored = await conversations.send_as_citizen(server.runtime, citizen=citizen, account_id=account_id,
                                                     content=text_content(text))
        return int(stored.row["conversation_id"])

    return await server.call(send())


async def citizen_reports(server: E2EServer, citizen_id: int, commune: str, *, title: str, description: str,
                          category: str = "waste", received: datetime | None = None) -> tuple[int, str]:
    """A report through the reports service, located by address and commune (routed to the commune's committee)."""

    async def submit() -> tuple[int, str]:
        async with server.runtime.read_session() as session:
            citizen = await session.get(User, citizen_id)
        stored = await reports.submit(server.runtime, reporter=citizen, category_code=category, title=title,
                                      description=description, address="Số 1 đường Thử Nghiệm", commune_code=commune,
                                      now=received)
        return stored.id, stored.code

    return await server.call(submit())


async def received_for_near_deadline(server: E2EServer, category: str = "flooding") -> datetime:
    """A receipt time whose deadline is near now: the reminder's moment (a fifth of the working time left) has
    passed, the deadline not yet. A deadline in working hours has such a moment whatever the time of the week."""

    async def find() -> datetime:
        async with server.runtime.read_session() as session:
            found = await session.scalar(select(ReportCategory).where(ReportCategory.code == category))
            assert found is not None
            deadline = deadlines.Deadline(found.deadline_amount, found.deadline_unit)
            now = utcnow()
            work = await deadlines.calendar(session, now)
        for steps in range(1, 3 * 24 * 14):
            received = now - timedelta(minutes=20 * steps)
            due = deadline.due(work, received)
            if deadlines.remind_at(work, received, due) <= now - timedelta(minutes=5) and due > now + \
                    timedelta(minutes=30):
                return received
        raise AssertionError("no receipt time gives a near deadline")

    return await server.call(find())


async def act_on_report(server: E2EServer, email: str, report_id: int, action: str) -> None:
    """Another staff member moves the report on (as their own console would)."""

    async def act() -> None:
        async with server.runtime.read_session() as session:
            actor = await session.get(User, await _user_id(session, email))
        await reports.act(server.runtime, actor=actor, report_id=report_id, action_name=action)

    await server.call(act())
