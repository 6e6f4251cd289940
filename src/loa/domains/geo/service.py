"""Administrative units: look-up, listing, folded-name search, legacy → current conversion, nearest commune.

Other domains validate the codes they store with `require_province` / `require_commune`. Current units
(since 1 July 2025) are the default everywhere; legacy ones are there for old addresses and old cases.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, case, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from loa.domains.geo import source
from loa.domains.geo.grid import CentroidGrid
from loa.domains.geo.models import AdminUnit, AdminUnitConversion
from loa.domains.geo.schemas import Conversion, ConversionTarget, Level, NearestCommune, Scheme, Unit
from loa.kit.errors import Invalid, NotFound
from loa.kit.text import fold_words

CODE_LENGTHS: dict[str, int] = {"province": 2, "district": 3, "commune": 5}
# Mainland, Hoàng Sa and Trường Sa, roughly; a point outside is not in Vietnam.
VIETNAM_LAT = (7.5, 23.5)
VIETNAM_LON = (102.0, 117.5)
SEARCH_MAX_WORDS = 8
# Leading unit types a query may carry ("phường ba đình"): the rest is the name to rank on.
_TYPE_PREFIXES = ("thanh pho ", "tp ", "tinh ", "quan ", "huyen ", "thi xa ", "phuong ", "xa ",
                  "thi tran ", "dac khu ")
_LEVEL_ORDER = case({"province": 0, "district": 1, "commune": 2}, value=AdminUnit.level)
_CODE5 = re.compile(r"\d{5}")

_GRIDS: dict[tuple[str, str], CentroidGrid] = {}
_BUILDING: dict[tuple[tuple[str, str], asyncio.AbstractEventLoop], asyncio.Future[CentroidGrid]] = {}

_Province = aliased(AdminUnit, name="parent_province")
_District = aliased(AdminUnit, name="parent_district")


# ---- look-up -------------------------------------------------------------------------------------


def _select_units(scheme: Scheme) -> Select[tuple[AdminUnit, str | None, str | None]]:
    """Units with their parents' names (one query, two outer joins on the primary key)."""
    return (
        select(AdminUnit, _Province.name, _District.name)
        .outerjoin(_Province, and_(_Province.scheme == AdminUnit.scheme, _Province.level == "province",
                                   _Province.code == AdminUnit.province_code))
        .outerjoin(_District, and_(_District.scheme == AdminUnit.scheme, _District.level == "district",
                                   _District.code == AdminUnit.district_code))
        .where(AdminUnit.scheme == scheme)
    )


def _to_unit(unit: AdminUnit, province_name: str | None, district_name: str | None) -> Unit:
    return Unit(
        scheme=unit.scheme, level=unit.level, code=unit.code, name=unit.name, short_name=unit.short_name,
        unit_type=unit.unit_type, province_code=unit.province_code, province_name=province_name,
        district_code=unit.district_code, district_name=district_name, lat=unit.lat, lon=unit.lon,
        area_km2=unit.area_km2,
    )


async def _fetch(session: AsyncSession, query: Select[tuple[AdminUnit, str | None, str | None]]) -> list[Unit]:
    return [_to_unit(*row) for row in (await session.execute(query)).all()]


def _well_formed(level: str, code: str) -> bool:
    return len(code) == CODE_LENGTHS[level] and code.isascii() and code.isdigit()


async def get_unit(session: AsyncSession, level: Level, code: str, *, scheme: Scheme = "current") -> Unit | None:
    if not _well_formed(level, code):
        return None
    query = _select_units(scheme).where(AdminUnit.level == level, AdminUnit.code == code)
    units = await _fetch(session, query)
    return units[0] if units else None


async def get_province(session: AsyncSession, code: str, *, scheme: Scheme = "current") -> Unit | None:
    return await get_unit(session, "province", code, scheme=scheme)


async def get_district(session: AsyncSession, code: str) -> Unit | None:
    """Districts exist in the legacy scheme only (the level was abolished on 1 July 2025)."""
    return await get_unit(session, "district", code, scheme="legacy")


