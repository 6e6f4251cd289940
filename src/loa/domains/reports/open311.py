"""Open311 GeoReport v2 at `/open311/v2`: the report categories as services, public reports as service
requests, and report submission by integrations holding an account's API token (scope "reports").

Every resource comes as `.xml` (mandatory in the standard) and `.json` (the "Spark convention": the XML's
list wrappers become arrays). Errors keep the standard's shape in both formats, with its statuses: 404 for
an unknown service, request, token or resource, 403 for a missing or invalid `api_key`, 400 for anything
else. Parameters are read by hand from the raw query and form, so no input reaches FastAPI's own (JSON)
validation errors. Only public-visible reports are shown, without their reporter, the location rounded as
the category asks. docs/open311.md is the integrator's page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import xmltodict
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import ApiToken
from loa.domains.geo import service as geo
from loa.domains.reports import service
from loa.domains.reports.models import Report, ReportCategory, ReportEvent, ReportPhoto
from loa.kit.auth import _token_principal
from loa.kit.errors import AppError, Forbidden, NotFound, TooMany, Unauthorized
from loa.kit.images import MAX_UPLOAD_BYTES, TooLarge
from loa.kit.phone import normalize_phone
from loa.kit.storage import media_storage
from loa.kit.text import clean_line
from loa.kit.worktime import VN

if TYPE_CHECKING:
    from loa.runtime import Runtime

router = APIRouter()

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this surface last changed (discovery's sortable `changeset`; validators want it parseable and past).
CHANGESET = "2026-11-28T00:00:00Z"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_SPAN = timedelta(days=90)  # the standard's longest start_date..end_date
MAX_REQUESTS = 1000  # the standard's default volume, and our largest page
MAX_LIST_ITEMS = 1000  # codes in a comma list
MAX_LIST_CHARS = 32 * MAX_LIST_ITEMS
MAX_PAGE = 100_000
MAX_FORM_BYTES = 256 * 1024  # 4,000 Vietnamese characters percent-encoded are ~36 KB
MAX_MULTIPART_BYTES = service.MAX_PHOTOS * MAX_UPLOAD_BYTES + MAX_FORM_BYTES  # photos come along (FixMyStreet)
MAX_FIELDS = 200
MAX_PARAM = 300  # any single query or form value but the description
SUBMIT_LIMIT = "600/minute"  # submissions per API token: an integration's burst, not a flood
METRES_PER_DEGREE = 111_320
# Spark convention: an XML list element and the name of its items.
XML_ITEMS = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
             "endpoints": "endpoint", "formats": "format", "errors": "error"}
# Characters XML 1.0 cannot carry at all: dropped from text on the way out.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# NUL reaches no database (PostgreSQL refuses it in text and JSON); other C0 controls are no text either.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# "…T00:00:00+07:00" sent unencoded in a query arrives with a space for the "+".
_LOST_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}T[\d:.]+) (\d{2}:?\d{2})$")
_COMMUNE_CODE = re.compile(r"^[0-9]{5}$")  # ASCII digits only (\d takes any script's)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")

DATATYPE_HELP = {
    "string": "Một dòng chữ / One line of text",
    "text": "Một đoạn văn / A paragraph of text",
    "number": "Một số, ví dụ 30 / A number, e.g. 30",
    "datetime": "Ngày giờ có múi giờ, ví dụ 2026-01-31T08:00:00+07:00 / A date and time with its zone",
    "singlevaluelist": "Chọn một giá trị trong danh sách / One of the listed values",
    "multivaluelist": "Chọn một hoặc nhiều giá trị trong danh sách / One or more of the listed values",
}
UNKNOWN_RESOURCE = "Không có tài nguyên này / No such resource"
NO_TOKENS = ("Không có mã chờ (token) nào: mọi dịch vụ ở đây là realtime, phản ánh được cấp service_request_id ngay "
             "khi gửi / No such token: every service here is realtime, a request gets its service_request_id at "
             "once")
NEEDS_KEY = "Cần api_key (khóa API của tài khoản, phạm vi “reports”) / An api_key is required (an account's API " \
            "token with the “reports” scope)"
BAD_KEY = "api_key không hợp lệ, đã hết hạn hoặc đã bị thu hồi / The api_key is invalid, expired or revoked"
NEEDS_LOCATION = ("Cần tọa độ lat và long, hoặc address_string kèm mã xã/phường commune_code (5 chữ số): Loa định "
                  "tuyến phản ánh theo xã/phường và không tra được địa chỉ chữ / Send lat and long, or "
                  "address_string with the commune's code in commune_code (5 digits): Loa routes a report by its "
                  "commune and cannot look up a written address")
KEY_SERVICE = ("Khóa API (api_key) do chủ sở hữu hoặc quản trị viên của tài khoản cơ quan tạo trong trang quản trị, "
               "với phạm vi “reports” / An api_key is an account's API token with the “reports” scope, created by "
               "the account's owner or an admin in the console")


class Open311Error(Exception):
    """A refusal in the standard's terms: an HTTP status and a description for people (Vietnamese / English)."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers


def bad_request(description: str) -> Open311Error:
    return Open311Error(400, description)


# --- rendering -------------------------------------------------------------------------------------------


def _xml_value(name: str, value: Any) -> Any:
    """The xmltodict shape of a JSON value: a list named `services` becomes `<services><service>…`."""
    if isinstance(value, list):
        item = XML_ITEMS[name]
        return {item: [_xml_value(item, element) for element in value]}
    if isinstance(value, dict):
        return {key: _xml_value(key, element) for key, element in value.items()}
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value  # None → an empty element, booleans → true/false, numbers as written


def render(fmt: str, root: str, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if fmt == "json":
        body = orjson.dumps(data)
    else:
        body = xmltodict.unparse({root: _xml_value(root, data)}, encoding="utf-8").encode("utf-8")
    return Response(body, status_code=status, media_type=CONTENT_TYPES[fmt], headers=headers)


def render_error(fmt: str, error: Open311Error) -> Response:
    return render(fmt, "errors", [{"code": error.status, "description": error.description}], error.status,
                  error.headers)


def from_app_error(exc: AppError) -> Open311Error:
    """Loa's refusals in the standard's statuses; the description is Loa's own Vietnamese / English message."""
    if isinstance(exc, Unauthorized | Forbidden):
        return Open311Error(403, BAD_KEY if exc.code in ("invalid_token", "unauthorized") else exc.message)
    if isinstance(exc, NotFound) and exc.code in ("unknown_category", "report_not_found"):
        return Open311Error(404, exc.message)
    if isinstance(exc, TooMany):
        return Open311Error(429, exc.message, {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, TooLarge):
        return Open311Error(413, exc.message)
    return Open311Error(400, exc.message)


async def _respond(fmt: str, produce: Callable[[str], Awaitable[tuple[str, Any]]]) -> Response:
    """Run a resource in the asked format; an unknown format is answered in XML, the mandatory one."""
    if fmt not in CONTENT_TYPES:
        return render_error("xml", Open311Error(404, f"Định dạng không hỗ trợ: .{fmt[:20]} (chỉ .xml và .json) / "
                                                     "Unsupported format (only .xml and .json)"))
    try:
        root, data = await produce(fmt)
    except Open311Error as exc:
        return render_error(fmt, exc)
    except AppError as exc:
        return render_error(fmt, from_app_error(exc))
    return render(fmt, root, data)


# --- reading parameters ----------------------------------------------------------------------------------


def _text_param(name: str, value: str, limit: int = MAX_PARAM) -> str:
    if len(value) > limit:
        raise bad_request(f"{name} dài quá {limit} ký tự / {name} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise bad_request(f"{name} chứa ký tự điều khiển / {name} contains control characters")
    return value.strip()


def _query(request: Request, name: str, limit: int = MAX_PARAM) -> str | None:
    """A query parameter; an empty one counts as absent (the standard's rule)."""
    value = request.query_params.get(name)
    if value is None:
        return None
    return _text_param(name, value, limit) or None


def _comma_list(name: str, value: str | None) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise bad_request(f"{name}: tối đa {MAX_LIST_ITEMS} giá trị / at most {MAX_LIST_ITEMS} values")
    return items


def parse_time(name: str, raw: str) -> datetime:
    """A W3C datetime with its zone (a bare date is a day in Vietnam), as UTC."""
    text = raw.strip()
    lost_plus = _LOST_PLUS.match(text)
    if lost_plus:
        text = f"{lost_plus.group(1)}+{lost_plus.group(2)}"
    wrong = bad_request(f"{name} không phải ngày giờ W3C có múi giờ, ví dụ 2026-01-31T00:00:00Z / {name} is not a "
                        "W3C datetime with a time zone, e.g. 2026-01-31T00:00:00Z")
    try:
        if _DATE_ONLY.match(text):
            return datetime.combine(date.fromisoformat(text), time(), VN).astimezone(UTC)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise wrong
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise wrong from None


def _int_param(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise bad_request(f"{name} phải là số nguyên từ {low} đến {high} / {name} must be a whole number from "
                          f"{low} to {high}")
    return int(raw)


def period(start_raw: str | None, end_raw: str | None, now: datetime) -> tuple[datetime, datetime]:
    """start_date..end_date, at most 90 days; a missing end is 90 days after the start, a missing start 90 days
    before the end, and with neither: the last 90 days."""
    start = parse_time("start_date", start_raw) if start_raw else None
    end = parse_time("end_date", end_raw) if end_raw else None
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    if end is None:
        return start, start + MAX_SPAN
    if end < start:
        raise bad_request("end_date trước start_date / end_date is before start_date")
    if end - start > MAX_SPAN:
        raise bad_request("Khoảng start_date..end_date dài quá 90 ngày / start_date..end_date spans more than "
                          "90 days")
    return start, end


def _statuses(raw: str | None) -> set[str]:
    statuses = {item.lower() for item in _comma_list("status", raw)}
    if statuses - {"open", "closed"}:
        raise bad_request("status chỉ nhận open, closed (có thể cách nhau bằng dấu phẩy) / status takes open, "
                          "closed (comma-separated)")
    return statuses


# --- what is shown publicly ------------------------------------------------------------------------------


def w3c(moment: datetime | None) -> str | None:
    """UTC with a `Z`: every validator, old ones included, reads it."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_point(latitude: float, longitude: float, metres: int) -> tuple[float, float]:
    """The centre of the `metres`-wide grid cell the point falls in (0: the point itself). The grid is fixed, so
    reports at one place all show the same point, and nothing finer than the cell can be learnt from it."""
    if metres <= 0:
        return latitude, longitude
    lat_step = metres / METRES_PER_DEGREE
    lat_centre = (math.floor(latitude / lat_step) + 0.5) * lat_step
    lon_step = metres / (METRES_PER_DEGREE * math.cos(math.radians(lat_centre)))
    lon_centre = (math.floor(longitude / lon_step) + 0.5) * lon_step
    return round(lat_centre, 6), round(lon_centre, 6)


def open311_status(report: Report) -> str:
    """`open` while the report is being handled; resolved, closed, rejected and merged are `closed`."""
    return "open" if report.open else "closed"


def _base_url(request: Request) -> str:
    public_url = request.app.state.runtime.settings.public_url
    return (public_url or str(request.base_url)).rstrip("/")


def _english(request: Request) -> bool:
    """Names and labels in English when the client's first language is English (Vietnamese otherwise)."""
    first = request.headers.get("accept-language", "").split(",", 1)[0].strip().lower()
    return first.startswith("en")


@dataclass
class _Context:
    """What the request views of a page of reports need, read in a few queries for the whole page."""

    categories: dict[int, ReportCategory]
    accounts: dict[int, str] = field(default_factory=dict)
    photos: dict[int, int] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)
    communes: dict[str, str] = field(default_factory=dict)


async def _categories(session: AsyncSession) -> dict[int, ReportCategory]:
    # Disabled categories too: their reports are still shown.
    return {category.id: category for category in (await session.scalars(select(ReportCategory))).all()}


async def _context(session: AsyncSession, reports: list[Report]) -> _Context:
    context = _Context(await _categories(session))
    if not reports:
        return context
    ids = [report.id for report in reports]
    context.accounts = await accounts.account_names(session, (report.account_id for report in reports))
    context.photos = dict((await session.execute(
        select(ReportPhoto.report_id, func.min(ReportPhoto.id)).where(ReportPhoto.report_id.in_(ids))
        .group_by(ReportPhoto.report_id))).all())
    # The agency's latest public word on each report (who wrote it is never shown).
    latest = (select(func.max(ReportEvent.id)).where(
        ReportEvent.report_id.in_(ids), ReportEvent.public.is_(True), ReportEvent.actor == "staff",
        ReportEvent.note != "").group_by(ReportEvent.report_id))
    context.notes = dict((await session.execute(
        select(ReportEvent.report_id, ReportEvent.note).where(ReportEvent.id.in_(latest)))).all())
    codes = sorted({report.commune_code for report in reports if report.commune_code})
    units = await geo.get_units(session, "commune", codes)
    context.communes = {code: ", ".join(part for part in (unit.name, unit.province_name) if part)
                        for code, unit in units.items()}
    return context


def request_view(report: Report, context: _Context, base_url: str, *, english: bool = False) -> dict[str, Any]:
    """A report as an Open311 service request: no reporter, the location rounded as its category asks."""
    category = context.categories[report.category_id]
    rounding = category.public_rounding_m
    latitude = longitude = None
    if report.latitude is not None and report.longitude is not None:
        latitude, longitude = public_point(report.latitude, report.longitude, rounding)
    commune = context.communes.get(report.commune_code or "")
    # A street address would undo the rounding: a rounded category shows only its commune.
    address = report.address if rounding <= 0 and report.address else commune
    resolved = report.status in ("resolved", "closed") and report.answer
    closed = not report.open
    photo = context.photos.get(report.id)
    return {
        "service_request_id": report.code,
        "status": open311_status(report),
        "status_notes": report.answer if resolved else context.notes.get(report.id),
        "service_name": category.name_en if english else category.name,
        "service_code": category.code,
        "description": report.description,
        "agency_responsible": context.accounts.get(report.account_id),
        "service_notice": None,
        "requested_datetime": w3c(report.created_at),
        # Closed: when the handling ended (the answer), else the last change.
        "updated_datetime": w3c((report.resolved_at or report.closed_at or report.updated_at) if closed
                                else report.updated_at),
        "expected_datetime": w3c(report.due_at),
        "address": address or None,
        "address_id": None,
        "zipcode": None,
        "lat": latitude,
        "long": longitude,
        "media_url": f"{base_url}/api/v1/reports/{report.id}/photos/{photo}" if photo else None,
    }


# --- discovery and services ------------------------------------------------------------------------------


async def _discovery(request: Request) -> tuple[str, Any]:
    settings = request.app.state.runtime.settings
    base = _base_url(request)
    return "discovery", {
        "changeset": CHANGESET,
        "contact": f"Quản trị viên của cổng Loa này / The operators of this Loa installation: {base}",
        "key_service": KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": f"{base}/open311/v2",
            "changeset": CHANGESET,
            "type": "production" if settings.is_production else "test",
            "formats": ["text/xml", "application/json"],
        }],
    }


def service_view(category: ReportCategory, *, english: bool = False) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name_en if english else category.name,
        "description": category.description or None,
        "metadata": bool(category.fields),
        "type": "realtime",
        "keywords": ",".join(category.keywords) or None,
        "group": category.category_group or None,
    }


