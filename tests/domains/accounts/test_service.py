"""Accounts: creation rules, staff roles, verification and API tokens through the service."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from tests.factories import BA_DINH, HCMC, add_staff, make_account, make_user

from loa.domains.accounts import service
from loa.domains.accounts.models import Account, ApiToken
from loa.kit.effects import commit
from loa.kit.errors import Conflict, Forbidden, Invalid
from loa.runtime import Runtime


async def test_new_account_is_unverified_with_a_readable_unique_handle(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    first = await make_account(runtime, name="Bộ Y tế", kind="ministry", owner=owner, verified=False)
    second = await make_account(runtime, name="Bộ Y Tế", kind="ministry", verified=False)
    assert first.handle == "bo-y-te"
    assert second.handle == "bo-y-te-2"
    assert first.verification_status == "unverified"
    async with runtime.read_session() as session:
        assert await service.member_role(session, first.id, owner.id) == "owner"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "bakery"}, "invalid_kind"),
        ({"name": " "}, "invalid_name"),
        ({"province": "99"}, None),
        ({"commune": "99999"}, None),
        ({"province": HCMC, "commune": BA_DINH}, None),
    ],
)
async def test_bad_accounts_are_refused_and_nothing_is_stored(runtime: Runtime, kwargs: dict[str, str],
                                                              code: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        await make_account(runtime, **kwargs)
    if code:
        assert refused.value.code == code
    async with runtime.read_session() as session:
        assert (await session.scalars(select(Account))).all() == []


async def test_admins_manage_staff_but_only_owners_grant_admin(runtime: Runtime) -> None:
    owner, admin, newcomer = [await make_user(runtime) for _ in range(3)]
    account = await make_account(runtime, owner=owner)
    await add_staff(runtime, account, admin, "admin")
    async with runtime.session() as session:
        await service.add_member(session, account_id=account.id, user_id=newcomer.id, role="agent", actor=admin)
        with pytest.raises(Forbidden):
            await service.add_member(session, account_id=account.id, user_id=newcomer.id, role="admin", actor=admin)
        await commit(session)
    async with runtime.read_session() as session:
        assert await service.member_role(session, account.id, newcomer.id) == "agent"


async def test_the_last_owner_cannot_leave(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    async with runtime.session() as session:
        with pytest.raises(Conflict):
            await service.remove_member(session, account_id=account.id, user_id=owner.id, actor=owner)


async def test_staff_of_one_account_have_no_rights_on_another(runtime: Runtime) -> None:
    owner_a, owner_b = await make_user(runtime), await make_user(runtime)
    account_a = await make_account(runtime, name="Công an phường Ba Đình", kind="police", owner=owner_a)
    await make_account(runtime, name="Điện lực Hà Nội", kind="power", owner=owner_b)
    async with runtime.session() as session:
        with pytest.raises(Forbidden):
            await service.list_members(session, account_id=account_a.id, actor=owner_b)
        with pytest.raises(Forbidden):
            await service.create_api_token(session, account_id=account_a.id, actor=owner_b, name="x",
                                           scopes=["messages"])


async def test_verification_application_approved_by_an_operator(runtime: Runtime) -> None:
    owner, operator = await make_user(runtime), await make_user(runtime, operator=True)
    account = await make_account(runtime, name="UBND xã Tân Lập", kind="commune_committee", owner=owner,
                                 verified=False)
    async with runtime.session() as session:
        application = await service.apply_for_verification(
            session, account_id=account.id, user=owner, documents=[{"title": "Quyết định thành lập"}], note=""
        )
        await commit(session)
    async with runtime.session() as session:
        with pytest.raises(Conflict):
            await service.apply_for_verification(session, account_id=account.id, user=owner,
                                                 documents=[{"title": "Lần hai"}])
    async with runtime.session() as session:
        with pytest.raises(Forbidden):
            await service.decide_verification(session, application_id=application.id, operator=owner, approve=True)
        with pytest.raises(Invalid):
            await service.decide_verification(session, application_id=application.id, operator=operator,
                                              approve=False, reason="  ")
        await service.decide_verification(session, application_id=application.id, operator=operator, approve=True)
        await commit(session)
    async with runtime.read_session() as session:
        refreshed = await service.get_account(session, account.id)
        assert refreshed.verified and refreshed.verified_at is not None


async def test_rejection_keeps_the_reason_for_the_applicant(runtime: Runtime) -> None:
    owner, operator = await make_user(runtime), await make_user(runtime, operator=True)
    account = await make_account(runtime, owner=owner, verified=False)
    async with runtime.session() as session:
        application = await service.apply_for_verification(session, account_id=account.id, user=owner,
                                                           documents=[{"title": "Công văn"}])
        await service.decide_verification(session, application_id=application.id, operator=operator,
                                          approve=False, reason="Thiếu quyết định thành lập")
        await commit(session)
    async with runtime.read_session() as session:
        latest = await service.latest_application(session, account_id=account.id, actor=owner)
        assert (latest.status, latest.reason) == ("rejected", "Thiếu quyết định thành lập")
        assert (await service.get_account(session, account.id)).verification_status == "rejected"


async def test_api_tokens_are_stored_hashed_and_revocable(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    async with runtime.session() as session:
        token, plain = await service.create_api_token(session, account_id=account.id, actor=owner, name="CRM",
                                                      scopes=["messages", "followers"])
        await commit(session)
    async with runtime.read_session() as session:
        stored = (await session.scalars(select(ApiToken))).one()
        assert plain not in (stored.token_hash, stored.prefix)
        assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    async with runtime.session() as session:
        revoked = await service.revoke_api_token(session, account_id=account.id, token_id=token.id, actor=owner)
        await commit(session)
    assert revoked.revoked_at is not None


async def test_search_text_follows_renames(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, name="Sở Nội vụ", owner=owner)
    async with runtime.session() as session:
        loaded = await service.get_account(session, account.id)
        await service.update_profile(session, account=loaded, actor=owner, changes={"name": "Sở Tư pháp Hà Nội"})
        await commit(session)
    async with runtime.read_session() as session:
        found, _ = await service.search_accounts(session, q="tu phap")
        assert [a.name for a in found] == ["Sở Tư pháp Hà Nội"]
