"""What a report must be before it is stored: its description, its category's fields, its place; and the
grid and distances the duplicate search uses. Pure functions, shared by the API, the writer and Open311."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from loa.domains.reports.models import ReportCategory
from loa.kit.errors import Invalid
from loa.kit.text import clean_line

MAX_DESCRIPTION = 4000  # Open311's limit too
MIN_DESCRIPTION = 10
CELL_DEGREES = 0.0025  # duplicate search grid: ≈ 280 m of latitude
EARTH_METRES = 6_371_000


def invalid(field: str, message: str, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, details=[{"field": field, "message": message}])


def check_description(description: str) -> str:
    text = (description or "").strip()
    if len(text) < MIN_DESCRIPTION:
        raise invalid("description", f"Mô tả cần ít nhất {MIN_DESCRIPTION} ký tự / The description needs at least "
                      f"{MIN_DESCRIPTION} characters", "description_too_short")
    if len(text) > MAX_DESCRIPTION:
        raise invalid("description", f"Mô tả dài quá {MAX_DESCRIPTION} ký tự / The description is longer than "
                      f"{MAX_DESCRIPTION} characters", "description_too_long")
    return text


def clean_fields(category: ReportCategory, given: dict[str, Any] | None) -> dict[str, Any]:
    """The category's extra fields, checked against their definitions: required ones present, list values
    among the allowed keys, numbers numbers; unknown fields refused."""
    given = dict(given or {})
    known = {definition["code"]: definition for definition in category.fields}
    for code in given:
        if code not in known:
            raise invalid(f"fields.{code}", f"Trường không thuộc loại phản ánh này / Unknown field: {code}",
                          "unknown_field")
    cleaned: dict[str, Any] = {}
    for code, definition in known.items():
        value = given.get(code)
        if value is None or value == "" or value == []:
            if definition.get("required"):
                raise invalid(f"fields.{code}", f"Cần điền “{definition['label']}” / "
                              f"“{definition['label_en']}” is required", "missing_field")
            continue
        cleaned[code] = _field_value(code, definition, value)
    return cleaned


def _field_value(code: str, definition: dict[str, Any], value: Any) -> Any:
    datatype = definition["datatype"]
    keys = {choice["key"] for choice in definition.get("values", [])}
    wrong = invalid(f"fields.{code}", f"Giá trị không hợp lệ cho “{definition['label']}” / "
                    f"Invalid value for “{definition['label_en']}”", "invalid_field")
    if datatype == "singlevaluelist":
        if not isinstance(value, str) or value not in keys:
            raise wrong
        return value
    if datatype == "multivaluelist":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or any(v not in keys for v in values):
            raise wrong
        return sorted(set(values))
    if datatype == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise wrong from None
        if not math.isfinite(number):
            raise wrong
        return number
    if datatype == "datetime":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise wrong from None
        if moment.tzinfo is None:
            raise wrong
        return moment.isoformat()
    if not isinstance(value, str | int | float):
        raise wrong
    text = clean_line(str(value)) if datatype == "string" else str(value).strip()
    if len(text) > 500:
        raise wrong
    return text


def geo_cell(latitude: float, longitude: float) -> int:
    """The duplicate-search grid cell of a point (cells of CELL_DEGREES; Vietnam's longitudes fit 10^5)."""
    return math.floor(latitude / CELL_DEGREES) * 100_000 + math.floor(longitude / CELL_DEGREES)


def neighbour_cells(latitude: float, longitude: float) -> list[int]:
    row, column = math.floor(latitude / CELL_DEGREES), math.floor(longitude / CELL_DEGREES)
    return [(row + dr) * 100_000 + column + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_METRES * math.asin(math.sqrt(a))
