"""The statistics pages over HTTP, without a browser: the public dashboard at `/stats` (no sign-in) and an account's
statistics in the console, with the exact figures of known data; each chart beside its table and downloads that carry
the same numbers; bad filters said on the page with a 4xx; staff of another account refused."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from tests.domains.stats.helpers import Known, seed_known
from tests.factories import add_staff, make_user

from loa.domains.people.models import User
from loa.domains.stats import service
from loa.kit.effects import commit
from loa.runtime import Runtime

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
YEAR_2025 = {"from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture
async def quiet(runtime: Runtime) -> Runtime:
    """Without the background sweeps: the rollups move only when a test rebuilds them."""
    await runtime.scheduler.close()
    return runtime


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1).strip()


def section(html: str, name: str) -> str:
    return html.split(f'<section class="stats-section" id="{name}"', 1)[1].split("</section>", 1)[0]


def body_rows(html: str) -> list[list[str]]:
    """The rows of a section's table, as the cells' texts."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def chart(html: str, name: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="chart-{name}-data">(.*?)</script>', html, re.S)
    assert found, name
    return json.loads(found.group(1))


def download(html: str, name: str, fmt: str) -> str:
    found = re.search(rf'href="(/api/v1/stats/tables/{name}\?[^"]*format={fmt})"', section(html, name))
    assert found, (name, fmt)
    return found.group(1).replace("&amp;", "&")


async def seeded(runtime: Runtime) -> Known:
    known = await seed_known(runtime)
    await service.rebuild(runtime)
    return known


