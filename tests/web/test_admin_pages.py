"""The operators' administration over HTTP (no browser): who may open it, what each page shows, and forms that
refuse bad input next to the field with what was typed kept, on the same services as the JSON API."""

from __future__ import annotations

import re
import uuid
from datetime import date

from httpx import AsyncClient
from sqlalchemy import select
from tests.factories import HANOI, make_account, make_user

from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.reports.models import CalendarDay, ReportCategory, RoutingRule
from loa.kit.effects import commit
from loa.kit.storage import media_storage
from loa.runtime import Runtime

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PAGES = ("/admin", "/admin/verification", "/admin/verification?view=decided", "/admin/accounts",
         "/admin/organisations", "/admin/categories", "/admin/categories/new", "/admin/categories/waste",
         "/admin/routing", "/admin/calendar", "/admin/calendar?year=2026")


async def operator_client(runtime: Runtime, client_as) -> AsyncClient:  # type: ignore[no-untyped-def]
    client: AsyncClient = await client_as(await make_user(runtime, name="Vận hành", email="op@loa.test", operator=True))
    client.headers.update(BROWSER)
    return client


async def pending_application(runtime: Runtime, name: str = "Trường THCS Nguyễn Du") -> tuple[Account, int]:
    """A new school with an application and a PDF, as its owner sends it."""
    owner = await make_user(runtime, name="Hiệu trưởng", email=f"owner-{abs(hash(name))}@loa.test")
    account = await make_account(runtime, name=name, kind="school", verified=False, owner=owner)
    async with runtime.session() as session:
        stored = await accounts.store_verification_document(media_storage(runtime.settings), account_id=account.id,
                                                            data=PDF, filename="quyet-dinh.pdf",
                                                            title="Quyết định thành lập trường")
        application = await accounts.apply_for_verification(
            session, account_id=account.id, user=owner, note="Đề nghị xác minh",
            documents=[stored, {"title": "Công văn đề nghị", "reference": "CV 12/THCS"}])
        await commit(session)
    return account, application.id


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_every_page_opens_for_an_operator_and_refuses_others(runtime: Runtime, client: AsyncClient,
                                                                    client_as) -> None:
    operator = await operator_client(runtime, client_as)
    for path in PAGES:
        page = await operator.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        assert "Quản trị nền tảng" in page.text
    citizen = await client_as(await make_user(runtime, name="Người dân"))
    staff = await make_user(runtime, name="Cán bộ", email="canbo@loa.test")
    await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", owner=staff)
    staff_client = await client_as(staff)
    for who in (citizen, staff_client):
        for path in PAGES:
            refused = await who.get(path, headers=BROWSER)
            assert refused.status_code == 403, path
            assert "Bạn không mở được trang này" in refused.text
    anonymous = await client.get("/admin/calendar", headers=BROWSER)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login?next=/admin/calendar"


