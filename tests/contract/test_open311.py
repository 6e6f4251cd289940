"""Open311 GeoReport v2 at `/open311/v2`: the JSON answers checked against the standard's JSON Schemas, the XML
answers carrying the same data, real Open311 clients from PyPI (georeport for reads, civicbot for a POST)
against a running server, and the refusals that change nothing."""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import defusedxml.ElementTree as SafeXML
import pytest
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport
from httpx import AsyncClient, Response
from jsonschema import Draft4Validator
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import delete, func, select
from tests.domains.reports.helpers import LAT, LON, Scene, make_scene
from tests.servers import running_server

from loa.domains.accounts import service as accounts
from loa.domains.reports import service
from loa.domains.reports.models import Report, ReportCategory, ReportPhoto
from loa.kit.effects import commit
from loa.kit.storage import media_storage
from loa.runtime import Runtime

BASE = "/open311/v2"
SCHEMAS = Path(__file__).parent / "open311_schemas"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
# The XML elements that are lists in JSON (the Spark convention).
XML_LISTS = {"services", "attributes", "values", "service_requests", "endpoints", "formats", "errors"}
REPORTER = "Nguyễn Văn An"  # the citizen of `make_scene`
# Who an integration says filed a report: kept for the agency, never shown.
CONTACT = {"first_name": "Bình", "last_name": "Trần Thị", "email": "binh.tran@example.vn", "phone": "0912 345 678"}
PRIVATE_WORDS = [REPORTER, "Trần Thị", "binh.tran@example.vn", "+84912345678", "0912 345 678"]


# --- checking answers ------------------------------------------------------------------------------------


def _validator(name: str) -> Draft4Validator:
    """A schema of the reference with its relative `$ref`s (requests.json → request.json) resolved."""
    schemas = {path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (key, Resource.from_contents(schema, default_specification=DRAFT4)) for key, schema in schemas.items())
    return Draft4Validator(schemas[name], registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid(data: Any, schema: str) -> None:
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in _validator(schema).iter_errors(data)]
    assert not errors, errors


def xml_data(element: Any) -> Any:
    """Parsed XML back into the JSON shape, every leaf as its text (None when empty)."""
    if element.tag in XML_LISTS:
        return [xml_data(child) for child in element]
    if len(element):
        return {child.tag: xml_data(child) for child in element}
    return element.text


def as_text(data: Any) -> Any:
    """JSON data as XML says it: booleans `true`/`false`, numbers as written, empty as None."""
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, list):
        return [as_text(item) for item in data]
    if isinstance(data, dict):
        return {key: as_text(value) for key, value in data.items()}
    if data is None or data == "":
        return None
    return str(data)


def parse_xml(response: Response) -> Any:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(XML_DECLARATION)
    assert b"xmlns" not in response.content
    return SafeXML.fromstring(response.content)


async def both(client: AsyncClient, path: str, **params: Any) -> tuple[Any, Any]:
    """The JSON answer, and the XML one checked to carry exactly the same data."""
    as_json = await client.get(f"{BASE}/{path}.json", params=params)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json; charset=utf-8"
    as_xml = await client.get(f"{BASE}/{path}.xml", params=params)
    assert as_xml.status_code == 200, as_xml.text
    root = parse_xml(as_xml)
    assert xml_data(root) == as_text(as_json.json())
    return as_json.json(), root


def assert_open311_error(response: Response, status: int, fmt: str = "json") -> str:
    """A refusal in the standard's shape, with a description for people; returns the description."""
    assert response.status_code == status, response.text
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == status, body
        description = body[0]["description"]
    else:
        root = parse_xml(response)
        assert root.tag == "errors" and [child.tag for child in root] == ["error"]
        assert root.find("error/code").text == str(status)
        description = root.find("error/description").text
    assert isinstance(description, str) and description.strip()
    return description


# --- scenes ----------------------------------------------------------------------------------------------