async def test_the_public_dashboard_shows_the_nation_with_each_chart_beside_its_table(
        quiet: Runtime, client: AsyncClient) -> None:
    await seeded(quiet)
    page = await client.get("/stats", params={"year": "2025"}, headers=BROWSER)
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    assert "Thống kê công khai" in html and 'href="/stats" aria-current="page"' in html
    assert {name: figure(html, name) for name in ("accounts", "verified", "follows", "provinces", "communes",
                                                  "messages", "reports", "on-time")} == {
        "accounts": "5", "verified": "80 %", "follows": "4", "provinces": "2 / 34", "communes": "3 / 3.321",
        "messages": "7", "reports": "3", "on-time": "66,7 %"}
    assert "vendor/chart.js/chart.umd.min.js" in html

    areas = section(html, "areas")
    assert '<canvas id="chart-areas"' in areas and '<th scope="col"' in areas and "<caption>" in areas
    rows = {row[0]: row for row in body_rows(areas)}
    assert len(rows) == 34
    assert rows["Thành phố Hà Nội"][1:4] == ["3", "1", "126"]  # accounts, communes covered, communes
    drawn = chart(html, "areas")
    assert dict(zip(drawn["labels"], drawn["series"][0]["data"], strict=True))["Thành phố Hà Nội"] == 3

    ranking = body_rows(section(html, "ranking"))
    assert [(row[1], row[3]) for row in ranking[:2]] == [("Bệnh viện Quận 1", "4"), ("Sở Y tế Hà Nội", "3")]
    handling = body_rows(section(html, "handling"))
    assert handling[0][:5] == ["UBND phường Hoàn Kiếm", "3", "3", "66,7", "33,3"]
    drawn = chart(html, "handling")
    assert [series["data"] for series in drawn["series"]] == [[66.7], [33.3]]

    activity = {row[0]: row for row in body_rows(section(html, "activity"))}
    assert len(activity) == 12 and activity["2025-03"][3] == "7"  # messages in, March
    drawn = chart(html, "activity")
    by_label = {series["label"]: series["data"] for series in drawn["series"]}
    assert by_label["Tin nhắn đến"][2] == 7 and by_label["Phản ánh nhận"][2] == 3

    # The downloads are the page's tables.
    url = download(html, "areas", "csv")
    assert "from=2025-01-01" in url and "to=2025-12-31" in url
    response = await client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    hanoi = next(line for line in lines if line[1] == "Thành phố Hà Nội")
    assert hanoi[2] == "3"
    xlsx = await client.get(download(html, "handling", "xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_a_province_and_english(quiet: Runtime, client: AsyncClient) -> None:
    known = await seeded(quiet)
    page = await client.get("/stats", params={"province": "01", **YEAR_2025}, headers=BROWSER)
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    assert "Thống kê công khai: Thành phố Hà Nội" in html
    assert figure(html, "accounts") == "3" and figure(html, "on-time") == "66,7 %"
    assert 'data-figure="provinces"' not in html
    communes = body_rows(section(html, "areas"))
    assert len(communes) == 1 and communes[0][1] == "2"  # only the commune with accounts; the download has all
    assert "province=01" in download(html, "areas", "csv")
    csv_rows = (await client.get(download(html, "areas", "csv"))).content.decode("utf-8-sig").splitlines()
    assert len(csv_rows) > 2 and any(line.startswith(known.hanoi_commune) for line in csv_rows)

    await client.get("/lang", params={"to": "en", "next": "/stats"})
    english = await client.get("/stats", params={"year": "2025"}, headers=BROWSER)
    assert "Public statistics" in english.text and "Accounts with the most followers" in english.text
    assert figure(english.text, "on-time") == "66.7 %" and figure(english.text, "communes") == "3 / 3,321"
    assert "Messages in" in chart(english.text, "activity")["series"][1]["label"]


async def test_bad_filters_are_said_on_the_page(quiet: Runtime, client: AsyncClient) -> None:
    cases = [
        ({"province": "99"}, "Không có tỉnh/thành phố nào mang mã 99"),
        ({"province": "<b>x</b>"}, "Không có tỉnh/thành phố nào"),
        ({"from": "2025-05-01", "to": "2025-04-01"}, "kết thúc (01/04/2025) trước khi bắt đầu"),
        ({"year": "1999"}, "Năm 1999 nằm ngoài khoảng"),
        ({"year": "abc"}, "không hợp lệ"),
        ({"year": "²"}, "không hợp lệ"),
        ({"from": "2025-13-40"}, "không hợp lệ"),
        ({"year": "2025", "from": "2025-01-01"}, "không cả hai"),
    ]
    for params, said in cases:
        page = await client.get("/stats", params=params, headers=BROWSER)
        assert page.status_code == 422, (params, page.status_code)
        assert 'role="alert"' in page.text and said in page.text, params
        assert 'id="f-province"' in page.text  # the filters, to fix it
        assert "<b>x</b>" not in page.text


async def _staff(runtime: Runtime, client_as: Any, known_account: Any, role: str, email: str) -> AsyncClient:
    person = await make_user(runtime, name=f"Cán bộ {role}", email=email)
    async with runtime.session() as session:
        await session.execute(update(User).where(User.id == person.id).values(password_hash="x"))
        await commit(session)
    await add_staff(runtime, known_account, person, role)
    client: AsyncClient = await client_as(person)
    client.headers.update(BROWSER)
    return client


async def test_an_accounts_statistics_in_the_console(quiet: Runtime, client_as: Any) -> None:
    known = await seeded(quiet)
    viewer = await _staff(quiet, client_as, known.committee, "viewer", "viewer@example.vn")
    stranger = await _staff(quiet, client_as, known.hospital, "owner", "stranger@example.vn")

    page = await viewer.get(f"/console/{known.committee.id}/stats", params={"year": "2025"})
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    assert f'href="/console/{known.committee.id}/stats" aria-current="page"' in html
    assert {name: figure(html, name) for name in ("messages-in", "messages-out", "reports", "on-time", "open",
                                                  "overdue")} == {
        "messages-in": "7", "messages-out": "5", "reports": "3", "on-time": "66,7 %", "open": "0", "overdue": "0"}
    activity = {row[0]: row for row in body_rows(section(html, "activity"))}
    assert activity["2025-03"][3:6] == ["7", "5", "3"]
    url = download(html, "activity", "csv")
    assert f"account={known.committee.id}" in url
    assert (await viewer.get(url)).status_code == 200
    assert body_rows(section(html, "handling"))[0][:4] == ["UBND phường Hoàn Kiếm", "3", "3", "66,7"]

    bad = await viewer.get(f"/console/{known.committee.id}/stats", params={"from": "2025-05-01", "to": "2025-01-01"})
    assert bad.status_code == 422 and "trước khi bắt đầu" in bad.text

    refused = await stranger.get(f"/console/{known.committee.id}/stats")
    assert refused.status_code == 403
    assert "UBND phường Hoàn Kiếm" not in refused.text or 'data-figure' not in refused.text