async def get_commune(session: AsyncSession, code: str, *, scheme: Scheme = "current") -> Unit | None:
    return await get_unit(session, "commune", code, scheme=scheme)


async def get_units(session: AsyncSession, level: Level, codes: Sequence[str], *,
                    scheme: Scheme = "current") -> dict[str, Unit]:
    """Several units at once, by code (unknown codes are left out)."""
    wanted = sorted({code for code in codes if _well_formed(level, code)})
    if not wanted:
        return {}
    query = _select_units(scheme).where(AdminUnit.level == level, AdminUnit.code.in_(wanted))
    return {unit.code: unit for unit in await _fetch(session, query)}


def _scheme_label(scheme: Scheme) -> str:
    return " (trước 1/7/2025)" if scheme == "legacy" else ""


def _shown(code: str) -> str:
    return code[:20]  # codes come from users: keep the message short


async def require_province(session: AsyncSession, code: str, *, scheme: Scheme = "current",
                           field: str = "province_code") -> Unit:
    """The province, or Invalid (422) naming `field`: for validating codes that users send."""
    unit = await get_province(session, code, scheme=scheme)
    if unit is None:
        message = (f"Không có tỉnh/thành phố nào mang mã {_shown(code)}{_scheme_label(scheme)}. "
                   f"(Unknown province code {_shown(code)}.)")
        raise Invalid(message, details=[{"field": field, "message": message}])
    return unit


async def require_commune(session: AsyncSession, code: str, *, province_code: str | None = None,
                          scheme: Scheme = "current", field: str = "commune_code") -> Unit:
    """The commune, or Invalid (422) naming `field`; with `province_code`, it must also lie in that province."""
    unit = await get_commune(session, code, scheme=scheme)
    if unit is None:
        message = (f"Không có xã/phường nào mang mã {_shown(code)}{_scheme_label(scheme)}. "
                   f"(Unknown commune code {_shown(code)}.)")
        raise Invalid(message, details=[{"field": field, "message": message}])
    if province_code is not None and unit.province_code != province_code:
        message = (f"{unit.name} không thuộc tỉnh/thành phố mã {_shown(province_code)}. "
                   f"(The commune is not in province {_shown(province_code)}.)")
        raise Invalid(message, details=[{"field": field, "message": message}])
    return unit


# ---- listing -------------------------------------------------------------------------------------


async def list_provinces(session: AsyncSession, *, scheme: Scheme = "current") -> list[Unit]:
    query = _select_units(scheme).where(AdminUnit.level == "province").order_by(AdminUnit.code)
    return await _fetch(session, query)


def commune_codes_query(province_code: str, *, scheme: Scheme = "current") -> Select[tuple[str]]:
    """A subquery of the codes of a province's communes, for `column.in_(...)` in other domains."""
    return select(AdminUnit.code).where(
        AdminUnit.scheme == scheme, AdminUnit.level == "commune", AdminUnit.province_code == province_code
    )


async def list_communes(session: AsyncSession, province_code: str, *, scheme: Scheme = "current",
                        district_code: str | None = None, after: str | None = None,
                        limit: int = 100) -> list[Unit]:
    """Communes of a province by code, `limit` of them after the code `after` (keyset pagination).

    Raises NotFound for an unknown province and Invalid for a malformed `after`."""
    if await get_province(session, province_code, scheme=scheme) is None:
        raise NotFound(f"Không tìm thấy tỉnh/thành phố mã {_shown(province_code)}{_scheme_label(scheme)}. "
                       f"(No province with code {_shown(province_code)}.)")
    if after is not None and not _CODE5.fullmatch(after):
        raise Invalid("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor")
    query = _select_units(scheme).where(AdminUnit.level == "commune", AdminUnit.province_code == province_code)
    if district_code is not None:
        query = query.where(AdminUnit.district_code == district_code)
    if after is not None:
        query = query.where(AdminUnit.code > after)
    return await _fetch(session, query.order_by(AdminUnit.code).limit(limit))