def definition_view(category: ReportCategory, *, english: bool = False) -> dict[str, Any]:
    # The standard wants unique positive orders; operators' fields may share one, so they are renumbered.
    ordered = sorted(enumerate(category.fields), key=lambda item: (item[1].get("order") or 0, item[0]))
    return {"service_code": category.code, "attributes": [{
        "variable": True,
        "code": definition["code"],
        "datatype": definition["datatype"],
        "required": bool(definition.get("required")),
        "datatype_description": DATATYPE_HELP.get(definition["datatype"]),
        "order": position,
        "description": definition.get("label_en" if english else "label") or definition.get("label"),
        "values": [{"key": str(value["key"]), "name": str(value["name"])} for value in definition.get("values", [])],
    } for position, (_, definition) in enumerate(ordered, start=1)]}


async def _services(request: Request) -> tuple[str, Any]:
    async with request.app.state.runtime.read_session() as session:
        categories = await service.list_categories(session)
    english = _english(request)
    return "services", [service_view(category, english=english) for category in categories]


async def _definition(request: Request, service_code: str) -> tuple[str, Any]:
    code = _text_param("service_code", service_code)
    async with request.app.state.runtime.read_session() as session:
        category = await service.get_category(session, code)
    return "service_definition", definition_view(category, english=_english(request))


