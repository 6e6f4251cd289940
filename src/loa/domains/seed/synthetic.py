"""Synthetic national or provincial data, bulk-loaded: organisations, accounts, citizens and follows.

Deterministic for a given seed. Rows stream from generators, so memory stays flat whatever the size.
Citizens are laid out commune by commune (ids in one commune are contiguous), so a commune's or a
province's citizens are one id range, and an account's followers are drawn from its area's range in
increasing order: follows arrive in primary-key order, which both databases index fastest.
"""

from __future__ import annotations

import bisect
import io
import random
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import AddConstraint, DropConstraint

from loa.db.bulk import Progress, bulk_insert, reset_sequence
from loa.domains.accounts.models import Account, VerificationApplication
from loa.domains.accounts.service import search_text_of
from loa.domains.agencies.models import Organisation
from loa.domains.follows.models import Follow
from loa.domains.people.models import User
from loa.domains.seed import names
from loa.domains.seed.places import Country
from loa.domains.seed.plan import PENDING_SHARE, UNVERIFIED_SHARE, AccountSpec, Plan
from loa.kit.text import fold

# Synthetic citizens' phones: +849 and 8 digits from 10000000 up, a range demo phones (+84900…) avoid;
# increasing with the citizen's index (so the unique index is appended to, not scattered into).
PHONE_FIRST = 10_000_000
PHONE_STRIDE = 5
MAX_CITIZENS = (100_000_000 - PHONE_FIRST) // PHONE_STRIDE