# ---- search --------------------------------------------------------------------------------------


def _word_prefix(column: ColumnElement[str], word: str) -> ColumnElement[bool]:
    # columns are space-padded folded text: " phuong ba dinh ... "; a word starts after a space
    return column.contains(" " + word, autoescape=True)


async def search(session: AsyncSession, q: str, *, scheme: Scheme = "current", level: Level | None = None,
                 limit: int = 20) -> list[Unit]:
    """Units whose name (or parents' names) contain every word of `q` as a word prefix, folded
    ("dong da" finds "Đống Đa"). The best first: the name itself, then provinces before communes."""
    words = fold_words(q)[:SEARCH_MAX_WORDS]
    if not words:
        raise Invalid("Hãy nhập tên đơn vị hành chính cần tìm. (Enter a name to search for.)",
                      details=[{"field": "q", "message": "empty query"}])
    phrase = " ".join(words)
    name = phrase
    for prefix in _TYPE_PREFIXES:
        rest = phrase.removeprefix(prefix)
        if rest != phrase and rest and not rest.isdigit():
            name = rest
            break
    own_name = literal(" ") + AdminUnit.search_name
    rank = case(
        (AdminUnit.search_name.in_(sorted({phrase, name})), 0),
        (own_name.startswith(" " + name, autoescape=True), 1),
        (and_(*(_word_prefix(own_name, word) for word in name.split())), 2),
        else_=3,
    )
    text = AdminUnit.__table__.c.search_text
    query = _select_units(scheme).where(*(_word_prefix(text, word) for word in words))
    if level is not None:
        query = query.where(AdminUnit.level == level)
    query = query.order_by(rank, _LEVEL_ORDER, AdminUnit.code).limit(limit)
    return await _fetch(session, query)


# ---- conversion ----------------------------------------------------------------------------------


async def convert_legacy_commune(session: AsyncSession, code: str) -> Conversion:
    """The current commune(s) and province that a legacy commune became on 1 July 2025."""
    legacy = await get_commune(session, code, scheme="legacy")
    if legacy is None:
        raise NotFound(f"Không tìm thấy xã/phường/thị trấn (trước 1/7/2025) mã {_shown(code)}. "
                       f"(No legacy commune with code {_shown(code)}.)")
    rows = (await session.execute(
        select(AdminUnitConversion)
        .where(AdminUnitConversion.legacy_level == "commune", AdminUnitConversion.legacy_code == code)
        .order_by(AdminUnitConversion.is_default.desc(), AdminUnitConversion.current_code)
    )).scalars().all()
    communes = await get_units(session, "commune", [row.current_code for row in rows])
    targets = [ConversionTarget(commune=communes[row.current_code], is_default=row.is_default)
               for row in rows if row.current_code in communes]
    if not targets:  # the data ships a target for every legacy commune; guard against a partial load
        raise NotFound("Chưa có dữ liệu chuyển đổi cho xã/phường này. (No conversion known.)")
    default = targets[0].commune
    province = await get_province(session, default.province_code or "")
    assert province is not None
    return Conversion(legacy=legacy, is_split=rows[0].is_split, commune=default, province=province,
                      targets=targets)


async def convert_legacy_province(session: AsyncSession, code: str) -> Unit:
    """The current province that a legacy province was merged into (or kept as)."""
    current_code = await session.scalar(
        select(AdminUnitConversion.current_code)
        .where(AdminUnitConversion.legacy_level == "province", AdminUnitConversion.legacy_code == code)
    )
    province = await get_province(session, current_code) if current_code else None
    if province is None:
        raise NotFound(f"Không tìm thấy tỉnh/thành phố (trước 1/7/2025) mã {_shown(code)}. "
                       f"(No legacy province with code {_shown(code)}.)")
    return province


