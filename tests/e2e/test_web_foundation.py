"""The pieces under every page, checked over HTTP without a browser: where `next` may lead, the language
switch and formats, error pages for browsers and JSON for programs, CSRF on page forms, caching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from tests.factories import make_account

from loa.kit import i18n
from loa.runtime import Runtime
from loa.web.deps import safe_next

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize("value", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                                   "evil.example", "/me\r\nSet-Cookie: x=1", "", "/" + "a" * 3000])
def test_next_never_leads_off_the_site(value: str) -> None:
    assert safe_next(value) == "/"


def test_next_keeps_a_local_path_and_its_query() -> None:
    assert safe_next("/me?tab=follows") == "/me?tab=follows"
    assert safe_next("/console/accounts/12/inbox") == "/console/accounts/12/inbox"


def test_dates_and_numbers_are_written_the_vietnamese_or_the_english_way() -> None:
    when = datetime(2025, 7, 1, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội
    assert i18n.format_datetime(when, "vi") == "08:30 1 thg 7, 2025"
    assert i18n.format_datetime(when, "en") == "1 Jul 2025, 08:30"
    assert i18n.format_number(10_000_000, "vi") == "10.000.000"
    assert i18n.format_number(10_000_000, "en") == "10,000,000"
    assert i18n.format_timedelta(timedelta(days=3), "vi") == "3 ngày"
    assert i18n.pick("Mã xác thực không đúng / Wrong code", "en") == "Wrong code"
    assert i18n.pick("Mã xác thực không đúng / Wrong code", "vi") == "Mã xác thực không đúng"


async def test_the_language_switch_remembers_the_choice_and_goes_back(client: AsyncClient, runtime: Runtime) -> None:
    await make_account(runtime, name="Bộ Y tế", kind="ministry")
    switched = await client.get("/lang", params={"to": "en", "next": "/?q=bo+y+te"})
    assert switched.status_code == 303 and switched.headers["location"] == "/?q=bo+y+te"
    page = await client.get("/", params={"q": "bo y te"})
    assert '<html lang="en">' in page.text and "Find the official account of an agency" in page.text
    assert "Ministry" in page.text and page.headers["vary"] == "Cookie"
    away = await client.get("/lang", params={"to": "xx", "next": "https://evil.example"})
    assert away.headers["location"] == "/"
    assert '<html lang="vi">' in (await client.get("/")).text  # an unknown language is Vietnamese


async def test_browsers_get_error_pages_and_programs_keep_json(client: AsyncClient) -> None:
    page = await client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang" in page.text
    program = await client.get("/no-such-page")
    assert program.json()["error"]["code"] == "not_found"
    api = await client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


async def test_a_failure_in_a_page_is_a_page_without_a_stack_trace(app) -> None:  # type: ignore[no-untyped-def]
    @app.get("/test-only/broken-page")
    async def broken() -> None:
        raise RuntimeError("secret detail of the failure")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as browser:
        page = await browser.get("/test-only/broken-page", headers=BROWSER)
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Hệ thống đang gặp sự cố" in page.text
    assert "secret detail" not in page.text and "Traceback" not in page.text


async def test_a_page_for_signed_in_people_sends_browsers_to_sign_in(client: AsyncClient) -> None:
    response = await client.get("/me", params={"tab": "x"}, headers=BROWSER)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/me%3Ftab%3Dx"
    console = await client.get("/console", headers=BROWSER)
    assert console.headers["location"] == "/console/login?next=/console"
    htmx = await client.get("/me", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"] == "/login?next=/me"


async def test_page_forms_need_the_session_token(client: AsyncClient, sign_in, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    signed_in = await sign_in("0912 345 678")
    client.headers.pop("X-CSRF-Token")
    page = await client.get("/me", headers=BROWSER)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'name="csrf_token" value="{signed_in["csrf_token"]}"' in page.text  # the sign-out form carries it

    refused = await client.post("/logout", data={}, headers=BROWSER)
    assert refused.status_code == 403 and "Yêu cầu bị từ chối" in refused.text
    assert (await client.get("/me", headers=BROWSER)).status_code == 200  # still signed in

    out = await client.post("/logout", data={"csrf_token": signed_in["csrf_token"]}, headers=BROWSER)
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert (await client.get("/me", headers=BROWSER)).status_code == 303


async def test_a_sign_in_form_posted_from_another_site_is_refused(client: AsyncClient) -> None:
    for path, form in (("/login", {"phone": "0912345678"}), ("/console/login", {"email": "a@b.vn", "password": "x"})):
        forged = await client.post(path, data=form, headers={**BROWSER, "Sec-Fetch-Site": "cross-site"})
        assert forged.status_code == 403, path


async def test_an_overlong_search_keeps_the_text_and_says_why(client: AsyncClient) -> None:
    page = await client.get("/", params={"q": "y" * 250}, headers=BROWSER)
    assert page.status_code == 422
    assert "y" * 250 in page.text and "tối đa 200 ký tự" in page.text


async def test_static_files_are_cached_by_fingerprint(client: AsyncClient) -> None:
    home = await client.get("/")
    assert "/static/loa.css?v=" in home.text
    fingerprinted = await client.get("/static/vendor/htmx/htmx.min.js?v=abc")
    assert fingerprinted.status_code == 200 and "immutable" in fingerprinted.headers["cache-control"]
    plain = await client.get("/static/loa.css")
    assert plain.headers["cache-control"] == "public, max-age=3600"
    assert (await client.get("/static/../settings.py")).status_code == 404