_EPOCH = datetime(2018, 6, 1, tzinfo=UTC)  # the first state accounts opened about then
_END = datetime(2025, 6, 30, tzinfo=UTC)
_HOURS = int((_END - _EPOCH).total_seconds() // 3600)


@dataclass
class LoadResult:
    organisations: int
    accounts: int
    users: int
    follows: int
    applications: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def synthetic_phone(index: int) -> str:
    return f"+849{PHONE_FIRST + index * PHONE_STRIDE + index * 3 % PHONE_STRIDE}"


async def has_synthetic_data(session: AsyncSession) -> bool:
    """Whether synthetic citizens are loaded (the first one's phone is the mark; any other clash with an
    existing phone fails the load's unique constraint, which rolls the whole load back)."""
    return await session.scalar(select(User.id).where(User.phone == synthetic_phone(0))) is not None


async def load(session: AsyncSession, plan: Plan, country: Country, *, seed: int = 2024,
               show_progress: bool = True) -> LoadResult:
    """Write the plan in the session's transaction (the caller commits)."""
    started = time.perf_counter()
    if plan.users > MAX_CITIZENS:
        raise ValueError(f"at most {MAX_CITIZENS:,} synthetic citizens")
    rng = random.Random(seed + 2)
    hours = _hour_pool()
    org_base = await _next_id(session, Organisation.__table__)
    account_base = await _next_id(session, Account.__table__)
    user_base = await _next_id(session, User.__table__)
    taken = set(await session.scalars(select(Account.handle)))

    organisations = _organisations(plan, country)
    org_ids = {key: org_base + index for index, key in enumerate(organisations)}
    await bulk_insert(session, Organisation.__table__, (
        (org_ids[key], name, fold(name), None, province_code, _EPOCH)
        for key, (name, province_code) in organisations.items()
    ), columns=["id", "name", "search_text", "parent_id", "province_code", "created_at"])

    created = [_EPOCH + timedelta(hours=rng.randrange(_HOURS // 2)) if not spec.top else _EPOCH
               for spec in plan.accounts]
    statuses = _statuses(plan.accounts, rng)
    progress = _progress("accounts", len(plan.accounts), show_progress)
    await bulk_insert(session, Account.__table__, _account_rows(plan.accounts, account_base, org_ids, created,
                                                                statuses, taken), progress=progress)
    progress.finish()
    applications = [
        (account_base + index, None, [{"title": "Quyết định thành lập", "reference": ""}], "", "pending",
         created[index] + timedelta(days=3))
        for index, status in enumerate(statuses) if status == "pending"
    ]
    await bulk_insert(session, VerificationApplication.__table__, applications,
                      columns=["account_id", "submitted_by", "documents", "note", "status", "created_at"])

    starts = _starts(plan)
    async with _secondary_indexes_deferred(session, User.__table__):
        progress = _progress("users", plan.users, show_progress)
        await bulk_insert(session, User.__table__, _user_rows(plan, user_base, hours),
                          columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale",
                                   "created_at"], progress=progress)
        progress.finish()
    async with _secondary_indexes_deferred(session, Follow.__table__):
        progress = _progress("follows", plan.follows, show_progress)
        await bulk_insert(session, Follow.__table__,
                          _follow_rows(plan, starts, account_base, user_base, created, hours, rng),
                          columns=["account_id", "user_id", "commune_code", "created_at"], progress=progress)
        progress.finish()
    for table in (Organisation.__table__, Account.__table__, User.__table__, VerificationApplication.__table__):
        await reset_sequence(session, table)
    return LoadResult(len(organisations), len(plan.accounts), plan.users, plan.follows, len(applications),
                      time.perf_counter() - started)


def _progress(label: str, total: int, shown: bool) -> Progress:
    return Progress(label, total) if shown else Progress(label, total, stream=io.StringIO())


async def _next_id(session: AsyncSession, table: Table) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def _hour_pool() -> list[datetime]:
    # Few distinct timestamps, so converting them for the database is cached; hourly is fine enough.
    return [_EPOCH + timedelta(hours=hour) for hour in range(_HOURS)]


def _organisations(plan: Plan, country: Country) -> dict[str, tuple[str, str | None]]:
    """The bodies that run many accounts: the Government, and per province its People's Committee,
    police and Fatherland Front."""
    wanted = {spec.organisation for spec in plan.accounts if spec.organisation}
    found: dict[str, tuple[str, str | None]] = {}
    if "gov" in wanted:
        found["gov"] = ("Chính phủ", None)
    for province in country.provinces:
        for key, name in ((f"ubnd-{province.code}", f"UBND {province.name}"),
                          (f"ca-{province.code}", f"Công an {province.lower_name}"),
                          (f"mttq-{province.code}", f"Ủy ban MTTQ Việt Nam {province.lower_name}")):
            if key in wanted:
                found[key] = (name, province.code)
    return found


def _statuses(specs: list[AccountSpec], rng: random.Random) -> list[str]:
    statuses = []
    for spec in specs:
        draw = rng.random()
        if spec.kind in ("ministry", "government_office") or draw >= UNVERIFIED_SHARE + PENDING_SHARE:
            statuses.append("verified")
        else:
            statuses.append("unverified" if draw < UNVERIFIED_SHARE else "pending")
    return statuses


def _handle(name: str, taken: set[str]) -> str:
    """As the accounts service makes them: the folded name, then -2, -3… when taken."""
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:50] or "account"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def _account_rows(specs: list[AccountSpec], base: int, org_ids: dict[str, int], created: list[datetime],
                  statuses: list[str], taken: set[str]) -> Iterator[dict[str, Any]]:
    for index, spec in enumerate(specs):
        handle = _handle(spec.name, taken)
        verified = statuses[index] == "verified"
        yield {
            "id": base + index,
            "handle": handle,
            "name": spec.name,
            "search_text": search_text_of(spec.name, handle),
            "kind": spec.kind,
            "description": f"Tài khoản chính thức của {spec.name}.",
            "avatar_url": None,
            "contacts": {},
            "office_hours": [],
            "province_code": spec.province_code,
            "commune_code": spec.commune_code,
            "organisation_id": org_ids.get(spec.organisation) if spec.organisation else None,
            "verification_status": statuses[index],
            "verified_at": created[index] + timedelta(days=14) if verified else None,
            "follower_count": spec.followers,
            "created_at": created[index],
            "updated_at": created[index],
        }


def _starts(plan: Plan) -> list[int]:
    """Index of the first citizen of each commune, in layout order."""
    starts, position = [], 0
    for _, count in plan.communes:
        starts.append(position)
        position += count
    return starts


def _user_rows(plan: Plan, base: int, hours: list[datetime]) -> Iterator[tuple[Any, ...]]:
    index = 0
    span = len(hours)
    for commune, count in plan.communes:
        code = commune.code
        for _ in range(count):
            yield (base + index, synthetic_phone(index), names.person_name(index), code, False, "vi",
                   hours[_joined_hour(index, span)])
            index += 1


def _joined_hour(index: int, span: int) -> int:
    """When citizen `index` joined: within the first half of the period (they follow after)."""
    return (index * 7_919) % (span // 2)


def _area_ranges(plan: Plan, starts: list[int]) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    communes: dict[str, tuple[int, int]] = {}
    provinces: dict[str, tuple[int, int]] = {}
    for (commune, count), start in zip(plan.communes, starts, strict=True):
        communes[commune.code] = (start, start + count)
        low, _ = provinces.get(commune.province_code, (start, start))
        provinces[commune.province_code] = (low, start + count)
    return communes, provinces


def _follow_rows(plan: Plan, starts: list[int], account_base: int, user_base: int, created: list[datetime],
                 hours: list[datetime], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Each account's followers: one citizen drawn from each of `followers` equal slices of its area's
    id range (distinct, increasing, spread over the whole area)."""
    commune_ranges, province_ranges = _area_ranges(plan, starts)
    codes = [commune.code for commune, _ in plan.communes]
    everyone = (0, plan.users)
    random_ = rng.random
    span = len(hours)
    for index, spec in enumerate(plan.accounts):
        wanted = spec.followers
        if not wanted:
            continue
        if spec.scope == "commune":
            low, high = commune_ranges[spec.commune_code or ""]
        elif spec.scope == "province":
            low, high = province_ranges[spec.province_code]
        else:
            low, high = everyone
        size = high - low
        account_id = account_base + index
        opened = int((created[index] - _EPOCH).total_seconds() // 3600)
        for k in range(wanted):
            slice_low = low + k * size // wanted
            slice_high = low + (k + 1) * size // wanted
            person = slice_low + int(random_() * (slice_high - slice_low))
            commune = codes[bisect.bisect_right(starts, person) - 1]
            first = max(opened, _joined_hour(person, span))  # after the account opened and they joined
            yield (account_id, user_base + person, commune, hours[first + int(random_() * (span - first))])


@asynccontextmanager
async def _secondary_indexes_deferred(session: AsyncSession, table: Table) -> AsyncIterator[None]:
    """Into an empty table, load without its secondary indexes (and, on PostgreSQL, its foreign keys)
    and build them once at the end: one sort and one join instead of millions of random index inserts
    and per-row checks. DDL is transactional on both databases, so a failed load restores them."""
    connection = await session.connection()
    empty = await session.scalar(select(text("1")).select_from(table).limit(1)) is None
    indexes = [index for index in table.indexes if not index.unique] if empty else []
    foreign_keys = (list(table.foreign_key_constraints)
                    if empty and connection.dialect.name == "postgresql" else [])
    for index in indexes:
        await session.execute(text(f'DROP INDEX "{index.name}"'))
    for constraint in foreign_keys:
        await connection.run_sync(lambda sync, c=constraint: sync.execute(DropConstraint(c)))
    yield
    if connection.dialect.name == "postgresql" and (indexes or foreign_keys):
        await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for index in indexes:
        await connection.run_sync(index.create)
    for constraint in foreign_keys:
        await connection.run_sync(lambda sync, c=constraint: sync.execute(AddConstraint(c)))