async def legacy_sources(session: AsyncSession, commune_code: str) -> list[Unit]:
    """The legacy communes that (wholly or in part) make up a current commune: "formerly …"."""
    codes = (await session.scalars(
        select(AdminUnitConversion.legacy_code)
        .where(AdminUnitConversion.current_code == commune_code, AdminUnitConversion.legacy_level == "commune")
    )).all()
    units = await get_units(session, "commune", codes, scheme="legacy")
    return [units[code] for code in sorted(units)]


# ---- position ------------------------------------------------------------------------------------


def check_point(lat: float, lon: float) -> None:
    """Invalid unless (lat, lon) is a real coordinate inside Vietnam's rough bounding box."""
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("Tọa độ không hợp lệ. (Invalid coordinates.)",
                      details=[{"field": "lat", "message": "invalid coordinates"}])
    if not (VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= lon <= VIETNAM_LON[1]):
        raise Invalid("Tọa độ nằm ngoài lãnh thổ Việt Nam. (The point is outside Vietnam.)",
                      details=[{"field": "lat", "message": "outside Vietnam"}])


async def _grid(session: AsyncSession, scheme: Scheme) -> CentroidGrid:
    """The communes' centroids of one scheme, read once per process and data version (reference data
    changes only when the loader installs a new version, at start-up)."""
    key = (scheme, source.data_version())
    grid = _GRIDS.get(key)
    if grid is not None:
        return grid
    # Built once: the requests that arrive meanwhile (a burst right after start-up) wait for it.
    loop = asyncio.get_running_loop()
    building = _BUILDING.get((key, loop))
    if building is not None:
        return await asyncio.shield(building)
    building = _BUILDING[(key, loop)] = loop.create_future()
    try:
        rows = (await session.execute(
            select(AdminUnit.code, AdminUnit.lat, AdminUnit.lon).where(
                AdminUnit.scheme == scheme, AdminUnit.level == "commune",
                AdminUnit.lat.is_not(None), AdminUnit.lon.is_not(None),
            )
        )).all()
        grid = CentroidGrid((code, lat, lon) for code, lat, lon in rows)
        if grid.size:  # an empty table is not worth remembering: the loader may not have run yet
            _GRIDS[key] = grid
        building.set_result(grid)
        return grid
    except BaseException as exc:
        building.set_exception(exc)
        building.exception()  # retrieved: the waiters (if any) raise it, nobody else needs to
        raise
    finally:
        del _BUILDING[(key, loop)]


async def nearest_commune_code(session: AsyncSession, lat: float, lon: float) -> str:
    """The code of the current commune whose centroid is nearest (as `nearest_commune`, without reading the
    unit: once the centroids are in memory this costs no query)."""
    check_point(lat, lon)
    best = (await _grid(session, "current")).nearest(lat, lon)
    if best is None:
        raise NotFound("Chưa có dữ liệu vị trí xã/phường. (No commune positions loaded.)")
    return best[1]


async def nearest_commune(session: AsyncSession, lat: float, lon: float, *,
                          scheme: Scheme = "current") -> NearestCommune:
    """The commune whose centroid is nearest to (lat, lon): an approximation of "the commune this point
    is in" (no boundaries are shipped), with the distance to that centroid."""
    check_point(lat, lon)
    best = (await _grid(session, scheme)).nearest(lat, lon)
    commune = await get_commune(session, best[1], scheme=scheme) if best else None
    if best is None or commune is None:
        raise NotFound("Chưa có dữ liệu vị trí xã/phường. (No commune positions loaded.)")
    return NearestCommune(commune=commune, distance_km=round(best[0], 3))


def provinces_of_communes(session: Session, codes: Sequence[str]) -> dict[str, str | None]:
    """Current communes among `codes`, each with its province: one query for a batch (a writer's synchronous
    transaction). A code missing from the answer is not a current commune."""
    return {code: province for code, province in session.execute(select(AdminUnit.code, AdminUnit.province_code)
            .where(AdminUnit.scheme == "current", AdminUnit.level == "commune", AdminUnit.code.in_(list(codes))))}
