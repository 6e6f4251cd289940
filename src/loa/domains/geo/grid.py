"""Nearest centroid in memory: points bucketed into a grid of small lat/lon boxes, searched ring by ring
outwards until no unexamined box can hold anything nearer. Exact (haversine), and well under a
millisecond even far out at sea, where a database box query would have to widen to half the country."""

from __future__ import annotations

import math
from collections.abc import Iterable

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class CentroidGrid:
    def __init__(self, points: Iterable[tuple[str, float, float]], cell_degrees: float = 0.2) -> None:
        self.cell = cell_degrees
        self.cells: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
        max_abs_lat = 0.0
        for code, lat, lon in points:
            self.cells.setdefault(self._key(lat, lon), []).append((lat, lon, code))
            max_abs_lat = max(max_abs_lat, abs(lat))
        self.size = sum(len(bucket) for bucket in self.cells.values())
        rows = [key[0] for key in self.cells] or [0]
        cols = [key[1] for key in self.cells] or [0]
        self._bounds = (min(rows), max(rows), min(cols), max(cols))
        self._max_abs_lat = max_abs_lat

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def nearest(self, lat: float, lon: float) -> tuple[float, str] | None:
        """(distance in km, code) of the nearest point; ties go to the smaller code."""
        if not self.size:
            return None
        row, col = self._key(lat, lon)
        # A box r rings away is at least (r - 1) cells away on some axis; a longitude cell is narrowest
        # at the highest latitude either the query or any point has.
        # 0.98: a great circle is slightly shorter than the parallel between the same two points.
        narrowest = math.cos(math.radians(min(89.0, max(abs(lat), self._max_abs_lat))))
        ring_km = self.cell * KM_PER_DEGREE * narrowest * 0.98
        low_row, high_row, low_col, high_col = self._bounds
        max_ring = max(abs(row - low_row), abs(row - high_row), abs(col - low_col), abs(col - high_col))
        best: tuple[float, str] | None = None
        for ring in range(max_ring + 1):
            if best is not None and best[0] <= (ring - 1) * ring_km:
                break
            for key in _ring(row, col, ring):
                for p_lat, p_lon, code in self.cells.get(key, ()):
                    candidate = (haversine_km(lat, lon, p_lat, p_lon), code)
                    if best is None or candidate < best:
                        best = candidate
        return best


def _ring(row: int, col: int, ring: int) -> Iterable[tuple[int, int]]:
    if ring == 0:
        yield row, col
        return
    for c in range(col - ring, col + ring + 1):
        yield row - ring, c
        yield row + ring, c
    for r in range(row - ring + 1, row + ring):
        yield r, col - ring
        yield r, col + ring
