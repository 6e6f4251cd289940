"""Reads the administrative units shipped in the `vietnamadminunits` package (MIT) into rows.

Only its data files are read (the SQLite file and the conversion JSON); the package's own functions
geocode over the network and are never imported.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from loa.kit.text import fold, fold_words, nfc

PACKAGE = "vietnamadminunits"
# Bump when the rows built from the same files change, so that installed databases reload.
ROWS_FORMAT = "1"

PROVINCE_TYPES = ("Thành phố", "Tỉnh")
DISTRICT_TYPES = ("Thành phố", "Thị xã", "Quận", "Huyện")
COMMUNE_TYPES = ("Thị trấn", "Đặc khu", "Phường", "Xã")
# Names people type for the two biggest cities, beyond their official names.
PROVINCE_ALIASES = {"01": ("hn",), "79": ("hcm", "tphcm", "tp hcm", "sai gon")}

Row = dict[str, Any]


@dataclass(frozen=True)
class GeoData:
    version: str
    units: list[Row]
    conversions: list[Row]


def data_dir() -> Path:
    # find_spec locates the package without running its __init__ (which imports the geocoding parts).
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def data_version() -> str:
    """The package version and a digest of its data files: changes whenever the rows would."""
    digest = hashlib.sha256(ROWS_FORMAT.encode())
    for name in ("dataset.db", "converter_2025.json"):
        digest.update((data_dir() / name).read_bytes())
    return f"{importlib.metadata.version(PACKAGE)}+{digest.hexdigest()[:16]}"


def read() -> GeoData:
    directory = data_dir()
    uri = (directory / "dataset.db").as_uri() + "?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True)
    try:
        connection.row_factory = sqlite3.Row
        current = connection.execute(
            "SELECT provinceCode, province, provinceLat, provinceLon, provinceKey,"
            " wardCode, ward, wardType, wardLat, wardLon, wardAreaKm2, wardKey"
            " FROM admin_units ORDER BY provinceCode, wardCode"
        ).fetchall()
        legacy = connection.execute(
            "SELECT provinceCode, province, provinceLat, provinceLon, provinceKey,"
            " districtCode, district, districtType, districtLat, districtLon, districtKey,"
            " wardCode, ward, wardType, wardLat, wardLon, wardKey"
            " FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode"
        ).fetchall()
    finally:
        connection.close()
    converter = json.loads((directory / "converter_2025.json").read_text(encoding="utf-8"))
    version = data_version()
    units = [*_current_units(current), *_legacy_units(legacy)]
    for unit in units:
        unit["data_version"] = version
    return GeoData(version, units, _conversions(current, legacy, converter))


def _split_name(name: str, types: tuple[str, ...], fallback: str | None) -> tuple[str, str]:
    """(unit type, short name) from an official name; the name is trusted over the data's type column,
    which mislabels a few units ("Phường Việt Hòa" typed "Xã")."""
    for unit_type in types:
        if name.startswith(unit_type + " "):
            rest = name[len(unit_type) + 1 :]
            # "Phường 5", "Quận 1": a bare number is no name
            return unit_type, name if rest.isdigit() else rest
    return fallback or "", name


def _search_words(*names: str) -> list[str]:
    words: list[str] = []
    for name in names:
        words.extend(fold_words(name))
    return words


def _unit(scheme: str, level: str, code: str, name: str, types: tuple[str, ...], fallback: str | None,
          parent_words: list[str], **extra: Any) -> tuple[Row, list[str]]:
    name = nfc(name)
    unit_type, short_name = _split_name(name, types, fallback and nfc(fallback))
    own_words = _search_words(name)
    if level == "province":
        own_words.extend(PROVINCE_ALIASES.get(code, ()))
    row = {
        "scheme": scheme,
        "level": level,
        "code": code,
        "name": name,
        "short_name": short_name,
        "unit_type": unit_type,
        "search_name": fold(short_name),
        "search_text": " " + " ".join([*own_words, *parent_words]) + " ",
        "province_code": None,
        "district_code": None,
        "lat": None,
        "lon": None,
        "area_km2": None,
        **extra,
    }
    return row, own_words


def _current_units(rows: Iterable[sqlite3.Row]) -> list[Row]:
    provinces: dict[str, Row] = {}
    province_words: dict[str, list[str]] = {}
    areas: dict[str, list[float | None]] = {}
    communes: list[Row] = []
    for r in rows:
        code = r["provinceCode"]
        if code not in provinces:
            provinces[code], province_words[code] = _unit(
                "current", "province", code, r["province"], PROVINCE_TYPES, None, [],
                lat=r["provinceLat"], lon=r["provinceLon"],
            )
            areas[code] = []
        areas[code].append(r["wardAreaKm2"])
        commune, _ = _unit(
            "current", "commune", r["wardCode"], r["ward"], COMMUNE_TYPES, r["wardType"], province_words[code],
            province_code=code, lat=r["wardLat"], lon=r["wardLon"], area_km2=r["wardAreaKm2"],
        )
        communes.append(commune)
    for code, province in provinces.items():
        known = [area for area in areas[code] if area is not None]
        # a sum that misses a commune would understate the province: leave it unknown instead
        province["area_km2"] = round(sum(known), 2) if len(known) == len(areas[code]) else None
    return [*provinces.values(), *communes]


def _legacy_units(rows: Iterable[sqlite3.Row]) -> list[Row]:
    provinces: dict[str, tuple[Row, list[str]]] = {}
    districts: dict[str, tuple[Row, list[str]]] = {}
    communes: list[Row] = []
    for r in rows:
        province_code, district_code = r["provinceCode"], r["districtCode"]
        if province_code not in provinces:
            provinces[province_code] = _unit(
                "legacy", "province", province_code, r["province"], PROVINCE_TYPES, None, [],
                lat=r["provinceLat"], lon=r["provinceLon"],
            )
        province_words = provinces[province_code][1]
        if district_code not in districts:
            districts[district_code] = _unit(
                "legacy", "district", district_code, r["district"], DISTRICT_TYPES, r["districtType"],
                province_words, province_code=province_code, lat=r["districtLat"], lon=r["districtLon"],
            )
        if r["wardCode"] is None:  # island districts without communes
            continue
        district_words = districts[district_code][1]
        commune, _ = _unit(
            "legacy", "commune", r["wardCode"], r["ward"], COMMUNE_TYPES, r["wardType"],
            [*district_words, *province_words], province_code=province_code, district_code=district_code,
            lat=r["wardLat"], lon=r["wardLon"],
        )
        communes.append(commune)
    return [
        *(row for row, _ in provinces.values()),
        *(row for row, _ in districts.values()),
        *communes,
    ]


def _conversions(current: list[sqlite3.Row], legacy: list[sqlite3.Row], converter: dict[str, Any]) -> list[Row]:
    """Rows of the legacy → current map, resolved from the converter's name keys to codes."""
    current_provinces = {r["provinceKey"]: r["provinceCode"] for r in current}
    current_communes = {(r["provinceKey"], r["wardKey"]): (r["wardCode"], r["provinceCode"]) for r in current}
    legacy_provinces = {r["provinceKey"]: r["provinceCode"] for r in legacy}
    legacy_units: dict[str, tuple[str, str]] = {}
    for r in legacy:
        key = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        legacy_units[key] = ("commune", r["wardCode"]) if r["wardCode"] else ("district", r["districtCode"])

    out: dict[tuple[str, str, str], Row] = {}

    def add(level: str, code: str, target: tuple[str, str], split: bool, default: bool) -> None:
        out[(level, code, target[0])] = {
            "legacy_level": level,
            "legacy_code": code,
            "current_code": target[0],
            "current_province_code": target[1],
            "is_split": split,
            "is_default": default,
        }

    for new_key, old_keys in converter["DICT_PROVINCE"].items():
        new_code = current_provinces[new_key]
        for old_key in old_keys:
            add("province", legacy_provinces[old_key], (new_code, new_code), False, True)
    for new_province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, old_keys in wards.items():
            target = current_communes[(new_province, new_ward)]
            for old_key in old_keys:
                add(*legacy_units[old_key], target, False, True)
    for new_province, old_units in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, parts in old_units.items():
            for part in parts:
                target = current_communes[(new_province, part["newWardKey"])]
                add(*legacy_units[old_key], target, True, bool(part["isDefaultNewWard"]))
    return list(out.values())