async def make_api_key(runtime: Runtime, scene: Scene, scopes: tuple[str, ...] = ("reports",)) -> tuple[int, str]:
    async with runtime.session() as session:
        token, plain = await accounts.create_api_token(session, account_id=scene.committee.id, actor=scene.manager,
                                                       name="Cổng phản ánh của tỉnh", scopes=scopes)
        await commit(session)
    return token.id, plain


async def count_reports(runtime: Runtime) -> int:
    async with runtime.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


async def submit(runtime: Runtime, scene: Scene, category: str = "waste", *, public: bool = True,
                 description: str = "Rác thải đổ trộm ven hồ Hoàn Kiếm nhiều ngày chưa dọn.", lat: float = LAT,
                 lon: float = LON, photo: bool = False, **extra: Any) -> Any:
    """A citizen's report, through the reports service as every channel files one."""
    return await service.submit(
        runtime, reporter=scene.citizen, category_code=category, description=description, latitude=lat,
        longitude=lon, public=public, photos=[service.Photo(jpeg(), "anh.jpg")] if photo else (),
        storage=media_storage(runtime.settings) if photo else None, **extra)


async def handle(runtime: Runtime, scene: Scene, report_id: int, last: str | None = None,
                 note: str | None = None) -> None:
    """The committee accepts, assigns and starts on a report, then `last` (resolve, ask) with its note."""
    await service.act(runtime, actor=scene.manager, report_id=report_id, action_name="accept")
    await service.act(runtime, actor=scene.manager, report_id=report_id, action_name="assign",
                      assignee_id=scene.agent.id)
    await service.act(runtime, actor=scene.agent, report_id=report_id, action_name="start")
    if last:
        await service.act(runtime, actor=scene.agent, report_id=report_id, action_name=last, note=note)


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 140, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def traffic_form(api_key: str | None, **extra: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"service_code": "traffic_violation", "lat": LAT, "long": LON,
                            "description": "Xe máy vượt đèn đỏ liên tục ở ngã tư Hàng Khay – Đinh Tiên Hoàng.",
                            "attribute[vehicle]": "motorbike", "attribute[violation]": "red_light", **CONTACT}
    if api_key is not None:
        form["api_key"] = api_key
    form.update(extra)
    return {key: value for key, value in form.items() if value is not None}


async def post_pairs(client: AsyncClient, pairs: list[tuple[str, str]]) -> Response:
    """A form with repeated fields, as a browser or civicbot encodes `attribute[CODE][]`."""
    return await client.post(f"{BASE}/requests.json", content=urlencode(pairs),
                             headers={"content-type": "application/x-www-form-urlencoded"})


@pytest.fixture
async def park_category(runtime: Runtime) -> AsyncIterator[str]:
    """A category with a multi-value attribute (the default ones have none); removed again afterwards, since
    the categories are reference data the suite keeps."""
    async with runtime.session() as session:
        category = ReportCategory(
            code="o311_park", name="Cây xanh, công viên", name_en="Trees and parks", category_group="Môi trường",
            account_kinds=["commune_committee"], keywords=["cây đổ", "công viên"], deadline_amount=5,
            deadline_unit="working_days", public_rounding_m=0, enabled=True,
            fields=[{"code": "problems", "label": "Vấn đề", "label_en": "Problems", "datatype": "multivaluelist",
                     "required": True, "order": 1,
                     "values": [{"key": "fallen_tree", "name": "Cây đổ"}, {"key": "broken_bench", "name": "Ghế hỏng"},
                                {"key": "litter", "name": "Rác"}]},
                    {"code": "height_m", "label": "Chiều cao cây (m)", "label_en": "Tree height (m)",
                     "datatype": "number", "required": False, "order": 1, "values": []}])
        session.add(category)
        await session.commit()
        category_id = category.id
    try:
        yield "o311_park"
    finally:
        async with runtime.session() as session:
            await session.execute(delete(Report).where(Report.category_id == category_id))
            await session.execute(delete(ReportCategory).where(ReportCategory.id == category_id))
            await session.commit()


