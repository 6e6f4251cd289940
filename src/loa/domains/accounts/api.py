"""`/api/v1/accounts…`: discovery (public), profile, staff, verification, API tokens."""

from __future__ import annotations

from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service
from loa.domains.accounts.kinds import KIND_LABELS
from loa.domains.accounts.models import ACCOUNT_KINDS
from loa.domains.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    ApplicationOut,
    KindOut,
    MemberIn,
    MemberOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    VerificationApply,
    VerificationDecision,
)
from loa.domains.people.models import User
from loa.kit.auth import require_operator, require_user
from loa.kit.effects import commit
from loa.kit.pagination import CursorParam, LimitParam, Page
from loa.kit.sessions import read_session, write_session

router = APIRouter(tags=["accounts"])

AccountId = Annotated[int, Path(ge=1, le=2**62, description="Account id")]
Kind = Literal[tuple(ACCOUNT_KINDS)]  # type: ignore[valid-type]
Read = Annotated[AsyncSession, Depends(read_session)]
Write = Annotated[AsyncSession, Depends(write_session)]
CurrentUser = Annotated[User, Depends(require_user)]


def _locale(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "vi"


@router.get("/accounts", response_model=Page[AccountOut], summary="Search and list accounts")
async def search_accounts(
    request: Request,
    session: Read,
    q: Annotated[str | None, Query(max_length=200, description="Folded search: 'bo y te' finds 'Bộ Y tế'")] = None,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    commune_code: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    kind: Kind | None = None,
    verified: Annotated[bool, Query(description="Verified accounts only (default), or only unverified")] = True,
    cursor: CursorParam = None,
    limit: LimitParam = 20,
) -> Page[AccountOut]:
    items, next_cursor = await service.search_accounts(
        session, q=q, province_code=province_code, commune_code=commune_code, kind=kind, verified=verified,
        cursor=cursor, limit=limit,
    )
    locale = _locale(request)
    return Page(items=[AccountOut.of(account, locale) for account in items], next_cursor=next_cursor)


@router.get("/accounts/kinds", response_model=list[KindOut], summary="Kinds of accounts")
async def account_kinds() -> list[KindOut]:
    return [
        KindOut(kind=kind, sector=sector, label_vi=KIND_LABELS[kind][0], label_en=KIND_LABELS[kind][1])
        for kind, sector in ACCOUNT_KINDS.items()
    ]


@router.get("/accounts/local", response_model=list[AccountOut], summary="Accounts serving a commune")
async def local_accounts(
    request: Request,
    session: Read,
    commune_code: Annotated[str, Query(pattern=r"^\d{5}$")],
) -> list[AccountOut]:
    items = await service.local_accounts(session, commune_code=commune_code)
    return [AccountOut.of(account, _locale(request)) for account in items]


@router.post("/accounts", response_model=AccountOut, status_code=201, summary="Register an account (unverified)")
async def create_account(request: Request, body: AccountCreate, session: Write, user: CurrentUser) -> AccountOut:
    account = await service.create_account(
        session,
        name=body.name, kind=body.kind, province_code=body.province_code, commune_code=body.commune_code,
        handle=body.handle, description=body.description,
        contacts=body.contacts.model_dump(exclude_none=True),
        office_hours=[hours.model_dump() for hours in body.office_hours],
        organisation_id=int(body.organisation_id) if body.organisation_id else None,
        owner=user,
    )
    await commit(session)
    return AccountOut.of(account, _locale(request))


@router.get("/accounts/{account_id}", response_model=AccountOut, summary="An account's public profile")
async def get_account(request: Request, account_id: AccountId, session: Read) -> AccountOut:
    return AccountOut.of(await service.get_account(session, account_id), _locale(request))


@router.get("/accounts/{account_id}/qr.svg", summary="QR code of the account's page, for posters",
            response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
async def account_qr(request: Request, account_id: AccountId, session: Read) -> Response:
    account = await service.get_account(session, account_id)
    base = request.app.state.runtime.settings.public_url or str(request.base_url).rstrip("/")
    qr = segno.make(f"{base}/a/{account.handle}", error="m")
    return Response(qr.svg_inline(scale=6, border=2), media_type="image/svg+xml")


@router.patch("/accounts/{account_id}", response_model=AccountOut, summary="Edit the profile (owner, admin)")
async def update_account(request: Request, account_id: AccountId, body: AccountUpdate, session: Write,
                         user: CurrentUser) -> AccountOut:
    account = await service.get_account(session, account_id)
    changes = body.model_dump(exclude_unset=True)
    if body.contacts is not None:
        changes["contacts"] = body.contacts.model_dump(exclude_none=True)
    if body.office_hours is not None:
        changes["office_hours"] = [hours.model_dump() for hours in body.office_hours]
    await service.update_profile(session, account=account, actor=user, changes=changes)
    await commit(session)
    return AccountOut.of(account, _locale(request))


# --- staff ---------------------------------------------------------------------------------------


def _member_out(member, user: User) -> MemberOut:  # type: ignore[no-untyped-def]
    return MemberOut(user_id=str(user.id), display_name=user.display_name, email=user.email, role=member.role,
                     created_at=member.created_at)


@router.get("/accounts/{account_id}/members", response_model=list[MemberOut], summary="Staff of the account")
async def list_members(account_id: AccountId, session: Read, user: CurrentUser) -> list[MemberOut]:
    rows = await service.list_members(session, account_id=account_id, actor=user)
    return [_member_out(member, member_user) for member, member_user in rows]


@router.put("/accounts/{account_id}/members", response_model=MemberOut, summary="Add a staff member or change a role")
async def put_member(account_id: AccountId, body: MemberIn, session: Write, user: CurrentUser) -> MemberOut:
    await service.get_account(session, account_id)
    member = await service.add_member(session, account_id=account_id, user_id=int(body.user_id), role=body.role,
                                      actor=user)
    member_user = await session.get(User, member.user_id)
    await commit(session)
    assert member_user is not None
    return _member_out(member, member_user)


@router.delete("/accounts/{account_id}/members/{user_id}", status_code=204, summary="Remove a staff member")
async def delete_member(account_id: AccountId, user_id: Annotated[int, Path(ge=1, le=2**62)], session: Write,
                        user: CurrentUser) -> Response:
    await service.remove_member(session, account_id=account_id, user_id=user_id, actor=user)
    await commit(session)
    return Response(status_code=204)


@router.get("/me/accounts", response_model=list[dict[str, str]], summary="Accounts I work for, with my role")
async def my_accounts(session: Read, user: CurrentUser) -> list[dict[str, str]]:
    rows = await service.accounts_of_member(session, user.id)
    return [{"account_id": str(account.id), "name": account.name, "role": role} for account, role in rows]


# --- verification --------------------------------------------------------------------------------


def _application_out(application, account) -> ApplicationOut:  # type: ignore[no-untyped-def]
    return ApplicationOut(
        id=str(application.id), account_id=str(account.id), account_name=account.name, status=application.status,
        documents=application.documents, note=application.note, reason=application.reason,
        created_at=application.created_at, decided_at=application.decided_at,
    )


@router.post("/accounts/{account_id}/verification", response_model=ApplicationOut, status_code=201,
             summary="Apply for the verified badge")
async def apply_for_verification(account_id: AccountId, body: VerificationApply, session: Write,
                                 user: CurrentUser) -> ApplicationOut:
    application = await service.apply_for_verification(
        session, account_id=account_id, user=user, documents=[doc.model_dump() for doc in body.documents],
        note=body.note,
    )
    account = await service.get_account(session, account_id)
    await commit(session)
    return _application_out(application, account)


@router.get("/accounts/{account_id}/verification", response_model=ApplicationOut,
            summary="The account's latest verification application")
async def get_verification(account_id: AccountId, session: Read, user: CurrentUser) -> ApplicationOut:
    application = await service.latest_application(session, account_id=account_id, actor=user)
    return _application_out(application, await service.get_account(session, account_id))


@router.get("/admin/verification-applications", response_model=Page[ApplicationOut],
            summary="Verification queue (operators)")
async def list_applications(
    session: Read,
    operator: Annotated[User, Depends(require_operator)],
    status: Literal["pending", "approved", "rejected"] | None = "pending",
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[ApplicationOut]:
    rows, next_cursor = await service.list_applications(session, operator=operator, status=status, cursor=cursor,
                                                        limit=limit)
    return Page(items=[_application_out(app, account) for app, account in rows], next_cursor=next_cursor)


@router.post("/admin/verification-applications/{application_id}/decision", response_model=ApplicationOut,
             summary="Approve or reject (with a reason) a verification application")
async def decide_application(
    application_id: Annotated[int, Path(ge=1, le=2**62)],
    body: VerificationDecision,
    session: Write,
    operator: Annotated[User, Depends(require_operator)],
) -> ApplicationOut:
    application = await service.decide_verification(
        session, application_id=application_id, operator=operator, approve=body.approve, reason=body.reason
    )
    account = await service.get_account(session, application.account_id)
    await commit(session)
    return _application_out(application, account)


# --- API tokens ----------------------------------------------------------------------------------


def _token_out(token) -> TokenOut:  # type: ignore[no-untyped-def]
    return TokenOut(id=str(token.id), name=token.name, prefix=token.prefix, scopes=token.scopes,
                    created_at=token.created_at, last_used_at=token.last_used_at, expires_at=token.expires_at,
                    revoked_at=token.revoked_at)


@router.post("/accounts/{account_id}/api-tokens", response_model=TokenCreated, status_code=201,
             summary="Create an API token (shown once)")
async def create_token(account_id: AccountId, body: TokenCreate, session: Write, user: CurrentUser) -> TokenCreated:
    await service.get_account(session, account_id)
    token, plain = await service.create_api_token(
        session, account_id=account_id, actor=user, name=body.name, scopes=body.scopes,
        expires_in_days=body.expires_in_days,
    )
    await commit(session)
    return TokenCreated(**_token_out(token).model_dump(), token=plain)


@router.get("/accounts/{account_id}/api-tokens", response_model=list[TokenOut], summary="The account's API tokens")
async def list_tokens(account_id: AccountId, session: Read, user: CurrentUser) -> list[TokenOut]:
    return [_token_out(token) for token in await service.list_api_tokens(session, account_id=account_id, actor=user)]


@router.delete("/accounts/{account_id}/api-tokens/{token_id}", response_model=TokenOut, summary="Revoke a token")
async def revoke_token(account_id: AccountId, token_id: Annotated[int, Path(ge=1, le=2**62)], session: Write,
                       user: CurrentUser) -> TokenOut:
    token = await service.revoke_api_token(session, account_id=account_id, token_id=token_id, actor=user)
    await commit(session)
    return _token_out(token)