async def test_approving_an_application_gives_the_badge_and_the_file_is_for_operators_only(
        runtime: Runtime, client: AsyncClient, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    account, application_id = await pending_application(runtime)
    queue = await operator.get("/admin/verification")
    assert account.name in queue.text and "Quyết định thành lập trường" in queue.text and "CV 12/THCS" in queue.text

    document = await operator.get(f"/admin/verification/{application_id}/documents/0")
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["content-type"] == "application/pdf"
    assert "sandbox" in document.headers["content-security-policy"]
    owner_client = await client_as(await make_user(runtime, name="Khác", email="other@loa.test"))
    assert (await owner_client.get(f"/admin/verification/{application_id}/documents/0",
                                   headers=BROWSER)).status_code == 403
    assert (await operator.get(f"/admin/verification/{application_id}/documents/1")).status_code == 404

    detail = await operator.get(f"/admin/verification/{application_id}")
    decided = await operator.post(f"/admin/verification/{application_id}/decision",
                                  data={"decision": "approve", "csrf_token": csrf(detail.text)})
    assert decided.status_code == 303
    after = await operator.get(decided.headers["location"])
    assert "Đã duyệt hồ sơ" in after.text
    public = await client.get("/", params={"q": "nguyen du"})
    assert account.name in public.text and "đã xác minh" in public.text
    history = await operator.get("/admin/verification?view=decided")
    assert account.name in history.text and "Đã duyệt" in history.text


async def test_a_rejection_needs_a_reason_shown_next_to_the_field(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    account, application_id = await pending_application(runtime, "Bệnh viện Đa khoa Sóc Sơn")
    detail = await operator.get(f"/admin/verification/{application_id}")
    token = csrf(detail.text)
    refused = await operator.post(f"/admin/verification/{application_id}/decision",
                                  data={"decision": "reject", "reason": "  ", "csrf_token": token})
    assert refused.status_code == 422
    assert 'id="f-reason-error"' in refused.text and "Từ chối cần nêu lý do" in refused.text
    async with runtime.read_session() as session:
        assert (await accounts.get_account(session, account.id)).verification_status == "pending"
    rejected = await operator.post(f"/admin/verification/{application_id}/decision",
                                   data={"decision": "reject", "reason": "Thiếu giấy ủy quyền", "csrf_token": token})
    assert rejected.status_code == 303
    again = await operator.post(f"/admin/verification/{application_id}/decision",
                                data={"decision": "approve", "csrf_token": token})
    assert again.status_code == 409 and "Hồ sơ đã được xử lý" in again.text


async def test_accounts_are_found_folded_with_their_state_and_staff(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    account, _ = await pending_application(runtime, "Trường Tiểu học Đống Đa")
    found = await operator.get("/admin/accounts", params={"q": "truong tieu hoc dong da", "status": "pending"})
    assert account.name in found.text and "Đang chờ duyệt" in found.text
    none = await operator.get("/admin/accounts", params={"q": "truong tieu hoc dong da", "status": "verified"})
    assert account.name not in none.text
    detail = await operator.get(f"/admin/accounts/{account.id}")
    assert "Hiệu trưởng" in detail.text and "Chủ sở hữu" in detail.text
    too_long = await operator.get("/admin/accounts", params={"q": "x" * 250})
    assert too_long.status_code == 422 and "tối đa 200 ký tự" in too_long.text


async def test_organisations_are_created_and_a_loop_is_refused(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    token = csrf((await operator.get("/admin/organisations")).text)
    made = await operator.post("/admin/organisations", data={"name": "UBND Tỉnh Thử", "parent": "", "province": HANOI,
                                                             "csrf_token": token})
    assert made.status_code == 303
    tree = await operator.get("/admin/organisations")
    parent_id = re.search(r'href="/admin/organisations/(\d+)">UBND Tỉnh Thử', tree.text).group(1)  # type: ignore[union-attr]
    child = await operator.post("/admin/organisations", data={"name": "Sở Thử", "parent": parent_id, "province": "",
                                                              "csrf_token": token})
    assert child.status_code == 303
    tree = await operator.get("/admin/organisations")
    child_id = re.search(r'href="/admin/organisations/(\d+)">Sở Thử', tree.text).group(1)  # type: ignore[union-attr]
    loop = await operator.post(f"/admin/organisations/{parent_id}", data={
        "name": "UBND Tỉnh Thử", "parent": child_id, "province": HANOI, "csrf_token": token})
    assert loop.status_code == 422 and 'id="f-parent-error"' in loop.text
    empty = await operator.post("/admin/organisations", data={"name": " ", "csrf_token": token})
    assert empty.status_code == 422 and 'id="f-name-error"' in empty.text


async def test_a_category_with_a_list_field_is_added_and_bad_fields_refused(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    token = csrf((await operator.get("/admin/categories/new")).text)
    code = f"fallen_trees_{uuid.uuid4().hex[:8]}"  # categories outlive a test: a code of its own
    form = {"csrf_token": token, "code": code, "name": "Cây đổ", "name_en": "Fallen trees", "group": "Môi trường",
            "keywords": "cây đổ, cành gãy", "account_kinds": ["environment", "commune_committee"],
            "deadline_amount": "abc", "deadline_unit": "working_days", "public_rounding_m": "0", "enabled": "on",
            "fields-0-code": "size", "fields-0-label": "Kích thước", "fields-0-label_en": "Size",
            "fields-0-datatype": "singlevaluelist", "fields-0-values": "small: Nhỏ\nLớn", "fields-0-required": "on"}
    refused = await operator.post("/admin/categories/new", data=form)
    assert refused.status_code == 422 and 'id="f-deadline_amount-error"' in refused.text
    assert 'value="Cây đổ"' in refused.text  # what was typed is kept
    created = await operator.post("/admin/categories/new", data={**form, "deadline_amount": "4"})
    assert created.status_code == 303, created.text
    async with runtime.read_session() as session:
        category = await session.scalar(select(ReportCategory).where(ReportCategory.code == code))
    assert category is not None and category.deadline_amount == 4
    assert category.fields[0]["values"] == [{"key": "small", "name": "Nhỏ"}, {"key": "lon", "name": "Lớn"}]
    duplicate = await operator.post("/admin/categories/new", data={**form, "deadline_amount": "4"})
    assert duplicate.status_code == 409 and 'id="f-code-error"' in duplicate.text
    empty_list = await operator.post(f"/admin/categories/{code}", data={**form, "deadline_amount": "4",
                                                                                 "fields-0-values": ""})
    assert empty_list.status_code == 422 and 'id="f-fields-0-values-error"' in empty_list.text
    deleted = await operator.post(f"/admin/categories/{code}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303


async def test_routing_rules_are_added_edited_and_deleted(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    police = await make_account(runtime, name="Công an Phường Ba Đình", kind="police", handle="ca-badinh-test")
    token = csrf((await operator.get("/admin/routing")).text)
    bad = await operator.post("/admin/routing", data={"csrf_token": token, "category": "public_order",
                                                      "province": HANOI, "commune": "99999", "account": "nobody-here"})
    assert bad.status_code == 422 and 'id="f-commune-error"' in bad.text and 'id="f-account-error"' in bad.text
    added = await operator.post("/admin/routing", data={"csrf_token": token, "category": "public_order",
                                                        "province": HANOI, "commune": "00004",
                                                        "account": "@ca-badinh-test", "priority": "10"})
    assert added.status_code == 303
    listed = await operator.get(added.headers["location"])
    assert police.name in listed.text and "Phường Ba Đình" in listed.text
    async with runtime.read_session() as session:
        rule = await session.scalar(select(RoutingRule).where(RoutingRule.account_id == police.id))
    assert rule is not None and rule.area_code == "00004" and rule.priority == 10
    twice = await operator.post("/admin/routing", data={"csrf_token": token, "category": "public_order",
                                                        "province": HANOI, "commune": "00004",
                                                        "account": "ca-badinh-test"})
    assert twice.status_code == 409 and "Quy tắc này đã có" in twice.text
    edited = await operator.post(f"/admin/routing/{rule.id}", data={"csrf_token": token, "category": "public_order",
                                                                    "province": HANOI, "commune": "",
                                                                    "account": "ca-badinh-test", "priority": "5"})
    assert edited.status_code == 303
    async with runtime.read_session() as session:
        rule = await session.get(RoutingRule, rule.id)
    assert rule is not None and rule.area_code == HANOI and rule.priority == 5
    gone = await operator.post(f"/admin/routing/{rule.id}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert (await operator.get(f"/admin/routing/{rule.id}")).status_code == 404


async def test_calendar_changes_need_a_reason_and_show_in_the_year(runtime: Runtime, client_as) -> None:
    operator = await operator_client(runtime, client_as)
    token = csrf((await operator.get("/admin/calendar?year=2031")).text)
    missing = await operator.post("/admin/calendar/changes", data={"csrf_token": token, "day": "2031-03-10",
                                                                   "kind": "holiday", "name": "", "year": "2031"})
    assert missing.status_code == 422 and 'id="f-name-error"' in missing.text and 'value="2031-03-10"' in missing.text
    weekday = await operator.post("/admin/calendar/changes", data={"csrf_token": token, "day": "2031-03-10",
                                                                   "kind": "working", "name": "Làm bù", "year": "2031"})
    assert weekday.status_code == 422 and 'id="f-kind-error"' in weekday.text
    added = await operator.post("/admin/calendar/changes", data={"csrf_token": token, "day": "2031-03-10",
                                                                 "kind": "holiday", "name": "Nghỉ thử nghiệm",
                                                                 "year": "2031"})
    assert added.status_code == 303
    year = await operator.get("/admin/calendar?year=2031")
    assert "Nghỉ thử nghiệm" in year.text and "Tết Nguyên Đán" in year.text
    removed = await operator.post("/admin/calendar/changes/2031-03-10/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    async with runtime.read_session() as session:
        assert await session.get(CalendarDay, date(2031, 3, 10)) is None
