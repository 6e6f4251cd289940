"""The citizen pages over HTTP, without a browser: what each form refuses, said next to the field in the reader's
language with what was typed kept; what is stored (or not); fragments for htmx and whole pages for plain forms."""

from __future__ import annotations

import io
import re

import pytest
from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from tests.factories import BA_DINH, HANOI, HCMC, make_account, make_user

from loa.domains.accounts.models import Account
from loa.domains.follows import service as follows
from loa.domains.people.models import Consent, User
from loa.domains.reports import service as reports
from loa.domains.reports.models import Report
from loa.kit.effects import commit
from loa.runtime import Runtime
from loa.settings import Settings

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
HTMX = {**BROWSER, "HX-Request": "true"}
NEAR_BA_DINH = {"latitude": "21.0386", "longitude": "105.8380"}


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def results(html: str) -> str:
    """The results of the discover page (its filters name kinds and places too)."""
    return html.split('id="results"', 1)[1]


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}-error"><span class="visually-hidden">[^<]*</span>([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1).strip()


# --- discover and accounts ---------------------------------------------------------------------------------


async def test_discover_searches_folded_and_narrows_by_place_and_kind(client: AsyncClient, runtime: Runtime) -> None:
    await make_account(runtime, name="Bộ Y tế", kind="ministry")
    await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)
    await make_account(runtime, name="UBND Phường Sài Gòn", kind="commune_committee", province=HCMC, commune="26740")
    await make_account(runtime, name="Công ty Nước sạch", kind="water", verified=False)

    page = await client.get("/accounts", params={"q": "bo y te"}, headers=BROWSER)
    assert page.status_code == 200 and "Bộ Y tế" in results(page.text) and "UBND" not in results(page.text)

    hcmc = await client.get("/accounts", params={"province": HCMC}, headers=BROWSER)
    assert "UBND Phường Sài Gòn" in results(hcmc.text) and "Ba Đình" not in results(hcmc.text)
    # A commune of another province than the one chosen is dropped, not an empty result.
    mixed = await client.get("/accounts", params={"province": HCMC, "commune": BA_DINH}, headers=BROWSER)
    assert "UBND Phường Sài Gòn" in results(mixed.text)
    kind = await client.get("/accounts", params={"kind": "commune_committee", "province": HANOI}, headers=BROWSER)
    assert "UBND Phường Ba Đình" in results(kind.text) and "Bộ Y tế" not in results(kind.text)

    assert "Công ty Nước sạch" not in results((await client.get("/accounts", headers=BROWSER)).text)
    everyone = await client.get("/accounts", params={"all": "1", "kind": "water"}, headers=BROWSER)
    assert "Công ty Nước sạch" in results(everyone.text) and "chưa xác minh" in results(everyone.text)

    # As the citizen types, htmx gets the results alone.
    fragment = await client.get("/accounts", params={"q": "ba dinh"}, headers={**HTMX, "HX-Target": "results"})
    assert "<html" not in fragment.text and "UBND Phường Ba Đình" in fragment.text

    overlong = await client.get("/accounts", params={"q": "y" * 250}, headers=BROWSER)
    assert overlong.status_code == 422 and "tối đa 200 ký tự" in overlong.text and "y" * 250 in overlong.text


async def test_an_account_page_shows_hours_and_contacts_and_an_unknown_one_is_a_404_page(
        client: AsyncClient, runtime: Runtime) -> None:
    hours = [{"days": "mon-fri", "open": "07:30", "close": "17:00"},
             {"weekday": 5, "opens": "08:00", "closes": "11:00"}]
    account = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH,
                                 office_hours=hours, contacts={"phone": "024 3823 4567",
                                                               "website": "javascript:alert(1)"})
    page = await client.get(f"/a/{account.handle}", headers=BROWSER)
    assert "Thứ Hai – Thứ Sáu: 07:30–17:00" in page.text and "Thứ Bảy: 08:00–11:00" in page.text
    assert 'href="tel:02438234567"' in page.text
    assert 'href="javascript:' not in page.text  # shown as text, never as a link
    missing = await client.get("/a/khong-co-tai-khoan-nay", headers=BROWSER)
    assert missing.status_code == 404 and "Không tìm thấy" in missing.text