# --- reading requests ------------------------------------------------------------------------------------


async def _category_ids(session: AsyncSession, codes: list[str]) -> list[int]:
    found = dict((await session.execute(select(ReportCategory.code, ReportCategory.id)
                                        .where(ReportCategory.code.in_(codes)))).all())
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise Open311Error(404, f"Không có loại phản ánh (service_code) {unknown[0][:40]} / Unknown service_code")
    return list(found.values())


async def _requests(request: Request) -> tuple[str, Any]:
    ids = [code.upper() for code in _comma_list("service_request_id",
                                                _query(request, "service_request_id", MAX_LIST_CHARS))]
    query = select(Report).where(Report.public_visible.is_(True)).order_by(Report.id.desc())
    if ids:  # a list of ids overrides every other parameter
        query = query.where(Report.code.in_([code for code in ids if len(code) <= 20]))
        codes: list[str] = []
    else:
        codes = _comma_list("service_code", _query(request, "service_code", MAX_LIST_CHARS))
        statuses = _statuses(_query(request, "status"))
        start, end = period(_query(request, "start_date"), _query(request, "end_date"), utcnow())
        page = _int_param("page", _query(request, "page"), 1, 1, MAX_PAGE)
        page_size = _int_param("page_size", _query(request, "page_size"), MAX_REQUESTS, 1, MAX_REQUESTS)
        query = query.where(Report.created_at >= start, Report.created_at <= end)
        if statuses == {"open"}:
            query = query.where(Report.open.is_(True))
        elif statuses == {"closed"}:
            query = query.where(Report.open.is_(False))
        query = query.offset((page - 1) * page_size).limit(page_size)
    async with request.app.state.runtime.read_session() as session:
        if codes:
            query = query.where(Report.category_id.in_(await _category_ids(session, codes)))
        reports = list((await session.scalars(query)).all())
        context = await _context(session, reports)
    base, english = _base_url(request), _english(request)
    return "service_requests", [request_view(report, context, base, english=english) for report in reports]


