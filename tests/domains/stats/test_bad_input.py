"""Bad input gets a clear 4xx in the API's error shape, in Vietnamese first: unknown provinces and communes,
periods that end before they start, years out of range, unknown organisations, accounts, kinds and tables."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from loa.domains.stats.periods import vn_today


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"province": "99"}, 422, "unknown_province"),
    ({"commune": "99999"}, 422, "unknown_commune"),
    ({"province": "1"}, 422, "invalid"),  # not two digits
    ({"from": "2025-06-01", "to": "2025-05-31"}, 422, "invalid_period"),
    ({"year": 1990}, 422, "year_out_of_range"),
    ({"year": vn_today().year + 1}, 422, "year_out_of_range"),
    ({"from": "1999-12-31"}, 422, "year_out_of_range"),
    ({"to": "2999-01-01"}, 422, "year_out_of_range"),
    ({"year": 2025, "from": "2025-01-01"}, 422, "invalid_period"),
    ({"province": "01", "commune": "00004"}, 422, "invalid_scope"),
    ({"organisation": "123456"}, 404, "organisation_not_found"),
    ({"account": "123456"}, 404, "account_not_found"),
    ({"kind": "spaceport"}, 422, "unknown_kind"),
    ({"from": "2025-02-30"}, 422, "invalid"),
])
async def test_figures_refuse_bad_input(client: AsyncClient, params: dict[str, Any], status: int,
                                        code: str) -> None:
    response = await client.get("/api/v1/stats/figures", params=params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


async def test_the_messages_say_what_is_wrong(client: AsyncClient) -> None:
    province = (await client.get("/api/v1/stats/figures", params={"province": "99"})).json()["error"]
    assert province["message"].startswith("Không có tỉnh/thành phố nào mang mã 99")
    assert "(Unknown province code 99.)" in province["message"]
    period = (await client.get("/api/v1/stats/figures", params={"from": "2025-06-01", "to": "2025-05-31"})).json()
    assert "kết thúc (31/05/2025) trước khi bắt đầu (01/06/2025)" in period["error"]["message"]
    assert period["error"]["details"][0]["field"] == "to"


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("/api/v1/stats/tables/nope", {}, 404, "table_not_found"),
    ("/api/v1/stats/tables/areas", {"commune": "00004"}, 422, "invalid_scope"),
    ("/api/v1/stats/tables/coverage", {"account": "1"}, 404, "account_not_found"),
    ("/api/v1/stats/tables/activity", {"grain": "day", "from": "2020-01-01", "to": "2025-12-31"}, 422,
     "period_too_long"),
    ("/api/v1/stats/tables/ranking", {"sort": "loudness"}, 422, "invalid"),
    ("/api/v1/stats/tables/ranking", {"limit": 0}, 422, "invalid"),
    ("/api/v1/stats/tables/ranking", {"format": "pdf"}, 422, "invalid"),
    ("/api/v1/stats/tables/areas", {"year": 2009}, 422, "year_out_of_range"),
])
async def test_tables_refuse_bad_input(client: AsyncClient, path: str, params: dict[str, Any], status: int,
                                       code: str) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