async def test_follow_forms_work_without_scripts(client: AsyncClient, runtime: Runtime, client_as) -> None:
    account = await make_account(runtime, name="Trạm Y tế phường Ba Đình", kind="hospital", commune=BA_DINH)
    visitor = await client.post(f"/a/{account.handle}/follow", headers=BROWSER)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")

    citizen = await client_as(await make_user(runtime, name="Lê Văn Nam"))
    followed = await citizen.post(f"/a/{account.handle}/follow", headers=BROWSER)
    assert followed.status_code == 303 and followed.headers["location"] == f"/a/{account.handle}"
    page = await citizen.get(f"/a/{account.handle}", headers=BROWSER)
    assert "Bạn đang theo dõi tài khoản này" in page.text and "1 người theo dõi" in page.text
    await citizen.post(f"/a/{account.handle}/unfollow", headers=BROWSER)
    async with runtime.read_session() as session:
        assert (await session.get(Account, account.id)).follower_count == 0  # type: ignore[union-attr]


# --- conversations --------------------------------------------------------------------------------------------


async def test_a_message_is_sent_and_htmx_gets_a_fresh_composer(runtime: Runtime, client_as) -> None:
    account = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)
    citizen = await client_as(await make_user(runtime))
    empty = await citizen.post(f"/a/{account.handle}/messages", data={"text": "  "}, headers=BROWSER)
    assert empty.status_code == 422 and field_error(empty.text, "text") == "Tin nhắn không được để trống"

    sent = await citizen.post(f"/a/{account.handle}/messages", data={"text": "Xin chào phường"}, headers=HTMX)
    assert sent.status_code == 200 and sent.headers["hx-trigger"] == "loa:chat"
    assert "<html" not in sent.text and 'id="composer"' in sent.text
    page = await citizen.get(f"/a/{account.handle}/messages", headers=BROWSER)
    assert "Xin chào phường" in page.text

    plain = await citizen.post(f"/a/{account.handle}/messages", data={"text": "Lần nữa"}, headers=BROWSER)
    assert plain.status_code == 303 and plain.headers["location"].startswith(f"/a/{account.handle}/messages")


async def test_uploads_too_big_or_of_a_wrong_kind_are_refused_next_to_the_file(runtime: Runtime, client_as) -> None:
    account = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)
    citizen = await client_as(await make_user(runtime))
    url = f"/a/{account.handle}/messages/upload"
    big = await citizen.post(url, data={"caption": "Ảnh to"}, headers=BROWSER,
                             files={"file": ("to.pdf", b"%PDF-1.4" + b"0" * (20 * 1024 * 1024), "application/pdf")})
    assert big.status_code == 413 and "Tệp quá lớn (tối đa 20 MB)" in field_error(big.text, "file")
    assert 'value="Ảnh to"' in big.text
    wrong = await citizen.post(url, headers=BROWSER, files={"file": ("a.exe", b"MZ" + b"\0" * 100, "x/y")})
    assert wrong.status_code == 422 and field_error(wrong.text, "file").startswith("Chỉ nhận tệp .pdf")
    none = await citizen.post(url, headers=BROWSER, data={"caption": "x"})
    assert none.status_code == 422 and field_error(none.text, "file") == "Hãy chọn ảnh hoặc tài liệu để gửi."
    citizen.cookies.set("lang", "en")
    english = await citizen.post(url, headers=BROWSER, files={"file": ("a.exe", b"MZ" + b"\0" * 100, "x/y")})
    assert field_error(english.text, "file").startswith("Only .pdf")
    photo = await citizen.post(url, headers=HTMX, files={"file": ("anh.jpg", jpeg(), "image/jpeg")})
    assert photo.status_code == 200
    page = await citizen.get(f"/a/{account.handle}/messages", headers=BROWSER)
    assert re.search(r'<img src="/api/v1/messages/\d+/thumbnail"', page.text)


async def test_a_blocked_citizen_is_told_and_nothing_is_sent(runtime: Runtime, client_as) -> None:
    owner = await make_user(runtime, name="Chủ tài khoản")
    account = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH,
                                 owner=owner)
    person = await make_user(runtime)
    citizen = await client_as(person)
    await citizen.post(f"/a/{account.handle}/messages", data={"text": "Câu hỏi đầu tiên"}, headers=BROWSER)
    async with runtime.session() as session:
        await follows.block_follower(session, account_id=account.id, actor=owner, user_id=person.id)
        await commit(session)
    refused = await citizen.post(f"/a/{account.handle}/messages", data={"text": "Câu hỏi thứ hai"}, headers=HTMX)
    assert refused.status_code == 403 and "Tài khoản này đã chặn bạn" in refused.text
    assert "Câu hỏi thứ hai" in refused.text  # what was typed, kept


class TestWritingTooFast:
    @pytest.fixture
    def settings(self, base_settings: Settings) -> Settings:
        return base_settings.model_copy(update={"message_limit_per_citizen": "1/minute"})

    async def test_the_rate_limit_is_said_for_the_whole_form(self, runtime: Runtime, client_as) -> None:
        account = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)
        citizen = await client_as(await make_user(runtime))
        await citizen.post(f"/a/{account.handle}/messages", data={"text": "Một"}, headers=BROWSER)
        again = await citizen.post(f"/a/{account.handle}/messages", data={"text": "Hai"}, headers=BROWSER)
        assert again.status_code == 429 and 1 <= int(again.headers["retry-after"]) <= 60
        assert "Bạn đã thử quá nhiều lần" in again.text and ">Hai</textarea>" in again.text