async def _one_request(request: Request, service_request_id: str) -> tuple[str, Any]:
    code = _text_param("service_request_id", service_request_id).upper()
    async with request.app.state.runtime.read_session() as session:
        report = await session.scalar(select(Report).where(Report.code == code)) if len(code) <= 20 else None
        if report is None or not report.public_visible:  # a private report is as unknown as a missing one
            raise Open311Error(404, f"Không tìm thấy phản ánh {code[:20]} / Service request not found")
        context = await _context(session, [report])
    return "service_requests", [request_view(report, context, _base_url(request), english=_english(request))]


# --- submitting ------------------------------------------------------------------------------------------


@dataclass
class Form:
    """A POST body: its fields in order (repeats kept) and the files that came along."""

    fields: list[tuple[str, str]]
    files: list[service.Photo]

    def get(self, name: str) -> str | None:
        """The last non-empty value (an empty optional field counts as absent)."""
        values = [value for key, value in self.fields if key == name and value.strip()]
        return values[-1] if values else None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Open311Error(413, f"Nội dung gửi lên quá lớn (tối đa {limit // 1024} KB) / The request body is too "
                                f"large ({limit // 1024} KB at most)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Open311Error(413, f"Nội dung gửi lên quá lớn (tối đa {limit // 1024} KB) / The request body is "
                                    f"too large ({limit // 1024} KB at most)")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> Form:
    """The form, url-encoded (the standard) or multipart (FixMyStreet, when it sends photos)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    wrong_type = bad_request("Gửi dạng application/x-www-form-urlencoded / Send application/x-www-form-urlencoded")
    too_many = bad_request(f"Quá {MAX_FIELDS} trường / More than {MAX_FIELDS} fields")
    if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
        raise wrong_type
    if content_type != "multipart/form-data":
        body = await _read_body(request, MAX_FORM_BYTES)
        if body.count(b"&") >= MAX_FIELDS:
            raise too_many
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS,
                               errors="strict")
        except ValueError:  # not UTF-8
            raise wrong_type from None
        return Form(_check_names(fields), [])
    body = await _read_body(request, MAX_MULTIPART_BYTES)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        parsed = await Request(request.scope, replay).form(max_files=service.MAX_PHOTOS + 1, max_fields=MAX_FIELDS,
                                                           max_part_size=MAX_FORM_BYTES)
    except Exception as exc:  # starlette reports a malformed multipart body (or too many parts) in several ways
        raise bad_request("Nội dung multipart không hợp lệ / Malformed multipart body") from exc
    fields: list[tuple[str, str]] = []
    files: list[service.Photo] = []
    try:
        for key, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_UPLOAD_BYTES + 1)
                if data:
                    files.append(service.Photo(data, value.filename or ""))
            else:
                fields.append((key, value))
    finally:
        await parsed.close()
    return Form(_check_names(fields), files)


def _check_names(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    for key, _ in fields:
        _text_param("field name", key, 200)
    return fields


def attributes_of(form: Form) -> dict[str, Any]:
    """`attribute[CODE]=v` and `attribute[CODE][]=v1&attribute[CODE][]=v2` as the category's field values."""
    given: dict[str, tuple[bool, list[str]]] = {}
    for key, value in form.fields:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        code, many = match.group(1), match.group(2) is not None
        was_many, values = given.get(code, (False, []))
        given[code] = (was_many or many, [*values, _text_param(f"attribute[{code}]", value, 4000)])
    attributes: dict[str, Any] = {}
    for code, (many, values) in given.items():
        present = [value for value in values if value]
        if not present:
            continue  # empty counts as absent: a required one is then reported missing
        attributes[code] = present if many or len(present) > 1 else present[0]
    return attributes


def _coordinate(form: Form, name: str, low: float, high: float) -> float | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        value = float(_text_param(name, raw, 40))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise bad_request(f"{name} không phải tọa độ WGS84 hợp lệ / {name} is not a valid WGS84 coordinate")
    return value


def contact_of(form: Form) -> dict[str, str]:
    """How the agency can reach the reporter: staff only, never shown publicly."""
    contact: dict[str, str] = {}
    for name, limit in (("first_name", 100), ("last_name", 100), ("device_id", 200), ("account_id", 200)):
        raw = form.get(name)
        if raw is not None:
            contact[name] = clean_line(_text_param(name, raw, limit))
    email = form.get("email")
    if email is not None:
        email = _text_param("email", email, 254)
        if not _EMAIL.match(email):
            raise bad_request("email không hợp lệ / email is not a valid address")
        contact["email"] = email
    phone = form.get("phone")
    if phone is not None:
        contact["phone"] = normalize_phone(_text_param("phone", phone, 32))
    return contact


def _media_url(form: Form) -> str | None:
    raw = form.get("media_url")
    if raw is None:
        return None
    url = _text_param("media_url", raw, 500)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad_request("media_url phải là địa chỉ http(s) / media_url must be an http(s) URL")
    return url


async def _api_token(request: Request, form: Form) -> ApiToken:
    """The integration's token, from the form (the standard's example) or the query (older clients)."""
    raw = form.get("api_key") or request.query_params.get("api_key") or ""
    if not raw.strip():
        raise Open311Error(403, NEEDS_KEY)
    principal = await _token_principal(request, raw.strip(), "reports")
    assert principal.api_token is not None
    return principal.api_token


def _location(form: Form, attributes: dict[str, Any],
              category: ReportCategory) -> tuple[float | None, float | None, str | None, str | None]:
    latitude = _coordinate(form, "lat", -90, 90)
    longitude = _coordinate(form, "long", -180, 180)
    if (latitude is None) != (longitude is None):
        raise bad_request("Cần cả lat và long / Both lat and long are needed")
    address = form.get("address_string")
    address = clean_line(_text_param("address_string", address)) if address is not None else None
    commune_code = form.get("commune_code")
    # Loa's extension may also come as an attribute, for clients that send only attributes.
    if "commune_code" not in {definition["code"] for definition in category.fields}:
        from_attribute = attributes.pop("commune_code", None)
        commune_code = commune_code or (from_attribute if isinstance(from_attribute, str) else None)
    if latitude is None:
        if not address or not commune_code:
            raise bad_request(NEEDS_LOCATION)
        if not _COMMUNE_CODE.match(commune_code.strip()):
            raise bad_request("commune_code là mã xã/phường 5 chữ số / commune_code is a 5-digit commune code")
        return None, None, address, commune_code.strip()
    return latitude, longitude, address, None


async def _create(request: Request) -> tuple[str, Any]:
    runtime: Runtime = request.app.state.runtime
    form = await read_form(request)
    token = await _api_token(request, form)  # first: a caller without a key learns nothing else
    await runtime.limiter.hit("open311_submit", f"token:{token.id}", SUBMIT_LIMIT)
    service_code = form.get("service_code")
    if service_code is None:
        raise bad_request("Cần service_code / service_code is required")
    service_code = _text_param("service_code", service_code)
    async with runtime.read_session() as session:
        category = await service.get_category(session, service_code)  # unknown: 404 before anything else
    attributes = attributes_of(form)
    latitude, longitude, address, commune_code = _location(form, attributes, category)
    # Only control characters are refused here: the length rule and its message are the service's.
    description = _text_param("description", form.get("description") or "", MAX_FORM_BYTES)
    contact = contact_of(form)
    # Never fetched (another site's photo would keep its EXIF/GPS and could be anything): kept for the staff.
    media_url = _media_url(form)
    if media_url:
        contact["media_url"] = media_url
    contact["submitted_via"] = f"open311:{token.prefix}"
    storage = media_storage(runtime.settings) if form.files else None
    report = await service.submit(
        runtime, reporter=None, category_code=category.code, description=description, fields=attributes,
        latitude=latitude, longitude=longitude, address=address, commune_code=commune_code, source="open311",
        reporter_contact=contact, photos=form.files, storage=storage)
    async with runtime.read_session() as session:
        agency = (await accounts.account_names(session, [report.account_id])).get(report.account_id, "")
    due = report.due_at.astimezone(VN).strftime("%H:%M %d/%m/%Y")
    notice = (f"Đã chuyển đến {agency}, hạn xử lý {due} (giờ Việt Nam) / Sent to {agency}, to be handled by "
              f"{w3c(report.due_at)}")
    return "service_requests", [{"service_request_id": report.code, "service_notice": notice,
                                 "account_id": contact.get("account_id")}]


# --- routes ----------------------------------------------------------------------------------------------


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _discovery(request))


@router.get("/services.{fmt}")
async def services(request: Request, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _services(request))


@router.get("/services/{service_code}.{fmt}")
async def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _definition(request, service_code))


