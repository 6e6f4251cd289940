"""What the geo service returns, and the API's response shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scheme = Literal["current", "legacy"]
Level = Literal["province", "district", "commune"]


class Unit(BaseModel):
    """One administrative unit. Codes are strings with their leading zeros ("00004")."""

    model_config = ConfigDict(frozen=True)

    scheme: Scheme = Field(description="current: since 1 July 2025 (34/3,321); legacy: before (63/696/~10,035)")
    level: Level
    code: str
    name: str = Field(description='Official name, e.g. "Phường Ba Đình"')
    short_name: str = Field(description='Name without the unit type, e.g. "Ba Đình"')
    unit_type: str = Field(description='"Tỉnh", "Thành phố", "Quận", "Huyện", "Thị xã", "Phường", "Xã", ...')
    province_code: str | None = Field(None, description="Province of a district or commune")
    province_name: str | None = None
    district_code: str | None = Field(None, description="District of a legacy commune")
    district_name: str | None = None
    lat: float | None = Field(None, description="Centroid latitude (approximate)")
    lon: float | None = Field(None, description="Centroid longitude (approximate)")
    area_km2: float | None = None


class UnitList(BaseModel):
    items: list[Unit]


class NearestCommune(BaseModel):
    model_config = ConfigDict(frozen=True)

    commune: Unit
    distance_km: float = Field(description="Distance to the commune's centroid, not to its boundary")


class ConversionTarget(BaseModel):
    model_config = ConfigDict(frozen=True)

    commune: Unit
    is_default: bool = Field(description="The commune to use when only one can be chosen")


class Conversion(BaseModel):
    """Where a legacy commune went on 1 July 2025."""

    model_config = ConfigDict(frozen=True)

    legacy: Unit
    is_split: bool = Field(description="The legacy commune was divided among several current communes")
    commune: Unit = Field(description="The current commune (the default one when it was split)")
    province: Unit = Field(description="The current province of that commune")
    targets: list[ConversionTarget] = Field(description="Every current commune that took a part of it")
