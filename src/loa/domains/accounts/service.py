"""Accounts: creation, profile, staff roles, verification ("định danh"), API tokens, discovery search.

Functions take an AsyncSession and never commit: the caller commits with `loa.kit.effects.commit`.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import filetype
from sqlalchemy import Integer, Select, and_, case, column, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.db.raw import RawSelect
from loa.domains.accounts.kinds import NATIONAL_KINDS
from loa.domains.accounts.models import (
    ACCOUNT_KINDS,
    ACCOUNT_ROLES,
    VERIFICATION_STATUSES,
    Account,
    AccountMember,
    ApiToken,
    VerificationApplication,
)
from loa.domains.geo import service as geo
from loa.domains.people import service as people
from loa.domains.people.models import AuditEvent, User
from loa.kit.effects import publish_after_commit
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound
from loa.kit.files import clean_file, display_name
from loa.kit.images import clean_image
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.storage import MediaStorage
from loa.kit.text import clean_line, fold, fold_words

MANAGERS = ("owner", "admin")
STAFF_ROLES = ACCOUNT_ROLES
MAX_SEARCH_RESULTS = 1000  # deep paging through ranked search is refused beyond this
MAX_REASON = 2000


# --- creation and profile -------------------------------------------------------------------------


def search_text_of(name: str, handle: str) -> str:
    return f"{fold(name)} {handle}"


async def _unique_handle(session: AsyncSession, wanted: str | None, name: str) -> str:
    if wanted:
        if await session.scalar(select(Account.id).where(Account.handle == wanted)):
            raise Conflict(f"Tên định danh '{wanted}' đã được dùng / Handle already taken", code="handle_taken")
        return wanted
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:50] or "account"
    if len(base) < 3:
        base = f"{base}-oa"
    candidate, n = base, 1
    while await session.scalar(select(Account.id).where(Account.handle == candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


async def _validate_area(session: AsyncSession, province_code: str, commune_code: str | None) -> None:
    await geo.require_province(session, province_code)
    if commune_code is not None:
        await geo.require_commune(session, commune_code, province_code=province_code)


async def create_account(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    province_code: str,
    commune_code: str | None = None,
    handle: str | None = None,
    description: str = "",
    contacts: dict[str, Any] | None = None,
    office_hours: list[dict[str, Any]] | None = None,
    organisation_id: int | None = None,
    owner: User | None = None,
) -> Account:
    name = clean_line(name)
    if not 2 <= len(name) <= 200:
        raise Invalid("Tên tài khoản phải dài 2–200 ký tự / Name must be 2–200 characters", code="invalid_name")
    if kind not in ACCOUNT_KINDS:
        raise Invalid(f"Loại tài khoản không hợp lệ: {kind} / Unknown account kind", code="invalid_kind")
    await _validate_area(session, province_code, commune_code)
    if organisation_id is not None:
        from loa.domains.agencies import service as agencies

        await agencies.get_organisation(session, organisation_id)
    handle = await _unique_handle(session, handle, name)
    account = Account(
        handle=handle,
        name=name,
        search_text=search_text_of(name, handle),
        kind=kind,
        description=description,
        contacts=contacts or {},
        office_hours=office_hours or [],
        province_code=province_code,
        commune_code=commune_code,
        organisation_id=organisation_id,
        verification_status="unverified",
        follower_count=0,
    )
    session.add(account)
    await session.flush()
    if owner is not None:
        session.add(AccountMember(account_id=account.id, user_id=owner.id, role="owner"))
        await session.flush()
    return account


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("Không tìm thấy tài khoản / Account not found", code="account_not_found")
    return account


_SELECT_ACCOUNT_IDS = RawSelect("accounts", ("id",), where_in="id")


def existing_account_ids(session: Session, account_ids: set[int]) -> set[int]:
    """Which of these accounts exist: one query for a batch (the message writer's synchronous transaction;
    driver-level, as the writer's own statements)."""
    return {row[0] for row in _SELECT_ACCOUNT_IDS.fetch(session, sorted(account_ids))}


def committees_of(session: Session, communes: Sequence[str], provinces: Sequence[str]) -> dict[tuple[str, str], int]:
    """The People's Committee accounts of these communes and provinces, ("commune_committee", commune) or
    ("provincial_committee", province) → account id, a verified one first: one query for a batch (the report
    writer's synchronous transaction)."""
    found: dict[tuple[str, str], int] = {}
    for kind, commune, province, account_id in session.execute(select(
            Account.kind, Account.commune_code, Account.province_code, Account.id).where(or_(
            and_(Account.kind == "commune_committee", Account.commune_code.in_(list(communes))),
            and_(Account.kind == "provincial_committee", Account.province_code.in_(list(provinces))))).order_by(
            Account.verification_status != "verified", Account.id)):
        found.setdefault((kind, commune if kind == "commune_committee" else province), account_id)
    return found


async def account_names(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, str]:
    """Names of these accounts by id (one query), for lists that show who handles what."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    return {account_id: name for account_id, name in (await session.execute(
        select(Account.id, Account.name).where(Account.id.in_(wanted)))).all()}


async def get_account_by_handle(session: AsyncSession, handle: str) -> Account:
    account = await session.scalar(select(Account).where(Account.handle == handle))
    if account is None:
        raise NotFound("Không tìm thấy tài khoản / Account not found", code="account_not_found")
    return account


async def update_profile(session: AsyncSession, *, account: Account, actor: User, changes: dict[str, Any]) -> Account:
    await require_role(session, account.id, actor, MANAGERS)
    if "name" in changes and changes["name"] is not None:
        account.name = clean_line(changes["name"])
        account.search_text = search_text_of(account.name, account.handle)
    if "commune_code" in changes and changes["commune_code"] is not None:
        await _validate_area(session, account.province_code, changes["commune_code"])
        account.commune_code = changes["commune_code"]
    for field in ("description", "avatar_url", "contacts", "office_hours"):
        if field in changes and changes[field] is not None:
            setattr(account, field, changes[field])
    account.updated_at = utcnow()
    await session.flush()
    return account


# --- staff roles ----------------------------------------------------------------------------------


async def member_role(session: AsyncSession, account_id: int, user_id: int) -> str | None:
    return await session.scalar(
        select(AccountMember.role).where(AccountMember.account_id == account_id, AccountMember.user_id == user_id)
    )


def role_on(account_id: Any, user_id: Any) -> Any:
    """The user's role on the account given by a column of another query (NULL: none), for lookups that check
    access in the same query as what they read."""
    return (select(AccountMember.role).where(AccountMember.account_id == account_id,
                                             AccountMember.user_id == user_id)
            .scalar_subquery().label("role"))


async def require_role(session: AsyncSession, account_id: int, user: User, roles: Iterable[str]) -> str:
    """The user's role on the account if it is one of `roles`; otherwise refused (tenant isolation)."""
    role = await member_role(session, account_id, user.id)
    if role is None or role not in tuple(roles):
        raise Forbidden(
            "Bạn không có quyền với tài khoản này / You do not have this permission on this account",
            code="not_permitted",
        )
    return role


async def require_account_role(session: AsyncSession, account_id: int, user: User, roles: Iterable[str]) -> str:
    """`get_account` and `require_role` in one query, for pages read on every visit (404 for no account,
    then as `require_role`)."""
    row = (await session.execute(
        select(Account.id, AccountMember.role).outerjoin(
            AccountMember, (AccountMember.account_id == Account.id) & (AccountMember.user_id == user.id))
        .where(Account.id == account_id))).first()
    if row is None:
        raise NotFound("Không tìm thấy tài khoản / Account not found", code="account_not_found")
    if row.role is None or row.role not in tuple(roles):
        raise Forbidden(
            "Bạn không có quyền với tài khoản này / You do not have this permission on this account",
            code="not_permitted",
        )
    return row.role


async def accounts_of_member(session: AsyncSession, user_id: int) -> list[tuple[Account, str]]:
    rows = await session.execute(
        select(Account, AccountMember.role)
        .join(AccountMember, AccountMember.account_id == Account.id)
        .where(AccountMember.user_id == user_id)
        .order_by(Account.name)
    )
    return [(account, role) for account, role in rows.all()]


async def add_member(session: AsyncSession, *, account_id: int, user_id: int, role: str,
                     actor: User | None = None) -> AccountMember:
    """Add or change a staff member. With an actor: admins manage editors/agents/viewers, owners everyone."""
    if role not in ACCOUNT_ROLES:
        raise Invalid("Vai trò không hợp lệ / Unknown role", code="invalid_role")
    if actor is not None:
        actor_role = await require_role(session, account_id, actor, MANAGERS)
        if role in MANAGERS and actor_role != "owner":
            raise Forbidden("Chỉ chủ sở hữu mới giao quyền quản trị / Only an owner grants admin or owner",
                            code="not_permitted")
    if await session.get(User, user_id) is None:
        raise NotFound("Không tìm thấy người dùng / User not found", code="user_not_found")
    member = await session.get(AccountMember, (account_id, user_id))
    if member is None:
        member = AccountMember(account_id=account_id, user_id=user_id, role=role)
        session.add(member)
    else:
        if member.role == "owner" and role != "owner":
            await _keep_an_owner(session, account_id, user_id)
        member.role = role
    await session.flush()
    return member


async def add_member_by_email(session: AsyncSession, *, account_id: int, email: str, role: str,
                              actor: User) -> tuple[AccountMember, User]:
    """Add a staff member by the e-mail of their staff login (the console's form), with the rules of
    `add_member`. Staff logins are made by the platform's operators; an address without one is refused."""
    await require_role(session, account_id, actor, MANAGERS)
    user = await session.scalar(select(User).where(User.email == people.normalize_email(email)))
    if user is None or user.password_hash is None:
        raise NotFound("Chưa có tài khoản cán bộ với email này; quản trị nền tảng tạo tài khoản cán bộ / No staff "
                       "login has this e-mail; the platform's operators create staff logins", code="user_not_found")
    if await member_role(session, account_id, user.id) is not None:
        raise Conflict("Người này đã là cán bộ của tài khoản / This person is already on the staff",
                       code="already_member")
    return await add_member(session, account_id=account_id, user_id=user.id, role=role, actor=actor), user


async def remove_member(session: AsyncSession, *, account_id: int, user_id: int, actor: User) -> None:
    actor_role = await require_role(session, account_id, actor, MANAGERS)
    member = await session.get(AccountMember, (account_id, user_id))
    if member is None:
        raise NotFound("Người này không phải nhân viên của tài khoản / Not a staff member", code="member_not_found")
    if member.role in MANAGERS and actor_role != "owner":
        raise Forbidden("Chỉ chủ sở hữu mới gỡ quản trị viên / Only an owner removes admins", code="not_permitted")
    if member.role == "owner":
        await _keep_an_owner(session, account_id, user_id)
    await session.delete(member)
    await session.flush()


async def _keep_an_owner(session: AsyncSession, account_id: int, leaving_user_id: int) -> None:
    owners = await session.scalar(
        select(func.count()).where(
            AccountMember.account_id == account_id,
            AccountMember.role == "owner",
            AccountMember.user_id != leaving_user_id,
        )
    )
    if not owners:
        raise Conflict("Tài khoản phải còn ít nhất một chủ sở hữu / An account keeps at least one owner",
                       code="last_owner")


async def list_members(session: AsyncSession, *, account_id: int, actor: User) -> list[tuple[AccountMember, User]]:
    await require_role(session, account_id, actor, STAFF_ROLES)
    rows = await session.execute(
        select(AccountMember, User)
        .join(User, User.id == AccountMember.user_id)
        .where(AccountMember.account_id == account_id)
        .order_by(AccountMember.created_at, User.id)
    )
    return list(rows.all())


# --- verification ("định danh") -------------------------------------------------------------------

async def apply_for_verification(session: AsyncSession, *, account_id: int, user: User,
                                 documents: list[dict[str, Any]], note: str = "") -> VerificationApplication:
    await require_role(session, account_id, user, MANAGERS)
    account = await get_account(session, account_id)
    if account.verification_status == "verified":
        raise Conflict("Tài khoản đã được xác minh / Account already verified", code="already_verified")
    if account.verification_status == "pending":
        raise Conflict("Hồ sơ xác minh đang chờ duyệt / An application is already under review",
                       code="application_pending")
    if not documents:
        raise Invalid("Cần ít nhất một giấy tờ / At least one document is required", code="documents_required")
    own_files = document_prefix(account_id)
    if any(document.get("key") and not str(document["key"]).startswith(own_files) for document in documents):
        # A stored file is attached only to the application of the account it was uploaded for.
        raise Invalid("Tệp đính kèm không thuộc tài khoản này / A document file belongs to another account",
                      code="foreign_document")
    application = VerificationApplication(
        account_id=account_id, submitted_by=user.id, documents=documents, note=note, status="pending"
    )
    account.verification_status = "pending"
    session.add(application)
    await session.flush()
    publish_after_commit(session, "operators", {"type": "verification.applied", "account_id": str(account_id)})
    return application


async def decide_verification(session: AsyncSession, *, application_id: int, operator: User, approve: bool,
                              reason: str | None = None) -> VerificationApplication:
    if not operator.is_operator:
        raise Forbidden("Chỉ quản trị nền tảng được duyệt / Only platform operators decide", code="not_operator")
    application = await session.get(VerificationApplication, application_id)
    if application is None:
        raise NotFound("Không tìm thấy hồ sơ / Application not found", code="application_not_found")
    if application.status != "pending":
        raise Conflict("Hồ sơ đã được xử lý / Application already decided", code="already_decided")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise Invalid("Từ chối cần nêu lý do / A rejection needs a reason", code="reason_required")
    if len(reason) > MAX_REASON:
        raise Invalid(f"Lý do dài tối đa {MAX_REASON} ký tự / The reason is {MAX_REASON} characters at most",
                      code="reason_too_long")
    account = await get_account(session, application.account_id)
    now = utcnow()
    application.status = "approved" if approve else "rejected"
    application.reason = reason or None
    application.decided_by = operator.id
    application.decided_at = now
    account.verification_status = "verified" if approve else "rejected"
    account.verified_at = now if approve else None
    session.add(AuditEvent(actor_user_id=operator.id, action=f"verification.{application.status}",
                           subject=f"account:{account.id}", account_id=account.id))
    await session.flush()
    publish_after_commit(session, f"account:{account.id}",
                         {"type": "account.verification", "status": account.verification_status})
    return application


async def set_verified(session: AsyncSession, account: Account) -> None:
    """Mark verified without an application: for seeds and operator tooling only."""
    account.verification_status = "verified"
    account.verified_at = utcnow()
    await session.flush()


async def latest_application(session: AsyncSession, *, account_id: int, actor: User) -> VerificationApplication:
    await require_role(session, account_id, actor, STAFF_ROLES)
    application = await session.scalar(
        select(VerificationApplication)
        .where(VerificationApplication.account_id == account_id)
        .order_by(VerificationApplication.id.desc())
        .limit(1)
    )
    if application is None:
        raise NotFound("Chưa có hồ sơ xác minh / No application yet", code="application_not_found")
    return application


async def list_applications(session: AsyncSession, *, operator: User, status: str | None, cursor: str | None,
                            limit: int) -> tuple[list[tuple[VerificationApplication, Account]], str | None]:
    if not operator.is_operator:
        raise Forbidden("Chỉ quản trị nền tảng / Platform operators only", code="not_operator")
    after = cursor_int(decode_cursor(cursor), "id")
    query = select(VerificationApplication, Account).join(Account, Account.id == VerificationApplication.account_id)
    if status:
        query = query.where(VerificationApplication.status == status)
    if after is not None:
        query = query.where(VerificationApplication.id > after)
    rows = list((await session.execute(query.order_by(VerificationApplication.id).limit(limit + 1))).all())
    next_cursor = encode_cursor({"id": rows[limit - 1][0].id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- verification documents --------------------------------------------------------------------

DOCUMENT_ROOT = "private/verification"
MAX_DOCUMENT_TITLE = 200


def document_prefix(account_id: int) -> str:
    return f"{DOCUMENT_ROOT}/{account_id}/"


async def store_verification_document(storage: MediaStorage, *, account_id: int, data: bytes, filename: str,
                                      title: str) -> dict[str, Any]:
    """Keep an uploaded proof of identity (a decision scan, a PDF) for an application: a photo is re-encoded
    without its metadata, a document must be on the allow-list. Stored under `private/`, so only the
    operators' route serves it. Returns the document as `apply_for_verification` takes it."""
    title = clean_line(title)
    if not 2 <= len(title) <= MAX_DOCUMENT_TITLE:
        raise Invalid("Tên giấy tờ phải dài 2–200 ký tự / A document title must be 2–200 characters",
                      code="invalid_title")
    if filetype.image_match(data) is not None:
        image = clean_image(data)
        stored, content_type, extension = image.data, image.content_type, image.extension
        name = display_name(filename, extension)
    else:
        cleaned = clean_file(data, filename)
        stored, content_type, extension, name = cleaned.data, cleaned.content_type, cleaned.extension, cleaned.name
    key = f"{document_prefix(account_id)}{uuid.uuid4().hex}.{extension}"
    await storage.save(key, stored)
    return {"title": title, "reference": "", "key": key, "name": name, "content_type": content_type,
            "size": len(stored)}


async def verification_document(session: AsyncSession, *, operator: User, application_id: int,
                                index: int) -> dict[str, Any]:
    """A stored file of an application, for an operator to read; the access is recorded (identity papers
    are personal data)."""
    application, _ = await get_application(session, operator=operator, application_id=application_id)
    documents = application.documents or []
    if not 0 <= index < len(documents) or not documents[index].get("key"):
        raise NotFound("Hồ sơ không có tệp này / The application has no such file", code="document_not_found")
    document = documents[index]
    await people.audit(session, "verification.document_viewed", actor_user_id=operator.id,
                       subject=f"application:{application.id}", account_id=application.account_id,
                       details={"document": index})
    return document


# --- the operators' view of accounts ---------------------------------------------------------------


def _require_operator(user: User) -> None:
    if not user.is_operator:
        raise Forbidden("Chỉ quản trị nền tảng / Platform operators only", code="not_operator")


async def get_application(session: AsyncSession, *, operator: User,
                          application_id: int) -> tuple[VerificationApplication, Account]:
    _require_operator(operator)
    row = (await session.execute(select(VerificationApplication, Account)
                                 .join(Account, Account.id == VerificationApplication.account_id)
                                 .where(VerificationApplication.id == application_id))).first()
    if row is None:
        raise NotFound("Không tìm thấy hồ sơ / Application not found", code="application_not_found")
    return row[0], row[1]


async def decided_applications(session: AsyncSession, *, operator: User, cursor: str | None, limit: int,
                               account_id: int | None = None,
                               ) -> tuple[list[tuple[VerificationApplication, Account]], str | None]:
    """Decisions taken, the latest first (the history an operator reviews)."""
    _require_operator(operator)
    before = cursor_int(decode_cursor(cursor), "id")
    query = (select(VerificationApplication, Account).join(Account, Account.id == VerificationApplication.account_id)
             .where(VerificationApplication.status != "pending"))
    if account_id is not None:
        query = query.where(VerificationApplication.account_id == account_id)
    if before is not None:
        query = query.where(VerificationApplication.id < before)
    rows = list((await session.execute(query.order_by(VerificationApplication.id.desc()).limit(limit + 1))).all())
    next_cursor = encode_cursor({"id": rows[limit - 1][0].id}) if len(rows) > limit else None
    return [(application, account) for application, account in rows[:limit]], next_cursor


async def applications_of(session: AsyncSession, *, operator: User, account_id: int) -> list[VerificationApplication]:
    """Every application of one account, the latest first."""
    _require_operator(operator)
    return list(await session.scalars(select(VerificationApplication)
                                      .where(VerificationApplication.account_id == account_id)
                                      .order_by(VerificationApplication.id.desc())))


async def user_names(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Who submitted or decided, by id (name, else e-mail)."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(wanted)))
    return {user_id: name or email or f"#{user_id}" for user_id, name, email in rows.all()}


async def find_accounts(session: AsyncSession, *, operator: User, q: str | None = None, kind: str | None = None,
                        province_code: str | None = None, status: str | None = None, cursor: str | None = None,
                        limit: int = 50) -> tuple[list[Account], str | None]:
    """Every account, whatever its verification state, for operators: folded words as in the public search
    ("so y te" finds "Sở Y tế"), the best match first; without words the newest first."""
    _require_operator(operator)
    if kind is not None and kind not in ACCOUNT_KINDS:
        raise Invalid(f"Loại tài khoản không hợp lệ: {kind[:30]} / Unknown account kind", code="invalid_kind")
    if status is not None and status not in VERIFICATION_STATUSES:
        raise Invalid("Trạng thái xác minh không hợp lệ / Unknown verification state", code="invalid_status")
    offset = cursor_int(decode_cursor(cursor), "offset") or 0
    if offset + limit > MAX_SEARCH_RESULTS:
        raise Invalid("Hãy thu hẹp tìm kiếm / Narrow the search: too many pages", code="search_too_deep")
    words = fold_words(q or "")[:8]
    query = _filters(select(Account), province_code=province_code, commune_code=None, kind=kind, verified=None)
    if status is not None:
        query = query.where(Account.verification_status == status)
    if words:
        phrase = " ".join(words)
        query = _match_words(session, query, words).order_by(
            (Account.search_text.like(f"{phrase}%")).desc(), Account.follower_count.desc(), Account.id)
    else:
        query = query.order_by(Account.id.desc())
    rows = list(await session.scalars(query.offset(offset).limit(limit + 1)))
    next_cursor = encode_cursor({"offset": offset + limit}) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def staff_of(session: AsyncSession, *, operator: User, account_id: int) -> list[tuple[AccountMember, User]]:
    """An account's staff for an operator (who is nobody's member): owners first."""
    _require_operator(operator)
    rank = case({role: index for index, role in enumerate(ACCOUNT_ROLES)}, value=AccountMember.role)
    rows = await session.execute(
        select(AccountMember, User).join(User, User.id == AccountMember.user_id)
        .where(AccountMember.account_id == account_id).order_by(rank, User.display_name, User.id))
    return [(member, user) for member, user in rows.all()]


async def count_by_organisation(session: AsyncSession, organisation_ids: Iterable[int]) -> dict[int, int]:
    """How many accounts each organisation runs itself (one query)."""
    wanted = sorted(set(organisation_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Account.organisation_id, func.count()).where(
        Account.organisation_id.in_(wanted)).group_by(Account.organisation_id))
    return {organisation_id: count for organisation_id, count in rows.all()}


async def accounts_of_organisation(session: AsyncSession, organisation_id: int, *, limit: int = 200) -> list[Account]:
    """The accounts an organisation runs itself, by name."""
    return list(await session.scalars(select(Account).where(Account.organisation_id == organisation_id)
                                      .order_by(Account.name, Account.id).limit(limit)))


async def operator_counts(session: AsyncSession, *, operator: User) -> dict[str, int]:
    """The platform at a glance: accounts by verification state and applications waiting."""
    _require_operator(operator)
    by_status = dict((await session.execute(
        select(Account.verification_status, func.count()).group_by(Account.verification_status))).all())
    waiting = await session.scalar(select(func.count()).where(VerificationApplication.status == "pending"))
    return {"accounts": sum(by_status.values()), "verified": by_status.get("verified", 0),
            "unverified": by_status.get("unverified", 0), "waiting": waiting or 0}


# --- API tokens -----------------------------------------------------------------------------------

TOKEN_PREFIX = "loa_"  # noqa: S105 - a public marker, not a secret


async def create_api_token(session: AsyncSession, *, account_id: int, actor: User, name: str,
                           scopes: Sequence[str], expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for the account's integrations; the plain token is returned once and never stored."""
    from loa.kit.auth import hash_token

    await require_role(session, account_id, actor, MANAGERS)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account_id,
        name=clean_line(name),
        token_hash=hash_token(plain),
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        scopes=sorted(set(scopes)),
        created_by=actor.id,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    session.add(AuditEvent(actor_user_id=actor.id, action="api_token.created", subject=f"token:{token.prefix}",
                           account_id=account_id))
    await session.flush()
    return token, plain


async def list_api_tokens(session: AsyncSession, *, account_id: int, actor: User) -> list[ApiToken]:
    await require_role(session, account_id, actor, MANAGERS)
    result = await session.scalars(select(ApiToken).where(ApiToken.account_id == account_id).order_by(ApiToken.id))
    return list(result)


async def revoke_api_token(session: AsyncSession, *, account_id: int, token_id: int, actor: User) -> ApiToken:
    await require_role(session, account_id, actor, MANAGERS)
    token = await session.get(ApiToken, token_id)
    if token is None or token.account_id != account_id:
        raise NotFound("Không tìm thấy khóa API / API token not found", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(AuditEvent(actor_user_id=actor.id, action="api_token.revoked", subject=f"token:{token.prefix}",
                               account_id=account_id))
        await session.flush()
    return token


# --- discovery ------------------------------------------------------------------------------------


def _filters(query: Select[Any], *, province_code: str | None, commune_code: str | None, kind: str | None,
             verified: bool | None) -> Select[Any]:
    if province_code:
        query = query.where(Account.province_code == province_code)
    if commune_code:
        query = query.where(Account.commune_code == commune_code)
    if kind:
        query = query.where(Account.kind == kind)
    if verified is True:
        query = query.where(Account.verification_status == "verified")
    elif verified is False:
        query = query.where(Account.verification_status != "verified")
    return query


async def search_accounts(
    session: AsyncSession,
    *,
    q: str | None = None,
    province_code: str | None = None,
    commune_code: str | None = None,
    kind: str | None = None,
    verified: bool | None = True,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[Account], str | None]:
    """Accounts matching every folded word of `q` as a word prefix ("bo y te" finds "Bộ Y tế"), best first:
    name starting with the query, then containing it as a phrase, then verified and most followed."""
    offset = cursor_int(decode_cursor(cursor), "offset") or 0
    if offset + limit > MAX_SEARCH_RESULTS:
        raise Invalid("Hãy thu hẹp tìm kiếm / Narrow the search: too many pages", code="search_too_deep")
    words = fold_words(q or "")[:8]
    query = select(Account)
    if words:
        phrase = " ".join(words)
        query = _match_words(session, query, words).order_by(
            (Account.search_text.like(f"{phrase}%")).desc(),
            (literal(" ").concat(Account.search_text).like(f"% {phrase}%")).desc(),
        )
    query = _filters(query, province_code=province_code, commune_code=commune_code, kind=kind, verified=verified)
    query = query.order_by(
        (Account.verification_status == "verified").desc(), Account.follower_count.desc(), Account.id
    )
    rows = list(await session.scalars(query.offset(offset).limit(limit + 1)))
    next_cursor = encode_cursor({"offset": offset + limit}) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _match_words(session: AsyncSession, query: Select[Any], words: list[str]) -> Select[Any]:
    if session.get_bind().dialect.name == "sqlite":
        # FTS5 prefix query over the folded text, kept in sync by triggers (migration 0001).
        match = " ".join(f'"{word}"*' for word in words)
        ids = text("SELECT rowid FROM account_search WHERE account_search MATCH :match").bindparams(match=match)
        return query.where(Account.id.in_(ids.columns(column("rowid", Integer))))
    # PostgreSQL: word-prefix regexes, served by the trigram GIN index on search_text.
    return query.where(and_(*(Account.search_text.regexp_match(rf"\m{word}") for word in words)))


async def local_accounts(session: AsyncSession, *, commune_code: str, limit: int = 50) -> list[Account]:
    """Accounts for a commune: its own (People's Committee, police, schools…) first, then its province's."""
    commune = await geo.require_commune(session, commune_code)
    query = (
        select(Account)
        .where(
            Account.verification_status == "verified",
            or_(
                Account.commune_code == commune_code,
                and_(
                    Account.province_code == commune.province_code,
                    Account.commune_code.is_(None),
                    Account.kind.not_in(NATIONAL_KINDS),
                ),
            ),
        )
        .order_by(case((Account.commune_code == commune_code, 0), else_=1), Account.follower_count.desc(), Account.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def change_follower_count(session: AsyncSession, account_id: int, delta: int) -> None:
    """Counter kept by the follows domain: one UPDATE, never a COUNT over follows."""
    await session.execute(
        update(Account).where(Account.id == account_id).values(follower_count=Account.follower_count + delta)
    )



# --- personal data hooks (export and erasure) -----------------------------------------------------


async def export_staff_roles(session: AsyncSession, user_id: int) -> list[dict[str, str]]:
    return [{"account_id": str(account.id), "account_name": account.name, "role": role}
            for account, role in await accounts_of_member(session, user_id)]


async def refuse_erasing_last_owner(session: AsyncSession, user_id: int) -> None:
    """An account must not be orphaned: its last owner hands it over before deleting themselves."""
    owned = await session.scalars(
        select(AccountMember.account_id).where(AccountMember.user_id == user_id, AccountMember.role == "owner")
    )
    for account_id in owned.all():
        await _keep_an_owner(session, account_id, user_id)


people.register_exporter("staff_roles", export_staff_roles)
people.register_eraser("accounts", refuse_erasing_last_owner)
