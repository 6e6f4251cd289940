"""`/api/v1/geo`: shapes, pagination and refusals as a client sees them."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

API = "/api/v1/geo"


def _assert_error(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


async def test_provinces_are_listed_in_both_schemes(client: AsyncClient) -> None:
    current = (await client.get(f"{API}/provinces")).json()["items"]
    legacy = (await client.get(f"{API}/provinces", params={"scheme": "legacy"})).json()["items"]
    assert len(current) == 34 and len(legacy) == 63
    hanoi = next(p for p in current if p["code"] == "01")
    assert hanoi["name"] == "Thành phố Hà Nội" and hanoi["level"] == "province" and hanoi["scheme"] == "current"


async def test_units_by_code(client: AsyncClient) -> None:
    province = (await client.get(f"{API}/provinces/79")).json()
    commune = (await client.get(f"{API}/communes/00004")).json()
    legacy = (await client.get(f"{API}/communes/00004", params={"scheme": "legacy"})).json()
    assert province["short_name"] == "Hồ Chí Minh"
    assert commune["name"] == "Phường Ba Đình" and commune["province_name"] == "Thành phố Hà Nội"
    assert isinstance(commune["code"], str) and isinstance(commune["province_code"], str)
    assert legacy["name"] == "Phường Trúc Bạch" and legacy["district_code"] == "001"


async def test_communes_of_a_province_page_by_cursor(client: AsyncClient) -> None:
    codes: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/provinces/01/communes", params=params)).json()
        codes += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(codes) == 126 == len(set(codes))
    legacy = (await client.get(f"{API}/provinces/01/communes",
                               params={"scheme": "legacy", "district_code": "001"})).json()
    assert {c["district_name"] for c in legacy["items"]} == {"Quận Ba Đình"}
    assert legacy["next_cursor"] is None


async def test_search_and_nearest_and_convert(client: AsyncClient) -> None:
    found = (await client.get(f"{API}/search", params={"q": "dong da"})).json()["items"]
    nearest = (await client.get(f"{API}/nearest", params={"lat": 21.0368, "lon": 105.8347})).json()
    converted = (await client.get(f"{API}/convert", params={"legacy_commune_code": "00013"})).json()
    assert found[0]["name"] == "Phường Đống Đa"
    assert nearest["commune"]["code"] == "00004" and nearest["distance_km"] < 1
    assert converted["legacy"]["name"] == "Phường Quán Thánh"
    assert converted["commune"]["name"] == "Phường Ba Đình" and converted["province"]["code"] == "01"
    assert converted["is_split"] is False and len(converted["targets"]) == 1


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/provinces/99", {}),
        ("/provinces/30", {}),  # legacy code, asked in the current scheme
        ("/provinces/99/communes", {}),
        ("/communes/99999", {}),
        ("/convert", {"legacy_commune_code": "99999"}),
    ],
)
async def test_unknown_codes_get_404(client: AsyncClient, path: str, params: dict[str, str]) -> None:
    _assert_error(await client.get(API + path, params=params), 404)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/provinces", {"scheme": "future"}),
        ("/provinces/ab", {}),
        ("/communes/4", {}),
        ("/provinces/01/communes", {"limit": 0}),
        ("/provinces/01/communes", {"limit": 201}),
        ("/provinces/01/communes", {"cursor": "not-a-cursor"}),
        ("/provinces/01/communes", {"cursor": "eyJjb2RlIjoxfQ"}),  # {"code":1}: a cursor we did not make
        ("/search", {}),
        ("/search", {"q": ""}),
        ("/search", {"q": "   "}),
        ("/search", {"q": "x" * 101}),
        ("/search", {"q": "ha noi", "limit": 51}),
        ("/nearest", {"lat": 999, "lon": 105}),
        ("/nearest", {"lat": "nan", "lon": 105}),
        ("/nearest", {"lat": "abc", "lon": 105}),
        ("/nearest", {"lat": 21}),
        ("/nearest", {"lat": 48.85, "lon": 2.35}),
        ("/convert", {}),
        ("/convert", {"legacy_commune_code": "abc"}),
    ],
)
async def test_bad_parameters_get_422(client: AsyncClient, path: str, params: dict[str, object]) -> None:
    _assert_error(await client.get(API + path, params=params), 422)


async def test_openapi_documents_the_geo_responses(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = {path: spec for path, spec in document["paths"].items() if path.startswith(API)}
    assert set(paths) == {f"{API}/{p}" for p in (
        "provinces", "provinces/{code}", "provinces/{code}/communes", "communes/{code}", "search", "nearest",
        "convert")}
    for spec in paths.values():
        responses = spec["get"]["responses"]
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"]
        assert "404" in responses and "422" in responses
    assert "Unit" in document["components"]["schemas"]
