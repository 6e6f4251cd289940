"""Demo data: real-looking agencies and logins, seeded once into an empty database."""

from __future__ import annotations

import pyotp
from pwdlib import PasswordHash
from sqlalchemy import func, select

from loa.domains.accounts.models import Account, AccountMember, VerificationApplication
from loa.domains.agencies.models import Organisation
from loa.domains.conversations.models import Conversation, Message
from loa.domains.follows.models import Follow
from loa.domains.people.models import User
from loa.domains.reports.models import Report
from loa.domains.seed import ensure_demo, run_seed
from loa.domains.seed.demo import DEMO_PASSWORD, STAFF
from loa.runtime import Runtime


async def test_ensure_demo_seeds_an_empty_database_once(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"seed_demo": True})
    assert await ensure_demo(settings) is True

    async with runtime.read_session() as session:
        ministry = await session.scalar(select(Account).where(Account.name == "Bộ Y tế"))
        assert ministry is not None and ministry.verified and ministry.kind == "ministry"
        total = await session.scalar(select(func.count()).select_from(Account))

        pending = await session.scalar(select(Account).where(Account.verification_status == "pending"))
        assert pending is not None
        application = await session.scalar(
            select(VerificationApplication).where(VerificationApplication.account_id == pending.id))
        assert application is not None and application.status == "pending"

        # the organisation tree: Hà Nội's departments under the city's People's Committee
        city = await session.scalar(select(Organisation).where(Organisation.name == "UBND Thành phố Hà Nội"))
        department = await session.scalar(select(Organisation).where(Organisation.name == "Sở Y tế Hà Nội"))
        assert city is not None and department is not None and department.parent_id == city.id

        # commune accounts carry real current codes; every account has an owner
        ba_dinh = await session.scalar(select(Account).where(Account.name == "UBND Phường Ba Đình"))
        assert ba_dinh is not None and ba_dinh.commune_code == "00004" and ba_dinh.kind == "commune_committee"
        roles = set(await session.scalars(select(AccountMember.role)))
        assert {"owner", "admin", "editor", "agent"} <= roles
        owned = set(await session.scalars(select(AccountMember.account_id).where(AccountMember.role == "owner")))
        assert len(owned) == total

        # staff log in with the documented password and TOTP secret
        operator = await session.scalar(select(User).where(User.is_operator.is_(True)))
        assert operator is not None and operator.email == STAFF[0].email
        assert operator.totp_secret == STAFF[0].totp_secret
        assert PasswordHash.recommended().verify(DEMO_PASSWORD, operator.password_hash or "")
        assert pyotp.TOTP(STAFF[0].totp_secret).now().isdigit()

        # citizens follow, and the counters agree
        assert await session.scalar(select(func.count()).select_from(Follow)) > 10
        assert await session.scalar(select(func.sum(Account.follower_count))) == await session.scalar(
            select(func.count()).select_from(Follow))

        # Phường Ba Đình's inbox: one answered question waiting for the citizen, one open; welcome messages
        rows = (await session.execute(select(Conversation.state, Conversation.first_response_seconds).where(
            Conversation.account_id == ba_dinh.id, Conversation.messages_in > 0)
            .order_by(Conversation.state))).all()
        assert [(state, seconds is not None) for state, seconds in rows] == [("open", False), ("waiting", True)]
        welcomes = await session.scalar(select(func.count()).select_from(Message).where(
            Message.account_id == ba_dinh.id, Message.auto == "welcome"))
        assert welcomes == await session.scalar(select(func.count()).select_from(Follow).where(
            Follow.account_id == ba_dinh.id))
        auto_answers = await session.scalar(select(func.count()).select_from(Message).where(
            Message.account_id == ba_dinh.id, Message.auto == "keyword"))
        assert auto_answers == 1  # "tạm trú" has a keyword answer

        # Reports: Ba Đình handles its own (one rated, one waiting for the citizen, new ones); traffic goes to
        # the city's traffic police by a routing rule.
        statuses = (await session.execute(select(Report.status, Report.rating).where(
            Report.account_id == ba_dinh.id).order_by(Report.id))).all()
        assert [tuple(row) for row in statuses] == [("resolved", 5), ("waiting", None), ("submitted", None),
                                                      ("submitted", None)]
        traffic = (await session.execute(select(Account.handle, Report.status).join(
            Account, Account.id == Report.account_id).where(Report.fields["violation"].as_string() == "wrong_way"))
            ).one()
        assert tuple(traffic) == ("csgt-hanoi", "accepted")

    assert await ensure_demo(settings) is False  # second start: nothing changes
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == total
    assert (await run_seed(settings, scale="demo", quiet=True))["seeded"] is False


async def test_ensure_demo_leaves_a_database_with_accounts_or_when_turned_off(runtime: Runtime) -> None:
    assert await ensure_demo(runtime.settings) is False  # seed_demo is off in tests
    await run_seed(runtime.settings, scale="province", fraction=0.0005, province="96", quiet=True)
    async with runtime.read_session() as session:
        before = await session.scalar(select(func.count()).select_from(Account))
    assert await ensure_demo(runtime.settings.model_copy(update={"seed_demo": True})) is False
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == before
        assert await session.scalar(select(Account.id).where(Account.handle == "boyte")) is None


def test_a_fresh_process_seeds_the_demo_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`./loa run`'s first start in a new process: nothing imported beforehand (the demo enqueues jobs, so
    every job must be known by name without the server having started)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LOA_DATA_DIR": str(tmp_path), "LOA_ENV": "development"}
    env.pop("LOA_DATABASE_URL", None)
    env.pop("LOA_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "loa.cli", "seed", "--scale", "demo"], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "boyte@loa.example" in done.stdout + done.stderr  # the demo logins it prints at the end
