"""Vietnam's administrative units, current (since 1 July 2025) and legacy, and the legacy → current map.

Codes overlap between the two schemes by design (a merged unit keeps one of the old codes), so a unit is
keyed by (scheme, level, code). Other tables store plain codes, never foreign keys to these rows, so the
reference data can be reloaded without touching them.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loa.db.base import Base, check_in

SCHEMES = ("current", "legacy")
LEVELS = ("province", "district", "commune")


class AdminUnit(Base):
    __tablename__ = "admin_units"
    __table_args__ = (
        CheckConstraint(check_in("scheme", SCHEMES), name="scheme"),
        CheckConstraint(check_in("level", LEVELS), name="level"),
        Index("ix_admin_units_parent", "scheme", "level", "province_code", "code"),
        # nearest-commune: a latitude band first, then longitude within it
        Index("ix_admin_units_position", "scheme", "level", "lat", "lon"),
    )

    scheme: Mapped[str] = mapped_column(String(7), primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # official, NFC: "Phường Ba Đình"
    short_name: Mapped[str] = mapped_column(String(100))  # "Ba Đình"
    unit_type: Mapped[str] = mapped_column(String(20))  # "Phường", "Xã", "Đặc khu", "Tỉnh", ...
    search_name: Mapped[str] = mapped_column(String(100))  # folded short name: "ba dinh"
    # folded name and parents' names, space-padded so that a word prefix is LIKE '% word%'
    search_text: Mapped[str] = mapped_column(String(400))
    province_code: Mapped[str | None] = mapped_column(String(2))
    district_code: Mapped[str | None] = mapped_column(String(3))  # legacy communes only
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_km2: Mapped[float | None] = mapped_column(Float)
    # which data set the row came from; the loader reloads when it differs from the installed one
    data_version: Mapped[str] = mapped_column(String(40))


class AdminUnitConversion(Base):
    """Where a legacy unit went. A legacy commune split among several current communes has one row per
    part, one of them the default; a legacy province has one row (its current province); an island
    district that had no communes has one row (its special zone)."""

    __tablename__ = "admin_unit_conversions"
    __table_args__ = (
        CheckConstraint(check_in("legacy_level", LEVELS), name="legacy_level"),
        Index("ix_admin_unit_conversions_current", "current_code", "legacy_level"),
    )

    legacy_level: Mapped[str] = mapped_column(String(8), primary_key=True)
    legacy_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    current_code: Mapped[str] = mapped_column(String(5), primary_key=True)  # commune, or province
    current_province_code: Mapped[str] = mapped_column(String(2))
    is_split: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean)
