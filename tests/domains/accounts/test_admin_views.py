"""What operators see and do on accounts through the service: identity documents kept privately and opened
only by operators (every opening recorded), the queue and its history, every account whatever its state."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select
from tests.factories import BA_DINH, HANOI, HCMC, add_staff, make_account, make_user

from loa.domains.accounts import service
from loa.domains.agencies import service as agencies
from loa.domains.people.models import AuditEvent, User
from loa.kit.effects import commit
from loa.kit.errors import Conflict, Forbidden, Invalid, NotFound
from loa.kit.storage import media_storage
from loa.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    exif[0x8825] = {2: (21.0, 1.0, 30.0)}  # GPS latitude
    exif[0x010F] = "Camera maker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


async def applied(runtime: Runtime, owner: User, name: str = "Trường THCS Thử") -> tuple[int, int]:
    account = await make_account(runtime, name=name, kind="school", verified=False, owner=owner)
    async with runtime.session() as session:
        stored = await service.store_verification_document(media_storage(runtime.settings), account_id=account.id,
                                                           data=PDF, filename="../../quyết định.pdf",
                                                           title=" Quyết định  thành lập ")
        documents = [stored, {"title": "Công văn", "reference": "CV 1"}]
        application = await service.apply_for_verification(session, account_id=account.id, user=owner,
                                                           documents=documents)
        await commit(session)
    return account.id, application.id


async def test_a_document_is_kept_privately_with_a_clean_name(runtime: Runtime) -> None:
    storage = media_storage(runtime.settings)
    stored = await service.store_verification_document(storage, account_id=7, data=PDF, filename="C:\\scan\\qđ.pdf",
                                                       title=" Quyết định  thành lập ")
    assert stored["key"].startswith("private/verification/7/") and stored["key"].endswith(".pdf")
    assert stored["title"] == "Quyết định thành lập" and stored["name"] == "qđ.pdf"
    assert stored["content_type"] == "application/pdf" and stored["size"] == len(PDF)
    assert storage.path_of(stored["key"]).read_bytes() == PDF

    scan = await service.store_verification_document(storage, account_id=7, data=photo_with_gps(),
                                                     filename="scan.jpeg", title="Ảnh chụp quyết định")
    kept = Image.open(storage.path_of(scan["key"]))
    assert scan["content_type"] == "image/jpeg" and not kept.getexif()  # no GPS, no camera left

    for data, filename, title in ((b"MZ\x90\x00" + b"\x00" * 64, "setup.exe", "Phần mềm"), (PDF, "a.pdf", "x"),
                                  (PDF, "quyet-dinh.docx", "Quyết định")):
        with pytest.raises(Invalid):
            await service.store_verification_document(storage, account_id=7, data=data, filename=filename,
                                                       title=title)


async def test_an_application_cannot_carry_another_accounts_file(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, verified=False, owner=owner)
    other = await service.store_verification_document(media_storage(runtime.settings), account_id=account.id + 1,
                                                      data=PDF, filename="a.pdf", title="Quyết định")
    async with runtime.session() as session:
        with pytest.raises(Invalid) as refused:
            await service.apply_for_verification(session, account_id=account.id, user=owner, documents=[other])
    assert refused.value.code == "foreign_document"


async def test_only_operators_open_a_document_and_each_opening_is_recorded(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    operator = await make_user(runtime, name="Vận hành", operator=True)
    account_id, application_id = await applied(runtime, owner)
    async with runtime.session() as session:
        with pytest.raises(Forbidden):
            await service.verification_document(session, operator=owner, application_id=application_id, index=0)
        document = await service.verification_document(session, operator=operator, application_id=application_id,
                                                       index=0)
        assert document["name"] == "quyết định.pdf"
        for index in (1, 2, -1):  # a reference without a file, nothing there
            with pytest.raises(NotFound):
                await service.verification_document(session, operator=operator, application_id=application_id,
                                                    index=index)
        with pytest.raises(NotFound):
            await service.verification_document(session, operator=operator, application_id=application_id + 99,
                                                index=0)
        await commit(session)
    async with runtime.read_session() as session:
        events = (await session.scalars(select(AuditEvent).where(
            AuditEvent.action == "verification.document_viewed"))).all()
    assert [(event.actor_user_id, event.account_id, event.details) for event in events] == [
        (operator.id, account_id, {"document": 0})]


async def test_the_history_lists_decisions_the_latest_first_with_who_took_them(runtime: Runtime) -> None:
    operator = await make_user(runtime, name="Vận hành Loa", operator=True)
    owner = await make_user(runtime, name="Hiệu trưởng")
    first_account, first = await applied(runtime, owner, "Trường Một")
    _, second = await applied(runtime, owner, "Trường Hai")
    _, waiting = await applied(runtime, owner, "Trường Ba")
    async with runtime.session() as session:
        await service.decide_verification(session, application_id=first, operator=operator, approve=True)
        await service.decide_verification(session, application_id=second, operator=operator, approve=False,
                                          reason="Thiếu giấy ủy quyền")
        with pytest.raises(Invalid) as too_long:
            await service.decide_verification(session, application_id=waiting, operator=operator, approve=False,
                                              reason="x" * 2001)
        assert too_long.value.code == "reason_too_long"
        await commit(session)
    async with runtime.read_session() as session:
        rows, cursor = await service.decided_applications(session, operator=operator, cursor=None, limit=1)
        assert [(application.id, account.name) for application, account in rows] == [(second, "Trường Hai")]
        rows, cursor = await service.decided_applications(session, operator=operator, cursor=cursor, limit=1)
        assert [application.id for application, _ in rows] == [first] and cursor is None
        names = await service.user_names(session, [rows[0][0].decided_by, rows[0][0].submitted_by, None])
        assert names == {operator.id: "Vận hành Loa", owner.id: "Hiệu trưởng"}
        application, account = await service.get_application(session, operator=operator, application_id=waiting)
        assert application.status == "pending" and account.name == "Trường Ba"
        history = await service.applications_of(session, operator=operator, account_id=first_account)
        assert [item.status for item in history] == ["approved"]
        for call in (service.decided_applications(session, operator=owner, cursor=None, limit=5),
                     service.get_application(session, operator=owner, application_id=waiting),
                     service.applications_of(session, operator=owner, account_id=first_account)):
            with pytest.raises(Forbidden):
                await call


async def test_operators_find_every_account_folded_and_filtered(runtime: Runtime) -> None:
    operator = await make_user(runtime, operator=True)
    citizen = await make_user(runtime)
    verified = await make_account(runtime, name="Sở Y tế Hà Nội")
    waiting = await make_account(runtime, name="Sở Y tế TP. Hồ Chí Minh", province=HCMC, verified=False)
    commune = await make_account(runtime, name="UBND Phường Ba Đình", kind="commune_committee", commune=BA_DINH)
    async with runtime.session() as session:
        waiting_account = await service.get_account(session, waiting.id)
        waiting_account.verification_status = "pending"
        await commit(session)
    async with runtime.read_session() as session:
        found, _ = await service.find_accounts(session, operator=operator, q="so y te")
        assert {account.id for account in found} == {verified.id, waiting.id}
        found, _ = await service.find_accounts(session, operator=operator, status="pending")
        assert [account.id for account in found] == [waiting.id]
        found, _ = await service.find_accounts(session, operator=operator, province_code=HANOI,
                                               kind="commune_committee")
        assert [account.id for account in found] == [commune.id]
        everything, cursor = await service.find_accounts(session, operator=operator, limit=2)
        assert [account.id for account in everything] == [commune.id, waiting.id]  # the newest first
        rest, _ = await service.find_accounts(session, operator=operator, limit=2, cursor=cursor)
        assert [account.id for account in rest] == [verified.id]
        with pytest.raises(Forbidden):
            await service.find_accounts(session, operator=citizen)
        for bad in ({"kind": "bakery"}, {"status": "maybe"}):
            with pytest.raises(Invalid):
                await service.find_accounts(session, operator=operator, **bad)  # type: ignore[arg-type]
        counts = await service.operator_counts(session, operator=operator)
        assert counts == {"accounts": 3, "verified": 2, "unverified": 0, "waiting": 0}


async def test_operators_see_an_accounts_staff_owners_first(runtime: Runtime) -> None:
    operator = await make_user(runtime, operator=True)
    agent, owner = await make_user(runtime, name="An"), await make_user(runtime, name="Bình")
    account = await make_account(runtime, owner=owner)
    other = await make_account(runtime, name="Sở khác", owner=agent)
    await add_staff(runtime, account, agent, "agent")
    async with runtime.read_session() as session:
        staff = await service.staff_of(session, operator=operator, account_id=account.id)
        assert [(member.role, user.display_name) for member, user in staff] == [("owner", "Bình"), ("agent", "An")]
        with pytest.raises(Forbidden):
            await service.staff_of(session, operator=owner, account_id=other.id)


async def test_accounts_are_counted_by_the_organisation_that_runs_them(runtime: Runtime) -> None:
    async with runtime.session() as session:
        parent = await agencies.create_organisation(session, name="UBND Thành phố Hà Nội", province_code=HANOI)
        child = await agencies.create_organisation(session, name="Sở Y tế Hà Nội", parent_id=parent.id)
        await commit(session)
    await make_account(runtime, name="Sở Y tế", organisation_id=child.id)
    await make_account(runtime, name="Bệnh viện A", kind="hospital", organisation_id=child.id)
    await make_account(runtime, name="UBND", kind="provincial_committee", organisation_id=parent.id)
    async with runtime.read_session() as session:
        assert await service.count_by_organisation(session, [parent.id, child.id, 999]) == {parent.id: 1, child.id: 2}
        assert [account.name for account in await service.accounts_of_organisation(session, child.id)] == [
            "Bệnh viện A", "Sở Y tế"]


async def test_a_decided_application_cannot_be_decided_again(runtime: Runtime) -> None:
    operator = await make_user(runtime, operator=True)
    owner = await make_user(runtime)
    _, application_id = await applied(runtime, owner)
    async with runtime.session() as session:
        await service.decide_verification(session, application_id=application_id, operator=operator, approve=True)
        await commit(session)
    async with runtime.session() as session:
        with pytest.raises(Conflict):
            await service.decide_verification(session, application_id=application_id, operator=operator,
                                              approve=False, reason="Nhầm")
