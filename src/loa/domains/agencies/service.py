"""Organisations: parent bodies running many accounts, their tree and their staff directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.agencies.models import ORGANISATION_ROLES, Organisation, OrganisationMember
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.errors import Forbidden, Invalid, NotFound
from loa.kit.text import clean_line, fold

MAX_DEPTH = 8
MAX_TREE = 5000  # organisations listed in one tree (a national installation has a few hundred)


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


async def update_organisation(session: AsyncSession, *, organisation_id: int, name: str, parent_id: int | None,
                              province_code: str | None) -> Organisation:
    """Rename an organisation, move it under another parent (or to the top), change its province. A parent
    inside its own subtree would make a loop: refused."""
    organisation = await get_organisation(session, organisation_id)
    name = clean_line(name)
    if not 2 <= len(name) <= 200:
        raise Invalid("Tên tổ chức phải dài 2–200 ký tự / Name must be 2–200 characters", code="invalid_name",
                      details=[{"field": "name"}])
    if province_code is not None:
        await geo.require_province(session, province_code)
    if parent_id is not None:
        await get_organisation(session, parent_id)
        if parent_id in await subtree_ids(session, organisation_id):
            raise Invalid("Không thể đặt tổ chức dưới chính nó hoặc một đơn vị cấp dưới của nó / An organisation "
                          "cannot be placed under itself or one of its own sub-organisations", code="parent_loop",
                          details=[{"field": "parent_id"}])
    organisation.name, organisation.search_text = name, fold(name)
    organisation.parent_id, organisation.province_code = parent_id, province_code
    await session.flush()
    return organisation


@dataclass(frozen=True)
class TreeRow:
    organisation: Organisation
    depth: int  # 0 for a top-level organisation


async def organisation_tree(session: AsyncSession, *, limit: int = MAX_TREE) -> list[TreeRow]:
    """Every organisation in tree order (each followed by its children, by name), at most `limit` rows.
    An organisation whose parent chain loops or runs deeper than MAX_DEPTH is listed at the top level, so
    nothing is ever hidden."""
    rows = list(await session.scalars(select(Organisation).order_by(Organisation.name, Organisation.id)
                                      .limit(limit)))
    known = {row.id for row in rows}
    children: dict[int | None, list[Organisation]] = {}
    for row in rows:
        children.setdefault(row.parent_id if row.parent_id in known else None, []).append(row)
    ordered: list[TreeRow] = []
    placed: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for child in children.get(parent, []):
            if child.id in placed:
                continue
            placed.add(child.id)
            ordered.append(TreeRow(child, depth))
            if depth + 1 < MAX_DEPTH:
                walk(child.id, depth + 1)

    walk(None, 0)
    for row in rows:  # in a loop or too deep: shown at the top level rather than lost
        if row.id not in placed:
            placed.add(row.id)
            ordered.append(TreeRow(row, 0))
            walk(row.id, 1)
    return ordered


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
