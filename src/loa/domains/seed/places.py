"""The current provinces and communes (from the `admin_units` table) with the populations the seeds
spread people and agencies by."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo.models import AdminUnit

# Approximate population (thousands, 2024) of each current province: the sums of the provinces merged
# into it on 1 July 2025. Only proportions matter here.
PROVINCE_POPULATION: dict[str, int] = {
    "01": 8_700, "04": 570, "08": 1_870, "11": 650, "12": 490, "14": 1_300, "15": 1_780, "19": 1_800,
    "20": 800, "22": 1_400, "24": 3_600, "25": 4_000, "31": 4_700, "33": 3_600, "37": 4_400, "38": 4_300,
    "40": 3_800, "42": 1_600, "44": 1_900, "46": 1_400, "48": 3_100, "51": 2_200, "52": 3_600, "56": 2_200,
    "66": 3_300, "68": 3_900, "75": 4_500, "79": 14_000, "80": 3_300, "82": 4_400, "86": 4_300, "91": 4_950,
    "92": 4_200, "96": 2_600,
}
# Urban wards are denser than rural communes and island special zones.
_DENSITY = {"Phường": 3.0, "Xã": 1.0, "Đặc khu": 0.5}


@dataclass(frozen=True)
class Commune:
    code: str
    name: str  # "Phường Ba Đình"
    short_name: str  # "Ba Đình"
    unit_type: str  # "Phường", "Xã", "Đặc khu"
    province_code: str
    weight: float  # share of its province's people


@dataclass(frozen=True)
class Province:
    code: str
    name: str  # "Thành phố Hà Nội"
    short_name: str  # "Hà Nội"
    unit_type: str  # "Thành phố", "Tỉnh"
    population: int  # thousands
    communes: tuple[Commune, ...]

    @property
    def lower_name(self) -> str:
        """"tỉnh Nghệ An", "thành phố Hà Nội": as it reads inside a longer name."""
        return f"{self.unit_type.lower()} {self.short_name}"


@dataclass(frozen=True)
class Country:
    provinces: tuple[Province, ...]

    def province(self, code: str) -> Province:
        for province in self.provinces:
            if province.code == code:
                return province
        raise ValueError(f"unknown province code {code!r}: one of {', '.join(p.code for p in self.provinces)}")

    @property
    def population(self) -> int:
        return sum(province.population for province in self.provinces)

    def commune(self, code: str) -> Commune:
        for province in self.provinces:
            for commune in province.communes:
                if commune.code == code:
                    return commune
        raise ValueError(f"unknown commune code {code!r}")


async def load_country(session: AsyncSession, *, seed: int = 0) -> Country:
    """Provinces and communes of the current scheme; fails plainly if the reference data is missing."""
    rows = (await session.execute(
        select(AdminUnit.level, AdminUnit.code, AdminUnit.name, AdminUnit.short_name, AdminUnit.unit_type,
               AdminUnit.province_code)
        .where(AdminUnit.scheme == "current")
        .order_by(AdminUnit.level.desc(), AdminUnit.code)  # provinces first
    )).all()
    if not rows:
        raise RuntimeError("no administrative units loaded: the geo reference data must be loaded first")
    rng = random.Random(seed)
    raw_communes: dict[str, list[tuple[str, str, str, str, float]]] = {}
    for level, code, name, short_name, unit_type, province_code in rows:
        if level == "commune" and province_code:
            density = _DENSITY.get(unit_type, 1.0) * rng.uniform(0.6, 1.4)
            raw_communes.setdefault(province_code, []).append((code, name, short_name, unit_type, density))
    provinces = []
    for level, code, name, short_name, unit_type, _ in rows:
        if level != "province":
            continue
        listed = raw_communes.get(code, [])
        total = sum(item[4] for item in listed) or 1.0
        communes = tuple(Commune(c, n, s, t, code, d / total) for c, n, s, t, d in listed)
        provinces.append(Province(code, name, short_name, unit_type, PROVINCE_POPULATION.get(code, 1_000),
                                  communes))
    return Country(tuple(provinces))
