"""Loading the administrative units: the real counts, both schemes, and idempotence."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select, update

from loa.domains.geo import source
from loa.domains.geo.loader import ensure_loaded, loaded_version
from loa.domains.geo.models import AdminUnit, AdminUnitConversion
from loa.runtime import Runtime


async def _counts(runtime: Runtime) -> dict[tuple[str, str], int]:
    async with runtime.read_session() as session:
        rows = await session.execute(
            select(AdminUnit.scheme, AdminUnit.level, func.count()).group_by(AdminUnit.scheme, AdminUnit.level)
        )
        return {(scheme, level): count for scheme, level, count in rows}


async def test_both_schemes_are_loaded_with_the_official_counts(runtime: Runtime) -> None:
    counts = await _counts(runtime)
    assert counts[("current", "province")] == 34
    assert counts[("current", "commune")] == 3321
    assert ("current", "district") not in counts  # the district level was abolished on 1 July 2025
    assert counts[("legacy", "province")] == 63
    assert counts[("legacy", "district")] == 696
    assert 10_000 <= counts[("legacy", "commune")] <= 10_100


async def test_current_communes_split_into_wards_communes_and_special_zones(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        rows = await session.execute(
            select(AdminUnit.unit_type, func.count())
            .where(AdminUnit.scheme == "current", AdminUnit.level == "commune")
            .group_by(AdminUnit.unit_type)
        )
        assert {unit_type: count for unit_type, count in rows} == {"Phường": 687, "Xã": 2621, "Đặc khu": 13}


async def test_every_legacy_commune_has_exactly_one_default_current_commune(runtime: Runtime) -> None:
    async with runtime.read_session() as session:
        legacy = set((await session.scalars(
            select(AdminUnit.code).where(AdminUnit.scheme == "legacy", AdminUnit.level == "commune")
        )).all())
        defaults = Counter((await session.scalars(
            select(AdminUnitConversion.legacy_code)
            .where(AdminUnitConversion.legacy_level == "commune", AdminUnitConversion.is_default)
        )).all())
        current = set((await session.scalars(
            select(AdminUnit.code).where(AdminUnit.scheme == "current", AdminUnit.level == "commune")
        )).all())
        targets = set((await session.scalars(
            select(AdminUnitConversion.current_code).where(AdminUnitConversion.legacy_level == "commune")
        )).all())
    assert set(defaults) == legacy
    assert set(defaults.values()) == {1}
    assert targets <= current


async def test_loading_again_is_a_no_op(runtime: Runtime) -> None:
    before = await _counts(runtime)
    await ensure_loaded(runtime)
    await ensure_loaded(runtime)
    assert await _counts(runtime) == before
    async with runtime.read_session() as session:
        assert await loaded_version(session) == source.data_version()


async def test_a_changed_data_version_reloads_once_even_when_two_processes_start_together(
    runtime: Runtime,
) -> None:
    before = await _counts(runtime)
    async with runtime.session() as session:
        await session.execute(
            update(AdminUnit).where(AdminUnit.code == "00004").values(data_version="0.0.0+old", name="stale")
        )
        await session.commit()
    async with runtime.read_session() as session:
        assert await loaded_version(session) is None
    other = Runtime(runtime.settings)
    try:
        await asyncio.gather(ensure_loaded(runtime), ensure_loaded(other))
    finally:
        await other.close()
    assert await _counts(runtime) == before
    async with runtime.read_session() as session:
        assert await loaded_version(session) == source.data_version()
        name = await session.scalar(select(AdminUnit.name).where(
            AdminUnit.scheme == "current", AdminUnit.level == "commune", AdminUnit.code == "00004"))
    assert name == "Phường Ba Đình"


def test_names_are_official_and_short_names_drop_the_unit_type() -> None:
    units = {(u["scheme"], u["level"], u["code"]): u for u in source.read().units}
    ba_dinh = units[("current", "commune", "00004")]
    assert (ba_dinh["name"], ba_dinh["short_name"], ba_dinh["unit_type"]) == ("Phường Ba Đình", "Ba Đình", "Phường")
    assert ba_dinh["search_name"] == "ba dinh"
    # the data's type column mislabels this ward as a "Xã"; its official name decides
    assert units[("current", "commune", "10543")]["unit_type"] == "Phường"
    # a numbered ward keeps its type in the short name: "5" alone names nothing
    assert units[("legacy", "commune", "27046")]["short_name"] == "Phường 5"
    # codes overlap between schemes by design
    assert units[("legacy", "commune", "00004")]["name"] == "Phường Trúc Bạch"
