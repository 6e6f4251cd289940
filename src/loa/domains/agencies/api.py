"""`/api/v1/organisations…`: parent bodies, their accounts (including sub-organisations') and staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts.models import Account
from loa.domains.accounts.schemas import AccountOut
from loa.domains.agencies import service
from loa.domains.agencies.schemas import (
    OrganisationCreate,
    OrganisationMemberIn,
    OrganisationMemberOut,
    OrganisationOut,
    OrganisationRef,
)
from loa.domains.people.models import User
from loa.kit.auth import require_operator, require_user
from loa.kit.effects import commit
from loa.kit.pagination import CursorParam, LimitParam, Page, cursor_int, decode_cursor, encode_cursor
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["organisations"])

OrganisationId = Annotated[int, Path(ge=1, le=2**62)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]


def _out(organisation, children=()) -> OrganisationOut:  # type: ignore[no-untyped-def]
    return OrganisationOut(
        id=str(organisation.id), name=organisation.name,
        parent_id=str(organisation.parent_id) if organisation.parent_id else None,
        province_code=organisation.province_code, created_at=organisation.created_at,
        children=[OrganisationRef(id=str(child.id), name=child.name) for child in children],
    )


@router.post("/organisations", response_model=OrganisationOut, status_code=201,
             summary="Create an organisation (operators)")
async def create_organisation(body: OrganisationCreate, session: Write,
                              operator: Annotated[User, Depends(require_operator)]) -> OrganisationOut:
    organisation = await service.create_organisation(
        session, name=body.name, parent_id=int(body.parent_id) if body.parent_id else None,
        province_code=body.province_code,
    )
    await commit(session)
    return _out(organisation)


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut, summary="An organisation")
async def get_organisation(organisation_id: OrganisationId, session: Read) -> OrganisationOut:
    organisation = await service.get_organisation(session, organisation_id)
    return _out(organisation, await service.children(session, organisation_id))


@router.get("/organisations/{organisation_id}/accounts", response_model=Page[AccountOut],
            summary="Accounts run by the organisation and the organisations below it")
async def organisation_accounts(organisation_id: OrganisationId, session: Read, cursor: CursorParam = None,
                                limit: LimitParam = 50) -> Page[AccountOut]:
    await service.get_organisation(session, organisation_id)
    ids = await service.subtree_ids(session, organisation_id)
    after = cursor_int(decode_cursor(cursor), "id")
    query = select(Account).where(Account.organisation_id.in_(ids)).order_by(Account.id).limit(limit + 1)
    if after is not None:
        query = query.where(Account.id > after)
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=[AccountOut.of(account) for account in rows[:limit]], next_cursor=next_cursor)


@router.get("/organisations/{organisation_id}/members", response_model=list[OrganisationMemberOut],
            summary="The organisation's staff directory")
async def organisation_members(organisation_id: OrganisationId, session: Read,
                               user: Annotated[User, Depends(require_user)]) -> list[OrganisationMemberOut]:
    await service.get_organisation(session, organisation_id)
    rows = await service.list_organisation_members(session, organisation_id=organisation_id, actor=user)
    return [OrganisationMemberOut(user_id=str(member_user.id), display_name=member_user.display_name,
                                  email=member_user.email, role=member.role) for member, member_user in rows]


@router.put("/organisations/{organisation_id}/members", response_model=OrganisationMemberOut,
            summary="Add a staff member to the organisation or change their role")
async def put_organisation_member(organisation_id: OrganisationId, body: OrganisationMemberIn, session: Write,
                                  user: Annotated[User, Depends(require_user)]) -> OrganisationMemberOut:
    member = await service.add_organisation_member(session, organisation_id=organisation_id,
                                                   user_id=int(body.user_id), role=body.role, actor=user)
    member_user = await session.get(User, member.user_id)
    await commit(session)
    assert member_user is not None
    return OrganisationMemberOut(user_id=str(member_user.id), display_name=member_user.display_name,
                                 email=member_user.email, role=member.role)
