"""Small builders for test data, writing through the real services and database."""

from __future__ import annotations

import itertools
from typing import Any

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.runtime import Runtime

_numbers = itertools.count(1)

# Real current codes: Hà Nội (01) / Phường Ba Đình (00004); TP. Hồ Chí Minh (79).
HANOI = "01"
BA_DINH = "00004"
HCMC = "79"


async def make_user(runtime: Runtime, *, name: str | None = None, phone: str | None = None,
                    email: str | None = None, commune: str | None = None, operator: bool = False) -> User:
    n = next(_numbers)
    async with runtime.session() as session:
        user = User(
            display_name=name or f"Người dùng {n}",
            phone=phone if phone or email else f"+8491{n:07d}",
            email=email,
            home_commune_code=commune,
            is_operator=operator,
        )
        session.add(user)
        await commit(session)
    return user


async def make_account(runtime: Runtime, *, name: str = "Sở Y tế Hà Nội", kind: str = "provincial_department",
                       province: str = HANOI, commune: str | None = None, verified: bool = True,
                       owner: User | None = None, **extra: Any) -> Account:
    async with runtime.session() as session:
        account = await accounts.create_account(session, name=name, kind=kind, province_code=province,
                                                commune_code=commune, owner=owner, **extra)
        if verified:
            await accounts.set_verified(session, account)
        await commit(session)
    return account


async def add_staff(runtime: Runtime, account: Account, user: User, role: str) -> None:
    async with runtime.session() as session:
        await accounts.add_member(session, account_id=account.id, user_id=user.id, role=role)
        await commit(session)
