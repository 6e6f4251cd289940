"""The operators' pages of organisations (`/admin/organisations…`): the tree of parent bodies, adding one,
renaming or moving one under another parent. Operators only; the agencies service refuses a loop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.agencies import service
from loa.domains.agencies.models import Organisation
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError, Invalid, NotFound
from loa.kit.i18n import N_
from loa.kit.sessions import read_session, write_session
from loa.web.deps import page_operator, page_router
from loa.web.forms import Form as FormState
from loa.web.render import pick, render, translate

router = page_router()

Operator = Annotated[User, Depends(page_operator)]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
Id = Annotated[int, Path(ge=1, le=2**62)]
FormField = Annotated[str, Form()]

DONE = {"created": N_("Organisation added."), "saved": N_("Changes saved.")}


def _done(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    return translate(request, DONE[key]) if key in DONE else None


def _field_of(exc: AppError, default: str) -> str:
    """The form field a service's refusal names (its `details`), else `default`."""
    details = exc.details if isinstance(exc.details, list) else []
    named = details[0].get("field") if details and isinstance(details[0], dict) else None
    return {"province_code": "province", "parent_id": "parent", "name": "name"}.get(str(named), default)


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


async def _context(request: Request, session: AsyncSession, form: FormState,
                   exclude: set[int] | None = None) -> dict[str, Any]:
    tree = await service.organisation_tree(session)
    return {
        "tree": tree, "form": form,
        # Indented as in the tree, without the organisation itself and those below it (that would be a loop).
        "parent_options": [(row.organisation.id, "\u2003" * row.depth + row.organisation.name) for row in tree
                           if row.organisation.id not in (exclude or set())],
        "provinces": {unit.code: unit.name for unit in await geo.list_provinces(session)},
        "counts": await accounts.count_by_organisation(session, [row.organisation.id for row in tree]),
        "done": _done(request),
    }


async def _parsed(request: Request, session: AsyncSession, form: FormState, parent: str,
                  province: str) -> tuple[int | None, str | None]:
    """The parent id and province code as chosen, with a readable error next to a bad choice."""
    parent_id = _int_or_none(parent)
    if parent.strip() and parent_id is None:
        form.fail("parent", translate(request, "Choose a parent organisation from the list."))
    return parent_id, province.strip() or None


@router.get("/admin/organisations", response_class=HTMLResponse)
async def organisations(request: Request, user: Operator, session: Read) -> HTMLResponse:
    return render(request, "admin/organisations.html", await _context(request, session, FormState()))


@router.post("/admin/organisations", response_class=HTMLResponse)
async def create(request: Request, user: Operator, session: Write, name: FormField = "", parent: FormField = "",
                 province: FormField = "") -> Response:
    form = FormState.of(name=name, parent=parent, province=province)
    parent_id, province_code = await _parsed(request, session, form, parent, province)
    if form.ok:
        try:
            await service.create_organisation(session, name=name, parent_id=parent_id, province_code=province_code)
            await commit(session)
            return RedirectResponse("/admin/organisations?done=created", status_code=303)
        except (Invalid, NotFound) as exc:
            await session.rollback()
            form.fail(_field_of(exc, "parent" if isinstance(exc, NotFound) else "name"), pick(request, exc.message))
    return render(request, "admin/organisations.html", await _context(request, session, form), status_code=422)


async def _edit_page(request: Request, session: AsyncSession, organisation: Organisation, form: FormState,
                     status_code: int = 200) -> HTMLResponse:
    below = set(await service.subtree_ids(session, organisation.id))
    context = await _context(request, session, form, exclude=below)
    context.update(organisation=organisation, children=await service.children(session, organisation.id),
                   accounts=await accounts.accounts_of_organisation(session, organisation.id),
                   parent=await service.get_organisation(session, organisation.parent_id)
                   if organisation.parent_id else None)
    return render(request, "admin/organisation.html", context, status_code=status_code)


@router.get("/admin/organisations/{organisation_id}", response_class=HTMLResponse)
async def organisation_page(request: Request, organisation_id: Id, user: Operator, session: Read) -> HTMLResponse:
    organisation = await service.get_organisation(session, organisation_id)
    form = FormState.of(name=organisation.name, parent=str(organisation.parent_id or ""),
                        province=organisation.province_code or "")
    return await _edit_page(request, session, organisation, form)


@router.post("/admin/organisations/{organisation_id}", response_class=HTMLResponse)
async def save(request: Request, organisation_id: Id, user: Operator, session: Write, name: FormField = "",
               parent: FormField = "", province: FormField = "") -> Response:
    organisation = await service.get_organisation(session, organisation_id)
    form = FormState.of(name=name, parent=parent, province=province)
    parent_id, province_code = await _parsed(request, session, form, parent, province)
    if form.ok:
        try:
            await service.update_organisation(session, organisation_id=organisation_id, name=name,
                                              parent_id=parent_id, province_code=province_code)
            await commit(session)
            return RedirectResponse(f"/admin/organisations/{organisation_id}?done=saved", status_code=303)
        except (Invalid, NotFound) as exc:
            await session.rollback()
            form.fail(_field_of(exc, "parent" if isinstance(exc, NotFound) else "name"), pick(request, exc.message))
            organisation = await service.get_organisation(session, organisation_id)
    return await _edit_page(request, session, organisation, form, status_code=422)