# --- discovery, services, definitions --------------------------------------------------------------------


async def test_discovery_services_and_definitions_follow_the_standard_in_both_formats(client: AsyncClient,
                                                                                      runtime: Runtime) -> None:
    discovery, _ = await both(client, "discovery")
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert discovery["endpoints"][0]["url"] == "http://testserver/open311/v2"
    assert set(discovery["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    assert datetime.fromisoformat(discovery["changeset"]) <= datetime.now(UTC)
    assert discovery["key_service"].strip() and discovery["contact"].strip()

    services, root = await both(client, "services")
    assert_valid(services, "services.json")
    by_code = {service["service_code"]: service for service in services}
    assert by_code["waste"]["service_name"] == "Rác thải, vệ sinh môi trường"  # Vietnamese intact, in XML too
    assert root.find("service/service_name") is not None
    assert by_code["traffic_violation"]["metadata"] is True and by_code["waste"]["metadata"] is False
    assert {service["type"] for service in services} == {"realtime"}
    assert "vượt đèn đỏ" in by_code["traffic_violation"]["keywords"].split(",")

    definition, root = await both(client, "services/traffic_violation")
    assert_valid(definition, "service-definition.json")
    attributes = {attribute["code"]: attribute for attribute in definition["attributes"]}
    assert list(attributes) == ["vehicle", "violation", "plate"]
    assert [attribute["order"] for attribute in definition["attributes"]] == [1, 2, 3]
    assert attributes["vehicle"]["required"] is True and attributes["plate"]["required"] is False
    assert attributes["vehicle"]["datatype"] == "singlevaluelist"
    assert {"key": "motorbike", "name": "Xe máy"} in attributes["vehicle"]["values"]
    assert attributes["vehicle"]["description"] == "Loại phương tiện"
    assert root.find("attributes/attribute/required").text == "true"
    assert root.find("attributes/attribute/values/value/name").text == "Xe máy"

    english = (await client.get(f"{BASE}/services/traffic_violation.json", headers={"Accept-Language": "en"})).json()
    assert english["attributes"][0]["description"] == "Vehicle"

    for fmt in ("json", "xml"):
        response = await client.get(f"{BASE}/services/no_such_service.{fmt}")
        assert "Unknown report category" in assert_open311_error(response, 404, fmt)
        assert_open311_error(await client.get(f"{BASE}/tokens/abc123.{fmt}"), 404, fmt)
        assert_open311_error(await client.get(f"{BASE}/no-such-thing.{fmt}"), 404, fmt)
        assert_open311_error(await client.delete(f"{BASE}/services.{fmt}"), 405, fmt)
    # A format the server does not speak is answered in XML, the standard's mandatory one.
    assert_open311_error(await client.get(f"{BASE}/services.csv"), 404, "xml")


async def test_a_definition_with_shared_orders_gets_unique_positive_ones(client: AsyncClient,
                                                                        park_category: str) -> None:
    definition, _ = await both(client, f"services/{park_category}")
    assert_valid(definition, "service-definition.json")
    assert [(a["code"], a["order"]) for a in definition["attributes"]] == [("problems", 1), ("height_m", 2)]
    assert definition["attributes"][0]["datatype"] == "multivaluelist"


# --- reading requests ------------------------------------------------------------------------------------


async def test_public_reports_are_listed_without_their_reporter_and_with_a_rounded_place(
        runtime: Runtime, client: AsyncClient, client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    # An answered report, with a photo.
    answered = await submit(runtime, scene, address="Phố Lê Thái Tổ", photo=True)
    await handle(runtime, scene, answered.id, "resolve", "Đã thu gom rác và lắp biển cấm đổ rác.")
    # An open one where the agency asked a question, in a category shown only to 100 m.
    point = (LAT + 0.00123, LON + 0.00171)
    traffic = await submit(runtime, scene, "traffic_violation", lat=point[0], lon=point[1],
                           description="Ô tô đỗ trên vỉa hè chắn lối đi bộ cả buổi sáng.",
                           address="Số 12 phố Hàng Khay", fields={"vehicle": "car", "violation": "illegal_parking"})
    await handle(runtime, scene, traffic.id, "ask", "Anh cho biết biển số xe nếu có?")
    # The reporter chose not to publish this one.
    private = await submit(runtime, scene, public=False, description="Hàng xóm đốt rác gây khói cả khu tập thể.")

    listed, root = await both(client, "requests")
    assert_valid(listed, "requests.json")
    assert [item["service_request_id"] for item in listed] == [traffic.code, answered.code]
    assert [child.find("service_request_id").text for child in root] == [traffic.code, answered.code]
    opened, closed = listed

    assert closed["status"] == "closed" and closed["status_notes"] == "Đã thu gom rác và lắp biển cấm đổ rác."
    assert closed["service_code"] == "waste" and closed["service_name"] == "Rác thải, vệ sinh môi trường"
    assert closed["agency_responsible"] == "UBND phường Hoàn Kiếm"
    assert (closed["lat"], closed["long"]) == (LAT, LON) and closed["address"] == "Phố Lê Thái Tổ"
    async with runtime.read_session() as session:
        photo_id = await session.scalar(select(ReportPhoto.id).where(ReportPhoto.report_id == answered.id))
        due = await session.scalar(select(Report.due_at).where(Report.id == traffic.id))
    assert closed["media_url"] == f"http://testserver/api/v1/reports/{answered.id}/photos/{photo_id}"
    image = await client.get(urlsplit(closed["media_url"]).path)  # anyone may fetch a public report's photo
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    for item in listed:
        for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert item[key].endswith("Z")
    assert due is not None
    assert opened["expected_datetime"] == due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert opened["status"] == "open" and opened["status_notes"] == "Anh cho biết biển số xe nếu có?"
    # Rounded to the category's 100 m: never the exact place, never far from it, and no street address.
    assert (opened["lat"], opened["long"]) != point
    assert metres_between(point[0], point[1], opened["lat"], opened["long"]) <= 100 * math.sqrt(2) / 2 + 1
    assert "Hàng Khay" not in opened["address"] and "Hà Nội" in opened["address"]
    assert "Hàng Khay" not in (await client.get(f"{BASE}/requests.xml")).text
    # Another report a few metres from the shown point shows the same point: the grid is fixed.
    nearby = await submit(runtime, scene, "traffic_violation", lat=opened["lat"] + 0.00002,
                          lon=opened["long"] - 0.00002, description="Xe tải dừng đỗ sai quy định trước cửa hàng.",
                          fields={"vehicle": "truck", "violation": "illegal_parking"})
    [again] = (await client.get(f"{BASE}/requests/{nearby.code}.json")).json()
    assert (again["lat"], again["long"]) == (opened["lat"], opened["long"])

    # One request: an array of one in JSON, one <request> in XML; the private one does not exist here.
    single, root = await both(client, f"requests/{traffic.code}")
    assert_valid(single, "requests.json")
    assert len(single) == 1 and single[0] == opened
    assert root.tag == "service_requests" and len(root) == 1
    for fmt in ("json", "xml"):
        assert_open311_error(await client.get(f"{BASE}/requests/{private.code}.{fmt}"), 404, fmt)
        assert_open311_error(await client.get(f"{BASE}/requests/PA-2000-999999.{fmt}"), 404, fmt)
    by_ids, _ = await both(client, "requests", service_request_id=f"{private.code},{answered.code}")
    assert [item["service_request_id"] for item in by_ids] == [answered.code]

    # The reporter appears nowhere.
    for path in ("requests.json", "requests.xml", f"requests/{traffic.code}.xml", f"requests/{answered.code}.json"):
        body = (await client.get(f"{BASE}/{path}")).text
        assert not [word for word in PRIVATE_WORDS if word in body], path


async def test_request_filters_status_service_dates_and_pages(runtime: Runtime, client: AsyncClient,
                                                             client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    first = await submit(runtime, scene)
    second = await submit(runtime, scene, description="Cống thoát nước bốc mùi hôi ven hồ.")
    road = await submit(runtime, scene, "road_damage", description="Ổ gà lớn giữa đường gây nguy hiểm cho xe máy.",
                        fields={"size": "large", "danger": "yes"})
    await handle(runtime, scene, first.id, "resolve", "Đã dọn sạch.")

    async def codes(**params: Any) -> list[str]:
        listed, _ = await both(client, "requests", **params)
        assert_valid(listed, "requests.json")
        return [item["service_request_id"] for item in listed]

    everything = [road.code, second.code, first.code]
    assert await codes() == everything
    assert await codes(status="closed") == [first.code]
    assert await codes(status="open") == [road.code, second.code]
    assert await codes(status="open,closed") == everything
    assert await codes(service_code="road_damage") == [road.code]
    assert await codes(service_code="waste,road_damage", status="open") == [road.code, second.code]
    assert await codes(status="", service_code="") == everything  # empty counts as absent
    now = datetime.now(UTC)
    assert await codes(start_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       end_date=(now + timedelta(days=1)).isoformat()) == everything
    assert await codes(start_date="2020-01-01T00:00:00+07:00", end_date="2020-02-01T00:00:00+07:00") == []
    assert await codes(end_date=(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    assert await codes(page_size=2) == everything[:2]
    assert await codes(page_size=2, page=2) == everything[2:]
    # The id list overrides every other filter.
    assert await codes(service_request_id=first.code.lower(), status="open", start_date="2020-01-01") == [first.code]
    # "+07:00" sent without encoding arrives as a space: still understood.
    response = await client.get(f"{BASE}/requests.json?start_date=2026-01-01T00:00:00 07:00"
                                f"&end_date=2026-02-01T00:00:00%2B07:00")
    assert response.status_code == 200, response.text


async def test_bad_queries_are_refused_in_the_standards_shape(client: AsyncClient) -> None:
    refusals = [
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, 400, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, 400, "90"),
        ({"start_date": "2026-01-01T00:00:00"}, 400, "start_date"),  # no time zone
        ({"end_date": "hôm qua"}, 400, "end_date"),
        ({"start_date": "0001-01-01T00:00:00+14:00"}, 400, "start_date"),
        ({"status": "pending"}, 400, "status"),
        ({"page_size": "0"}, 400, "page_size"),
        ({"page_size": "1001"}, 400, "page_size"),
        ({"page": "-1"}, 400, "page"),
        ({"service_code": "no_such_service"}, 404, "service_code"),
        ({"service_request_id": "PA\x00"}, 400, "service_request_id"),
    ]
    for params, status, word in refusals:
        for fmt in ("json", "xml"):
            response = await client.get(f"{BASE}/requests.{fmt}", params=params)
            assert word in assert_open311_error(response, status, fmt), params


# --- submitting ------------------------------------------------------------------------------------------


async def test_posting_needs_a_valid_api_key_and_stores_nothing_otherwise(
        runtime: Runtime, client: AsyncClient, client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    token_id, api_key = await make_api_key(runtime, scene)
    _, read_only = await make_api_key(runtime, scene, scopes=("messages",))
    revoked_id, revoked = await make_api_key(runtime, scene)
    async with runtime.session() as session:
        await accounts.revoke_api_token(session, account_id=scene.committee.id, token_id=revoked_id,
                                        actor=scene.manager)
        await commit(session)

    for key in (None, "", "loa_wrong-key", read_only, revoked, "x" * 300):
        for fmt in ("json", "xml"):
            response = await client.post(f"{BASE}/requests.{fmt}", data=traffic_form(key))
            assert_open311_error(response, 403, fmt)
    # Without a key nothing else is looked at: a bad service code is still a 403.
    assert_open311_error(await client.post(f"{BASE}/requests.json", data={"service_code": "nope"}), 403)
    assert await count_reports(runtime) == 0

    # The key as a query parameter (older clients) works as well as the form field.
    response = await client.post(f"{BASE}/requests.json", params={"api_key": api_key}, data=traffic_form(None))
    assert response.status_code == 200, response.text
    [created] = response.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert "UBND phường Hoàn Kiếm" in created["service_notice"]
    async with runtime.read_session() as session:
        report = await session.scalar(select(Report).where(Report.code == created["service_request_id"]))
    assert report is not None and report.source == "open311" and report.reporter_id is None
    assert report.account_id == scene.committee.id
    assert report.fields == {"vehicle": "motorbike", "violation": "red_light"}
    contact = dict(report.reporter_contact or {})
    assert contact.pop("submitted_via").startswith("open311:loa_")  # which integration filed it, for the staff
    assert contact == {"first_name": "Bình", "last_name": "Trần Thị", "email": "binh.tran@example.vn",
                       "phone": "+84912345678"}
    assert token_id


async def test_bad_submissions_are_refused_and_store_nothing(runtime: Runtime, client: AsyncClient,
                                                             client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    _, key = await make_api_key(runtime, scene)
    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "no_such_service"}, 404, "Unknown report category"),
        ({"attribute[vehicle]": None}, 400, "Vehicle"),  # a required attribute missing
        ({"attribute[vehicle]": "spaceship"}, 400, "Vehicle"),
        ({"attribute[colour]": "red"}, 400, "colour"),  # not an attribute of the service
        ({"description": "Ngắn"}, 400, "10"),
        ({"description": "Quá dài. " * 500}, 400, "4000"),
        ({"description": "Có ký tự \x00 lạ trong mô tả này."}, 400, "description"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "nan"}, 400, "lat"),
        ({"long": None}, 400, "long"),
        ({"lat": "48.8566", "long": "2.3522"}, 400, "Vietnam"),  # Paris
        ({"lat": None, "long": None}, 400, "commune_code"),
        ({"lat": None, "long": None, "address_string": "Số 5 phố Tràng Tiền"}, 400, "commune_code"),
        ({"lat": None, "long": None, "address_string": "Số 5 phố Tràng Tiền", "commune_code": "99999"}, 400,
         "commune"),
        ({"email": "not-an-address"}, 400, "email"),
        ({"phone": "12"}, 400, "phone"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ]
    for changes, status, word in refusals:
        for fmt in ("json", "xml"):
            response = await client.post(f"{BASE}/requests.{fmt}", data=traffic_form(key, **changes))
            assert word in assert_open311_error(response, status, fmt), (changes, response.text)
    school = {"service_code": "school", "attribute[vehicle]": None, "attribute[violation]": None}
    assert "School" in assert_open311_error(
        await client.post(f"{BASE}/requests.json", data=traffic_form(key, **school)), 400)
    too_big = await client.post(f"{BASE}/requests.json", content=b"a=" + b"x" * 300_000,
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert_open311_error(too_big, 413)
    as_json = await client.post(f"{BASE}/requests.json", json=traffic_form(key))
    assert_open311_error(as_json, 400)
    assert await count_reports(runtime) == 0


async def test_an_address_with_its_commune_code_and_photos_sent_as_multipart(
        runtime: Runtime, client: AsyncClient, client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    _, key = await make_api_key(runtime, scene)
    form = {"api_key": key, "service_code": "road_damage", "address_string": "Số 5 phố Tràng Tiền",
            "commune_code": scene.commune_code, "attribute[size]": "large", "attribute[danger]": "yes",
            "description": "Vỉa hè sụt lún thành hố sâu trước cửa nhà hát.",
            "media_url": "https://example.vn/anh/ho-sau.jpg"}
    response = await client.post(f"{BASE}/requests.xml", data=form, files={"media": ("ho.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 200, response.text
    root = parse_xml(response)
    code = root.find("request/service_request_id").text
    assert root.find("request/token") is None

    [shown] = (await client.get(f"{BASE}/requests/{code}.json")).json()
    assert shown["address"] == "Số 5 phố Tràng Tiền" and shown["lat"] is None and shown["long"] is None
    assert shown["media_url"] and (await client.get(urlsplit(shown["media_url"]).path)).status_code == 200
    assert "example.vn/anh" not in json.dumps(shown)  # another site's link is for the staff only
    async with runtime.read_session() as session:
        report = await session.scalar(select(Report).where(Report.code == code))
    assert report is not None and report.commune_code == scene.commune_code
    assert report.reporter_contact and report.reporter_contact["media_url"] == form["media_url"]


async def test_multi_value_attributes(runtime: Runtime, client: AsyncClient, client_as,  # type: ignore[no-untyped-def]
                                      park_category: str) -> None:
    scene = await make_scene(runtime, client_as)
    _, key = await make_api_key(runtime, scene)
    body = [("api_key", key), ("service_code", park_category), ("lat", str(LAT)), ("long", str(LON)),
            ("description", "Cây đổ chắn lối đi và ghế đá bị vỡ trong công viên."),
            ("attribute[problems][]", "fallen_tree"), ("attribute[problems][]", "broken_bench"),
            ("attribute[height_m]", "12.5")]
    response = await post_pairs(client, body)
    assert response.status_code == 200, response.text
    async with runtime.read_session() as session:
        report = await session.scalar(select(Report).where(Report.code == response.json()[0]["service_request_id"]))
    assert report is not None and report.fields == {"problems": ["broken_bench", "fallen_tree"], "height_m": 12.5}
    wrong = [*body[:5], ("attribute[problems][]", "fallen_tree"), ("attribute[problems][]", "volcano")]
    assert "Problems" in assert_open311_error(await post_pairs(client, wrong), 400)
    assert await count_reports(runtime) == 1


# --- real clients against a real server ------------------------------------------------------------------


@pytest.fixture
def server_url(runtime: Runtime) -> Iterator[str]:
    with running_server(runtime.settings) as base_url:
        yield base_url


async def test_real_open311_clients_read_and_post(runtime: Runtime, client_as,  # type: ignore[no-untyped-def]
                                                  server_url: str) -> None:
    scene = await make_scene(runtime, client_as)
    _, key = await make_api_key(runtime, scene)
    endpoint = f"{server_url}{BASE}"
    civic = Open311Client(Endpoint(id="loa", name="Loa", base_url=endpoint, write=True),
                          transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)), jurisdiction_id="vn")

    # civicbot files a report with attributes and the api_key in the form (checked against our definition first).
    prepared = await asyncio.to_thread(
        civic.create_request, "traffic_violation", dry_run=False, confirm="SEND", api_key=key, validate_remote=True,
        lat=LAT, lng=LON, description="Xe máy đi ngược chiều trên phố Đinh Tiên Hoàng giờ cao điểm.",
        attributes={"vehicle": "motorbike", "violation": "wrong_way", "plate": "29B1-123.45"}, **CONTACT)
    [created] = prepared.response
    code = created["service_request_id"]
    assert code.startswith("PA-") and "token" not in created
    with pytest.raises(HttpError) as refused:
        await asyncio.to_thread(civic.create_request, "traffic_violation", dry_run=False, confirm="SEND",
                                api_key="loa_not-a-key", lat=LAT, lng=LON, description="Không được lưu lại đâu nhé.",
                                attributes={"vehicle": "car", "violation": "other"})
    assert refused.value.status == 403 and json.loads(refused.value.body)[0]["code"] == 403
    assert await count_reports(runtime) == 1
    assert (await asyncio.to_thread(civic.get_request, code))["status"] == "open"
    assert [item["service_request_id"] for item in await asyncio.to_thread(civic.list_requests, page_size=5)] == [code]

    # georeport reads everything back, in JSON and in XML.
    for fmt in ("json", "xml"):
        reader = GeoReport(endpoint, jurisdiction="vn", output_format=fmt)
        services = await asyncio.to_thread(reader.get_service_list)
        names = {service["service_code"]: service["service_name"] for service in services}
        assert names["traffic_violation"] == "Vi phạm trật tự an toàn giao thông"
        definition = await asyncio.to_thread(reader.get_service_definition, "traffic_violation")
        assert definition["service_code"] == "traffic_violation"
        attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
        assert [attribute["code"] for attribute in attributes] == ["vehicle", "violation", "plate"]
        listed = await asyncio.to_thread(reader.get_service_requests, status="open", service_code="traffic_violation")
        one = listed[0] if fmt == "json" else listed  # in XML a lone <request> parses as a dict
        assert one["service_request_id"] == code
        single = await asyncio.to_thread(reader.get_service_request, code)
        assert single["service_request_id"] == code and single["status"] == "open"
        assert single["description"] == "Xe máy đi ngược chiều trên phố Đinh Tiên Hoàng giờ cao điểm."
        assert single["agency_responsible"] == "UBND phường Hoàn Kiếm"
        assert not [word for word in PRIVATE_WORDS if word in json.dumps(single, ensure_ascii=False)]


async def test_odd_input_gets_a_clear_refusal_never_a_server_error(runtime: Runtime, client: AsyncClient,
                                                                   client_as) -> None:  # type: ignore[no-untyped-def]
    scene = await make_scene(runtime, client_as)
    _, key = await make_api_key(runtime, scene)
    gets = {
        "/requests/PA%00.json": 400, "/services/%00.xml": 400, "/services/" + "x" * 5000 + ".json": 400,
        "/requests.json?page=99999999999999999999": 400, "/requests.json?start_date=9999-12-31T23:59:59-14:00": 400,
        "/requests.json?start_date=2026-01-01T00:00:00%2B25:00": 400, "/requests.xml?status=%00": 400,
        "/requests/%FF%FE.xml": 404, "/requests..json": 404, "/.json": 404, "/requests.": 404,
        "/requests.json?service_request_id=" + ",".join(["PA-2026-000001"] * 1001): 400,
    }
    for path, status in gets.items():
        response = await client.get(BASE + path)
        assert response.status_code == status, (path, response.text)
    form = {"content-type": "application/x-www-form-urlencoded"}
    fields = f"api_key={key}&service_code=flooding&lat=21.0285&long=105.8522&description=Ngập sâu cả con phố"
    posts = [
        (b"\xff\xfe", form, 400),  # not UTF-8
        (f"{fields}&attribute[%00]=1".encode(), form, 400),
        (f"{fields}&attribute[depth_cm]=1e999".encode(), form, 400),
        (f"{fields}&attribute[depth_cm][]=1&attribute[depth_cm][]=2".encode(), form, 400),
        (f"{fields}&lat=1e400".encode(), form, 400),
        ("&".join(["a=1"] * 300).encode(), form, 400),
        (b"whatever", {"content-type": "multipart/form-data"}, 400),  # no boundary
        (b"", {"content-type": "text/plain"}, 400),
    ]
    for body, headers, status in posts:
        response = await client.post(f"{BASE}/requests.xml", content=body, headers=headers)
        assert_open311_error(response, status, "xml")
    not_an_image = await client.post(f"{BASE}/requests.json", files={"photo": ("x.jpg", b"no image", "image/jpeg")},
                                     data={"api_key": key, "service_code": "waste", "lat": str(LAT), "long": str(LON),
                                           "description": "Rác thải đổ trộm ven hồ."})
    assert "image" in assert_open311_error(not_an_image, 400)
    assert await count_reports(runtime) == 0