# --- reports --------------------------------------------------------------------------------------------------


async def _committee(runtime: Runtime) -> Account:
    return await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)


async def test_the_report_preview_says_every_problem_at_once_and_stores_nothing(runtime: Runtime, client_as) -> None:
    await _committee(runtime)
    citizen = await client_as(await make_user(runtime))
    bad = await citizen.post("/reports/new", headers=BROWSER, data={
        "category": "school", "description": "ngắn", "step": "preview", "title": "Học phí"})
    assert bad.status_code == 422
    assert field_error(bad.text, "description") == "Mô tả cần ít nhất 10 ký tự"
    assert field_error(bad.text, "field_school_name") == "Cần điền “Tên trường”"
    assert field_error(bad.text, "latitude").startswith("Hãy đặt ghim trên bản đồ")
    assert 'value="Học phí"' in bad.text and ">ngắn</textarea>" in bad.text

    outside = await citizen.post("/reports/new", headers=BROWSER, data={
        "category": "waste", "description": "Rác đổ trộm ven đường nhiều ngày.", "step": "preview",
        "latitude": "48.85", "longitude": "2.35"})
    assert "ngoài lãnh thổ Việt Nam" in field_error(outside.text, "latitude")

    good = await citizen.post("/reports/new", headers=BROWSER, data={
        "category": "waste", "description": "Rác đổ trộm ven đường nhiều ngày.", "step": "preview", **NEAR_BA_DINH},
        files={"photos": ("rac.jpg", jpeg(), "image/jpeg")})
    assert good.status_code == 200 and "Xem lại phản ánh" in good.text
    assert "UBND Phường Ba Đình" in good.text and "3 ngày làm việc" in good.text
    assert 'src="data:image/jpeg;base64,' in good.text  # the photo, shown without being stored
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0


async def test_a_wrong_preview_from_htmx_swaps_the_form_back_in_place(runtime: Runtime, client_as) -> None:
    citizen = await client_as(await make_user(runtime))
    answer = await citizen.post("/reports/new", headers={**HTMX, "HX-Target": "report-preview"},
                                data={"category": "waste", "description": "ngắn", "step": "preview"})
    assert answer.status_code == 422 and answer.headers["hx-retarget"] == "#report-edit"
    assert answer.text.lstrip().startswith('<div id="report-edit"') and 'hx-swap-oob="true"' in answer.text


async def test_a_report_is_sent_with_its_tracking_code_and_rated_once_resolved(runtime: Runtime, client_as) -> None:
    committee_owner = await make_user(runtime, name="Chủ tịch phường")
    committee = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH,
                                   owner=committee_owner)
    person = await make_user(runtime)
    citizen = await client_as(person)
    sent = await citizen.post("/reports/new", headers=BROWSER, data={
        "category": "road_damage", "description": "Ổ gà sâu trước số 120 Đội Cấn.", "step": "submit",
        "field_size": "large", "field_danger": "yes", "public": "1", **NEAR_BA_DINH})
    assert sent.status_code == 303 and sent.headers["location"].endswith("?sent=1")
    page = await citizen.get(sent.headers["location"], headers=BROWSER)
    code = re.search(r'class="code code--big">(PA-\d{4}-\d{6})<', page.text)
    assert code and "UBND Phường Ba Đình" in page.text and "Lớn" in page.text
    report_id = int(sent.headers["location"].split("/")[3].split("?")[0])
    assert code.group(1) in (await citizen.get("/me/reports", headers=BROWSER)).text
    assert committee.name in page.text

    early = await citizen.post(f"/me/reports/{report_id}/rating", headers=BROWSER, data={"rating": "5"})
    assert early.status_code == 409 and re.search(r'role="alert">Chỉ đánh giá được khi đã có kết quả', early.text)
    for action, extra in (("accept", {}), ("assign", {"assignee_id": committee_owner.id}), ("start", {}),
                          ("resolve", {"note": "Đã vá ổ gà."})):
        await reports.act(runtime, actor=committee_owner, report_id=report_id, action_name=action, **extra)
    wrong = await citizen.post(f"/me/reports/{report_id}/rating", headers=BROWSER,
                               data={"rating": "7", "comment": "Nhanh"})
    assert wrong.status_code == 422 and field_error(wrong.text, "rating") == "Hãy chọn từ 1 đến 5 sao."
    assert ">Nhanh</textarea>" in wrong.text
    rated = await citizen.post(f"/me/reports/{report_id}/rating", headers=BROWSER, data={"rating": "5"})
    assert rated.status_code == 303
    assert 'aria-label="5 trên 5 sao"' in (await citizen.get(f"/me/reports/{report_id}", headers=BROWSER)).text

    other = await client_as(await make_user(runtime))
    assert (await other.get(f"/me/reports/{report_id}", headers=BROWSER)).status_code == 404


