"""Every table behind the dashboard's charts, as JSON and as the CSV and XLSX a person downloads: the same rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import AsyncClient
from openpyxl import load_workbook
from tests.domains.stats.helpers import seed_known

from loa.domains.stats import service
from loa.runtime import Runtime


async def table(client: AsyncClient, name: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/stats/tables/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_tables_and_their_downloads(quiet: Runtime, client: AsyncClient) -> None:
    known = await seed_known(quiet)
    await service.rebuild(quiet)

    listed = (await client.get("/api/v1/stats/tables")).json()["items"]
    assert [item["name"] for item in listed] == ["areas", "coverage", "accounts-by-year", "accounts-by-kind",
                                                 "ranking", "handling", "activity"]

    areas = await table(client, "areas", year=2025)
    assert len(areas["rows"]) == 34
    by_code = {row["code"]: row for row in areas["rows"]}
    assert {key: by_code["01"][key] for key in ("name", "accounts", "communes_covered", "messages_in",
                                                 "reports_received", "reports_resolved", "on_time_percent")} == {
        "name": "Thành phố Hà Nội", "accounts": 3, "communes_covered": 1, "messages_in": 7,
        "reports_received": 3, "reports_resolved": 3, "on_time_percent": 66.7}
    assert by_code["79"]["accounts"] == 2 and by_code["79"]["communes_covered"] == 2
    communes = await table(client, "areas", year=2025, province="01")
    covered = [row for row in communes["rows"] if row["accounts"]]
    assert [(row["code"], row["accounts"], row["reports_received"]) for row in covered] == [
        (known.hanoi_commune, 2, 3)]

    by_year = await table(client, "accounts-by-year", year=2025)
    assert [(row["year"], row["created"], row["total"], row["verified"]) for row in by_year["rows"]] == [
        (2019, 1, 1, 1), (2020, 1, 2, 2), (2021, 0, 2, 2), (2022, 0, 2, 2), (2023, 0, 2, 2), (2024, 2, 4, 3),
        (2025, 1, 5, 4)]

    coverage = await table(client, "coverage", year=2025, kind="state")
    assert {row["code"]: row["communes_covered"] for row in coverage["rows"] if row["communes_covered"]} == {"01": 1}
    legacy = await table(client, "coverage", year=2024)
    assert len(legacy["rows"]) == 63 and legacy["rows"][0]["divisions"].startswith("trước 1/7/2025")

    ranking = await table(client, "ranking", year=2024, limit=2)
    assert [(row["rank"], row["name"], row["followers"]) for row in ranking["rows"]] == [
        (1, "Bệnh viện Quận 1", 4), (2, "Sở Y tế Hà Nội", 3)]
    by_messages = await table(client, "ranking", year=2025, sort="messages_in")
    assert [row["name"] for row in by_messages["rows"]] == ["UBND phường Hoàn Kiếm"]

    handling = await table(client, "handling", year=2025)
    assert [(row["name"], row["received"], row["resolved_on_time"], row["resolved_late"], row["on_time_percent"],
             row["average_rating"]) for row in handling["rows"]] == [
        ("UBND phường Hoàn Kiếm", 3, 2, 1, 66.7, 4.5)]
    assert handling["rows"][0]["median_first_response_hours"] == 1.0

    activity = await table(client, "activity", year=2025)
    assert [row["period"] for row in activity["rows"]][:3] == ["2025-01", "2025-02", "2025-03"]
    march = activity["rows"][2]
    assert (march["messages_in"], march["reports_received"], march["reports_resolved"]) == (7, 3, 2)
    assert activity["rows"][3]["reports_resolved"] == 1 and activity["rows"][5]["broadcasts"] == 1
    days = await table(client, "activity", grain="day", **{"from": "2025-03-14", "to": "2025-03-16"})
    assert [(row["period"], row["messages_in"]) for row in days["rows"]] == [
        ("2025-03-14", 0), ("2025-03-15", 7), ("2025-03-16", 0)]

    # The CSV: a header in both languages, the same rows, readable by a spreadsheet (UTF-8 with a BOM).
    download = await client.get("/api/v1/stats/tables/handling", params={"year": 2025, "format": "csv"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert 'filename="loa-thong-ke-handling-nation-2025-01-01-2025-12-31.csv"' in download.headers[
        "content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã tài khoản (Account id)", "Cơ quan (Agency)", "Nhận (Received)"]
    assert rows[1][1:4] == ["UBND phường Hoàn Kiếm", "3", "3"]

    # The XLSX: a title, the period, then the header and the rows as numbers.
    sheet = await client.get("/api/v1/stats/tables/areas", params={"year": 2025, "format": "xlsx"})
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(sheet.content))
    cells = [[cell.value for cell in row] for row in book.active.iter_rows()]
    assert cells[0][0] == "Theo địa bàn — Toàn quốc" and "năm 2025" in cells[1][0]
    assert cells[2][:3] == ["Mã (Code)", "Tên (Name)", "Tài khoản (Accounts)"]
    hanoi = next(row for row in cells[3:] if row[0] == "01")
    assert hanoi[1:3] == ["Thành phố Hà Nội", 3]
    assert len(cells) == 3 + 34