@router.get("/requests.{fmt}")
async def list_requests(request: Request, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _requests(request))


@router.post("/requests.{fmt}")
async def create_request(request: Request, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _create(request))


@router.get("/requests/{service_request_id}.{fmt}")
async def one_request(request: Request, service_request_id: str, fmt: str) -> Response:
    return await _respond(fmt, lambda _: _one_request(request, service_request_id))


@router.get("/tokens/{token}.{fmt}")
async def token_lookup(request: Request, token: str, fmt: str) -> Response:
    async def lookup(_: str) -> tuple[str, Any]:
        raise Open311Error(404, NO_TOKENS)  # realtime services only: no request ever waits for an id

    return await _respond(fmt, lookup)


def _allowed_methods(path: str) -> set[str]:
    """The methods of our routes whose path matches `path` (relative to /open311/v2): a wrong method is a 405,
    not an unknown resource."""
    allowed: set[str] = set()
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is not unknown_resource and route.path_regex.match(path):
            allowed |= route.methods or set()
    return allowed


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def unknown_resource(request: Request, rest: str) -> Response:
    """Anything else under /open311/v2 is refused in the standard's shape too."""
    fmt = "json" if rest.endswith(".json") else "xml"
    allowed = _allowed_methods(f"/{rest}")
    if allowed:
        return render_error(fmt, Open311Error(405, "Phương thức không được hỗ trợ / Method not allowed",
                                              {"Allow": ", ".join(sorted(allowed))}))
    return render_error(fmt, Open311Error(404, UNKNOWN_RESOURCE))
