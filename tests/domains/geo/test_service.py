"""The geo service: look-up by code, folded search, legacy → current conversion, nearest commune."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import select

from loa.domains.geo import service
from loa.domains.geo.grid import CentroidGrid, haversine_km
from loa.domains.geo.models import AdminUnit
from loa.kit.errors import Invalid, NotFound
from loa.runtime import Runtime

BA_DINH_SQUARE = (21.0368, 105.8347)


async def test_units_are_found_by_code_current_by_default_legacy_on_request(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        hanoi = await service.get_province(session, "01")
        ward = await service.get_commune(session, "00004")
        old_ward = await service.get_commune(session, "00004", scheme="legacy")
        district = await service.get_district(session, "001")
        assert await service.get_commune(session, "99999") is None
        assert await service.get_commune(session, "4") is None
        assert await service.get_province(session, "30") is None  # Hải Dương: legacy only
        assert (await service.get_province(session, "30", scheme="legacy")).name == "Tỉnh Hải Dương"
    assert hanoi.name == "Thành phố Hà Nội" and hanoi.short_name == "Hà Nội" and hanoi.unit_type == "Thành phố"
    assert ward.name == "Phường Ba Đình" and ward.province_code == "01" and ward.province_name == hanoi.name
    assert ward.lat is not None and ward.area_km2 is not None
    assert old_ward.name == "Phường Trúc Bạch" and old_ward.district_name == "Quận Ba Đình"
    assert district.name == "Quận Ba Đình" and district.province_code == "01"


async def test_provinces_and_their_communes_are_listed_by_code(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        current = await service.list_provinces(session)
        legacy = await service.list_provinces(session, scheme="legacy")
        first = await service.list_communes(session, "01", limit=10)
        rest = await service.list_communes(session, "01", after=first[-1].code, limit=500)
        old_ba_dinh = await service.list_communes(session, "01", scheme="legacy", district_code="001", limit=500)
        with pytest.raises(NotFound):
            await service.list_communes(session, "99")
        with pytest.raises(Invalid):
            await service.list_communes(session, "01", after="x")
        in_query = (await session.scalars(
            select(AdminUnit.code).where(AdminUnit.code.in_(service.commune_codes_query("01")),
                                         AdminUnit.scheme == "current", AdminUnit.level == "commune")
        )).all()
    assert len(current) == 34 and [p.code for p in current] == sorted(p.code for p in current)
    assert len(legacy) == 63
    codes = [c.code for c in first + rest]
    assert len(codes) == 126 == len(set(codes)) and codes == sorted(codes)
    assert sorted(in_query) == codes
    assert {c.district_code for c in old_ba_dinh} == {"001"}
    assert "Phường Phúc Xá" in {c.name for c in old_ba_dinh}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dong da", "Phường Đống Đa"),
        ("Đống Đa", "Phường Đống Đa"),
        ("DONG   DA", "Phường Đống Đa"),
        ("ba dinh", "Phường Ba Đình"),
        ("phường ba đình", "Phường Ba Đình"),
        ("ha noi", "Thành phố Hà Nội"),
        ("hcm", "Thành phố Hồ Chí Minh"),
        ("thanh hoa", "Tỉnh Thanh Hóa"),
        ("ba dinh ha noi", "Phường Ba Đình"),
    ],
)
async def test_search_folds_diacritics_and_ranks_the_name_first(runtime: Runtime, query: str,
                                                                 expected: str) -> None:
    async with runtime.read_session() as session:
        found = await service.search(session, query)
    assert found and found[0].name == expected


async def test_search_in_the_legacy_scheme_and_by_level(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        legacy = await service.search(session, "ba dinh", scheme="legacy")
        communes = await service.search(session, "ha noi", level="commune", limit=5)
        odd = await service.search(session, "a_b%c")
        with pytest.raises(Invalid):
            await service.search(session, "  ,.  ")
    assert legacy[0].name == "Quận Ba Đình" and legacy[0].scheme == "legacy"
    assert len(communes) == 5 and {c.level for c in communes} == {"commune"}
    assert {c.province_code for c in communes} == {"01"}
    assert odd == []  # LIKE wildcards are matched literally


async def test_a_merged_legacy_ward_converts_to_its_current_ward(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        conversion = await service.convert_legacy_commune(session, "00013")
    assert conversion.legacy.name == "Phường Quán Thánh" and conversion.legacy.district_name == "Quận Ba Đình"
    assert not conversion.is_split
    assert conversion.commune.code == "00004" and conversion.commune.name == "Phường Ba Đình"
    assert conversion.province.code == "01"
    assert [t.commune.code for t in conversion.targets] == ["00004"]


async def test_a_split_legacy_commune_lists_every_part_with_one_default(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        conversion = await service.convert_legacy_commune(session, "09619")  # Thị trấn Tây Đằng, Ba Vì
    assert conversion.legacy.name == "Thị trấn Tây Đằng"
    assert conversion.is_split
    assert conversion.commune.code == "09661"  # Xã Minh Châu
    assert {t.commune.code for t in conversion.targets} == {"09661", "09619"}
    assert [t.is_default for t in conversion.targets] == [True, False]


async def test_other_conversions_and_the_reverse_view(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        hai_phong = await service.convert_legacy_province(session, "30")  # Tỉnh Hải Dương
        sources = await service.legacy_sources(session, "00004")
        with pytest.raises(NotFound):
            await service.convert_legacy_commune(session, "99999")
        with pytest.raises(NotFound):
            await service.convert_legacy_province(session, "99")
    assert hai_phong.name == "Thành phố Hải Phòng"
    assert {"Phường Quán Thánh", "Phường Trúc Bạch"} <= {unit.name for unit in sources}


async def test_require_refuses_unknown_codes_in_vietnamese_first(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        assert (await service.require_commune(session, "00004", province_code="01")).name == "Phường Ba Đình"
        assert (await service.require_province(session, "79")).short_name == "Hồ Chí Minh"
        with pytest.raises(Invalid) as unknown:
            await service.require_commune(session, "99999")
        with pytest.raises(Invalid) as elsewhere:
            await service.require_commune(session, "00004", province_code="79")
        with pytest.raises(Invalid) as province:
            await service.require_province(session, "30", field="area")
    assert unknown.value.message.startswith("Không có xã/phường")
    assert unknown.value.details == [{"field": "commune_code", "message": unknown.value.message}]
    assert "không thuộc" in elsewhere.value.message
    assert province.value.details[0]["field"] == "area"


async def test_nearest_commune_of_a_point_in_ba_dinh(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        nearest = await service.nearest_commune(session, *BA_DINH_SQUARE)
        island = await service.nearest_commune(session, 9.7, 114.4)
        legacy = await service.nearest_commune(session, *BA_DINH_SQUARE, scheme="legacy")
    assert nearest.commune.name == "Phường Ba Đình" and nearest.distance_km < 1
    assert island.commune.name == "Đặc khu Trường Sa"
    assert legacy.commune.scheme == "legacy" and legacy.commune.district_name == "Quận Ba Đình"


@pytest.mark.parametrize(("lat", "lon"), [(999, 105), (21, 999), (math.nan, 105), (48.85, 2.35), (21, 100.5)])
async def test_nearest_refuses_points_outside_vietnam(runtime: Runtime, lat: float, lon: float) -> None:
    async with runtime.read_session() as session:
        with pytest.raises(Invalid):
            await service.nearest_commune(session, lat, lon)


async def test_nearest_agrees_with_a_full_scan(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        rows = (await session.execute(
            select(AdminUnit.code, AdminUnit.lat, AdminUnit.lon)
            .where(AdminUnit.scheme == "current", AdminUnit.level == "commune", AdminUnit.lat.is_not(None))
        )).all()
        rng = random.Random(7)
        for _ in range(300):  # mostly at sea or abroad: the far cases
            lat, lon = rng.uniform(7.5, 23.5), rng.uniform(102.0, 117.5)
            expected = min(rows, key=lambda r: (haversine_km(lat, lon, r.lat, r.lon), r.code))
            found = await service.nearest_commune(session, lat, lon)
            assert found.commune.code == expected.code


def test_grid_is_exact_at_every_distance_and_breaks_ties_by_code() -> None:
    rng = random.Random(11)
    points = [(f"{i:05d}", rng.uniform(8, 23), rng.uniform(102, 110)) for i in range(2000)]
    points += [("99998", 10.0, 105.0), ("99997", 10.0, 105.0)]
    grid = CentroidGrid(points)
    for _ in range(500):
        lat, lon = rng.uniform(7.5, 23.5), rng.uniform(102, 117.5)
        expected = min((haversine_km(lat, lon, p_lat, p_lon), code) for code, p_lat, p_lon in points)
        assert grid.nearest(lat, lon) == expected
    assert grid.nearest(10.0, 105.0) == (0.0, "99997")
    assert CentroidGrid([]).nearest(10, 105) is None
