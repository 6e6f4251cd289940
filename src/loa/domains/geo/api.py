"""`/api/v1/geo`: Vietnam's administrative units, read-only and public."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo import service
from loa.domains.geo.schemas import Conversion, Level, NearestCommune, Scheme, Unit, UnitList
from loa.kit.errors import NotFound
from loa.kit.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/geo", tags=["geo"])


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.read_session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]
SchemeQuery = Annotated[Scheme, Query(description="current (since 1 July 2025) or legacy")]
ProvinceCode = Annotated[str, Path(pattern=r"^\d{2}$", description="Two digits, e.g. 01")]
CommuneCode = Annotated[str, Path(pattern=r"^\d{5}$", description="Five digits, e.g. 00004")]


def _not_found(what: str, what_en: str, code: str, scheme: Scheme) -> NotFound:
    when, when_en = (" (trước 1/7/2025)", "legacy ") if scheme == "legacy" else ("", "")
    return NotFound(f"Không tìm thấy {what} mã {code}{when}. (No {when_en}{what_en} with code {code}.)")


@router.get("/provinces", summary="List provinces")
async def list_provinces(session: SessionDep, scheme: SchemeQuery = "current") -> UnitList:
    return UnitList(items=await service.list_provinces(session, scheme=scheme))


@router.get("/provinces/{code}", summary="A province by code")
async def get_province(session: SessionDep, code: ProvinceCode, scheme: SchemeQuery = "current") -> Unit:
    unit = await service.get_province(session, code, scheme=scheme)
    if unit is None:
        raise _not_found("tỉnh/thành phố", "province", code, scheme)
    return unit


@router.get("/provinces/{code}/communes", summary="Communes of a province, by code, a page at a time")
async def list_communes(
    session: SessionDep,
    code: ProvinceCode,
    scheme: SchemeQuery = "current",
    district_code: Annotated[str | None, Query(pattern=r"^\d{3}$", description="legacy only")] = None,
    cursor: CursorParam = None,
    limit: LimitParam = 100,
) -> Page[Unit]:
    position = decode_cursor(cursor)
    after = None if position is None else str(position.get("code"))  # the service checks it
    units = await service.list_communes(session, code, scheme=scheme, district_code=district_code,
                                        after=after, limit=limit + 1)
    items = units[:limit]
    more = len(units) > limit
    return Page[Unit](items=items, next_cursor=encode_cursor({"code": items[-1].code}) if more else None)


@router.get("/communes/{code}", summary="A commune (ward, commune, special zone) by code")
async def get_commune(session: SessionDep, code: CommuneCode, scheme: SchemeQuery = "current") -> Unit:
    unit = await service.get_commune(session, code, scheme=scheme)
    if unit is None:
        raise _not_found("xã/phường", "commune", code, scheme)
    return unit


@router.get("/search", summary="Search units by name, diacritics optional")
async def search(
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description='e.g. "ba dinh", "Đống Đa"')],
    scheme: SchemeQuery = "current",
    level: Annotated[Level | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> UnitList:
    return UnitList(items=await service.search(session, q, scheme=scheme, level=level, limit=limit))


@router.get("/nearest", summary="The commune whose centroid is nearest to a point")
async def nearest(
    session: SessionDep,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    scheme: SchemeQuery = "current",
) -> NearestCommune:
    return await service.nearest_commune(session, lat, lon, scheme=scheme)


@router.get("/convert", summary="The current commune a legacy commune became on 1 July 2025")
async def convert(
    session: SessionDep,
    legacy_commune_code: Annotated[str, Query(pattern=r"^\d{5}$", description="Five digits")],
) -> Conversion:
    return await service.convert_legacy_commune(session, legacy_commune_code)
