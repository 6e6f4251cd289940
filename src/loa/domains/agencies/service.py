"""Organisations: parent bodies running many accounts, their tree and their staff directory."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.agencies.models import ORGANISATION_ROLES, Organisation, OrganisationMember
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.errors import Forbidden, Invalid, NotFound
from loa.kit.text import clean_line, fold

MAX_DEPTH = 8


async def create_organisation(session: AsyncSession, *, name: str, parent_id: int | None = None,
                              province_code: str | None = None) -> Organisation:
    name = clean_line(name)
    if not 2 <= len(name) <= 200:
        raise Invalid("Tên tổ chức phải dài 2–200 ký tự / Name must be 2–200 characters", code="invalid_name")
    if province_code is not None:
        await geo.require_province(session, province_code)
    if parent_id is not None:
        await get_organisation(session, parent_id)
    organisation = Organisation(name=name, search_text=fold(name), parent_id=parent_id, province_code=province_code)
    session.add(organisation)
    await session.flush()
    return organisation


async def get_organisation(session: AsyncSession, organisation_id: int) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("Không tìm thấy tổ chức / Organisation not found", code="organisation_not_found")
    return organisation


async def subtree_ids(session: AsyncSession, organisation_id: int) -> list[int]:
    """The organisation and every organisation below it (breadth first, depth-capped)."""
    ids, frontier = [organisation_id], [organisation_id]
    for _ in range(MAX_DEPTH):
        children = list(await session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(frontier))))
        children = [child for child in children if child not in ids]
        if not children:
            break
        ids.extend(children)
        frontier = children
    return ids


async def children(session: AsyncSession, organisation_id: int) -> list[Organisation]:
    result = await session.scalars(
        select(Organisation).where(Organisation.parent_id == organisation_id).order_by(Organisation.name)
    )
    return list(result)


async def organisation_role(session: AsyncSession, organisation_id: int, user_id: int) -> str | None:
    """The user's role on this organisation or the nearest ancestor where they have one."""
    current: int | None = organisation_id
    for _ in range(MAX_DEPTH):
        if current is None:
            return None
        role = await session.scalar(
            select(OrganisationMember.role).where(
                OrganisationMember.organisation_id == current, OrganisationMember.user_id == user_id
            )
        )
        if role:
            return role
        current = await session.scalar(select(Organisation.parent_id).where(Organisation.id == current))
    return None


async def require_organisation_role(session: AsyncSession, organisation_id: int, user: User,
                                    roles: tuple[str, ...] = ORGANISATION_ROLES) -> str:
    role = await organisation_role(session, organisation_id, user.id)
    if role is None or role not in roles:
        raise Forbidden("Bạn không có quyền với tổ chức này / No permission on this organisation",
                        code="not_permitted")
    return role


async def add_organisation_member(session: AsyncSession, *, organisation_id: int, user_id: int, role: str,
                                  actor: User | None = None) -> OrganisationMember:
    if role not in ORGANISATION_ROLES:
        raise Invalid("Vai trò không hợp lệ / Unknown role", code="invalid_role")
    await get_organisation(session, organisation_id)
    if actor is not None and not actor.is_operator:
        await require_organisation_role(session, organisation_id, actor, ("owner", "admin"))
    if await session.get(User, user_id) is None:
        raise NotFound("Không tìm thấy người dùng / User not found", code="user_not_found")
    member = await session.get(OrganisationMember, (organisation_id, user_id))
    if member is None:
        member = OrganisationMember(organisation_id=organisation_id, user_id=user_id, role=role)
        session.add(member)
    else:
        member.role = role
    await session.flush()
    return member


async def list_organisation_members(session: AsyncSession, *, organisation_id: int,
                                    actor: User) -> list[tuple[OrganisationMember, User]]:
    if not actor.is_operator:
        await require_organisation_role(session, organisation_id, actor)
    rows = await session.execute(
        select(OrganisationMember, User)
        .join(User, User.id == OrganisationMember.user_id)
        .where(OrganisationMember.organisation_id == organisation_id)
        .order_by(User.display_name, User.id)
    )
    return list(rows.all())