# --- settings -------------------------------------------------------------------------------------------------


async def test_home_commune_must_belong_to_the_chosen_province(runtime: Runtime, client_as) -> None:
    person = await make_user(runtime)
    citizen = await client_as(person)
    wrong = await citizen.post("/me/profile", headers=BROWSER, data={
        "display_name": "Hà Văn Dũng", "province": HCMC, "commune": BA_DINH})
    assert wrong.status_code == 422
    assert field_error(wrong.text, "commune") == "Hãy chọn một xã, phường thuộc tỉnh, thành phố đã chọn."
    assert 'value="Hà Văn Dũng"' in wrong.text and "Phường Sài Gòn" in wrong.text  # the province's communes to choose
    saved = await citizen.post("/me/profile", headers=BROWSER, data={
        "display_name": "Hà Văn Dũng", "province": HANOI, "commune": BA_DINH})
    assert saved.status_code == 303
    async with runtime.read_session() as session:
        user = await session.get(User, person.id)
        assert user is not None and user.home_commune_code == BA_DINH and user.display_name == "Hà Văn Dũng"


async def test_consents_record_only_what_changed(runtime: Runtime, client_as) -> None:
    person = await make_user(runtime)
    citizen = await client_as(person)
    await citizen.post("/me/consents", headers=BROWSER, data={"notifications": "1"})
    await citizen.post("/me/consents", headers=BROWSER, data={"notifications": "1", "location": "1"})
    async with runtime.read_session() as session:
        rows = (await session.execute(select(Consent.purpose, Consent.granted).where(Consent.user_id == person.id)
                                      .order_by(Consent.id))).all()
    assert [tuple(row) for row in rows] == [("notifications", True), ("location", True)]


async def test_export_and_deletion_of_my_data(runtime: Runtime, client_as) -> None:
    person = await make_user(runtime, name="Vũ Thị Hoa")
    citizen = await client_as(person)
    export = await citizen.post("/me/export", headers=BROWSER)
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert export.json()["profile"]["display_name"] == "Vũ Thị Hoa"

    unconfirmed = await citizen.post("/me/delete", headers=BROWSER, data={})
    assert unconfirmed.status_code == 422 and "Hãy đánh dấu ô xác nhận" in field_error(unconfirmed.text, "confirm")
    deleted = await citizen.post("/me/delete", headers=BROWSER, data={"confirm": "1"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/?deleted=1"
    async with runtime.read_session() as session:
        assert await session.get(User, person.id) is None


# --- maps and small pieces -------------------------------------------------------------------------------------


async def test_maps_fetch_no_tiles_unless_a_tile_server_is_set(client: AsyncClient, runtime: Runtime,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blank = await client.get("/reports/new", params={"category": "waste"}, headers=BROWSER)
    assert 'data-tiles=""' in blank.text and "map--blank" in blank.text and "Chưa có nền bản đồ" in blank.text
    monkeypatch.setattr(runtime.settings, "map_tile_url", "https://tiles.example.vn/{z}/{x}/{y}.png")
    tiled = await client.get("/reports/new", params={"category": "waste"}, headers=BROWSER)
    assert 'data-tiles="https://tiles.example.vn/{z}/{x}/{y}.png"' in tiled.text and "map--blank" not in tiled.text


async def test_places_for_selects_and_pins(client: AsyncClient) -> None:
    options = await client.get("/places/communes", params={"province": HANOI, "name": "commune"}, headers=HTMX)
    assert options.text.lstrip().startswith('<select') and "Phường Ba Đình" in options.text
    assert "disabled" in (await client.get("/places/communes", params={"province": "99"}, headers=HTMX)).text
    near = await client.get("/places/nearest", params={"lat": "21.0386", "lon": "105.838"}, headers=HTMX)
    assert "Gần Phường Ba Đình, Thành phố Hà Nội" in near.text
    far = await client.get("/places/nearest", params={"lat": "48.85", "lon": "2.35"}, headers=HTMX)
    assert "ngoài lãnh thổ Việt Nam" in far.text


async def test_the_service_worker_is_served_from_the_root(client: AsyncClient) -> None:
    worker = await client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert "showNotification" in worker.text and worker.headers["cache-control"] == "no-cache"
