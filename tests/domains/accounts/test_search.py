"""Discovery: diacritic-insensitive search, filters, ranking and paging, on the real database."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from tests.factories import BA_DINH, HANOI, HCMC, make_account

from loa.runtime import Runtime


@pytest.fixture
async def directory(runtime: Runtime) -> None:
    await make_account(runtime, name="Bộ Y tế", kind="ministry")
    await make_account(runtime, name="Sở Y tế Hà Nội", kind="provincial_department")
    await make_account(runtime, name="Trung tâm Y tế quận Đống Đa", kind="hospital")
    await make_account(runtime, name="Công an phường Đống Đa", kind="police", commune=None)
    await make_account(runtime, name="UBND phường Ba Đình", kind="commune_committee", commune=BA_DINH)
    await make_account(runtime, name="Sở Giáo dục và Đào tạo TP. Hồ Chí Minh", kind="provincial_department",
                       province=HCMC)
    await make_account(runtime, name="Bộ Y tế giả mạo", kind="other_state", verified=False)


async def test_folded_query_finds_the_ministry_first_and_verified(client: AsyncClient, directory: None) -> None:
    response = await client.get("/api/v1/accounts", params={"q": "bo y te"})
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["name"] == "Bộ Y tế"
    assert items[0]["verified"] is True
    assert isinstance(items[0]["id"], str)
    assert "Bộ Y tế giả mạo" not in [item["name"] for item in items]


async def test_d_with_stroke_folds_to_d(client: AsyncClient, directory: None) -> None:
    names = [item["name"] for item in (await client.get("/api/v1/accounts", params={"q": "dong da"})).json()["items"]]
    assert set(names) == {"Trung tâm Y tế quận Đống Đa", "Công an phường Đống Đa"}


async def test_accented_query_and_prefixes_match_too(client: AsyncClient, directory: None) -> None:
    names = [item["name"] for item in (await client.get("/api/v1/accounts", params={"q": "Hồ Chí Mi"})).json()["items"]]
    assert names == ["Sở Giáo dục và Đào tạo TP. Hồ Chí Minh"]


async def test_unverified_accounts_are_found_only_when_asked(client: AsyncClient, directory: None) -> None:
    response = await client.get("/api/v1/accounts", params={"q": "bo y te", "verified": "false"})
    assert [item["name"] for item in response.json()["items"]] == ["Bộ Y tế giả mạo"]


async def test_filters_by_province_kind_and_commune(client: AsyncClient, directory: None) -> None:
    by_province = (await client.get("/api/v1/accounts", params={"province_code": HCMC})).json()["items"]
    assert [item["name"] for item in by_province] == ["Sở Giáo dục và Đào tạo TP. Hồ Chí Minh"]
    by_kind = (await client.get("/api/v1/accounts", params={"kind": "police"})).json()["items"]
    assert [item["name"] for item in by_kind] == ["Công an phường Đống Đa"]
    by_commune = (await client.get("/api/v1/accounts", params={"commune_code": BA_DINH})).json()["items"]
    assert [item["name"] for item in by_commune] == ["UBND phường Ba Đình"]


async def test_paging_walks_every_result_once(client: AsyncClient, directory: None) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, "province_code": HANOI}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/accounts", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


async def test_accounts_for_my_commune_put_the_commune_first(client: AsyncClient, directory: None) -> None:
    response = await client.get("/api/v1/accounts/local", params={"commune_code": BA_DINH})
    names = [item["name"] for item in response.json()]
    assert names[0] == "UBND phường Ba Đình"
    assert "Sở Y tế Hà Nội" in names
    assert "Bộ Y tế" not in names  # national accounts serve everyone, not one commune
    assert "Sở Giáo dục và Đào tạo TP. Hồ Chí Minh" not in names


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"limit": 100000},
        {"province_code": "1"},
        {"kind": "bakery"},
        {"q": "x" * 500},
    ],
)
async def test_bad_search_parameters_get_a_clear_4xx(client: AsyncClient, params: dict[str, object]) -> None:
    response = await client.get("/api/v1/accounts", params=params)
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) >= {"code", "message"}


async def test_unknown_commune_for_local_accounts_is_refused(client: AsyncClient) -> None:
    response = await client.get("/api/v1/accounts/local", params={"commune_code": "99999"})
    assert response.status_code in (404, 422)
    assert response.json()["error"]["message"]
