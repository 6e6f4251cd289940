"""Before sending, a citizen reads which agency will receive the report and in how long it must answer: the
preview routes exactly as submission does, and writes nothing. Afterwards the citizen's data export holds their
reports."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.domains.reports.helpers import act, commune_at, file, make_scene, waste_report
from tests.factories import make_account

from loa.domains.reports import service
from loa.domains.reports.models import DeadlinePolicy, Report, ReportCategory, RoutingRule
from loa.kit.errors import Invalid, NotFound
from loa.runtime import Runtime


async def test_the_preview_names_the_account_submission_would_choose(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    async with runtime.read_session() as session:
        routed = await service.competent_account(session, category_code="waste", commune_code=scene.commune_code)
    assert routed.account.id == scene.committee.id
    assert routed.deadline.label == "3 ngày làm việc / 3 working days"

    police = await make_account(runtime, name="Công an phường Hoàn Kiếm", kind="police",
                                province=scene.province_code, commune=scene.commune_code)
    async with runtime.session() as session:
        category = await session.scalar(select(ReportCategory).where(ReportCategory.code == "traffic_violation"))
        assert category is not None
        session.add(RoutingRule(category_id=category.id, area_code=scene.province_code, account_id=police.id))
        session.add(DeadlinePolicy(account_id=police.id, category_id=category.id, amount=2, unit="working_days"))
        await session.commit()
    async with runtime.read_session() as session:
        routed = await service.competent_account(session, category_code="traffic_violation",
                                                 commune_code=scene.commune_code)
        assert routed.account.id == police.id and routed.deadline.label.startswith("2 ngày làm việc")
        assert await session.scalar(select(func.count()).select_from(Report)) == 0  # nothing was filed


async def test_the_preview_refuses_what_submission_would_refuse(runtime: Runtime) -> None:
    commune_code, _ = await commune_at(runtime)  # no committee account there
    async with runtime.read_session() as session:
        with pytest.raises(Invalid) as no_agency:
            await service.competent_account(session, category_code="waste", commune_code=commune_code)
        assert no_agency.value.code == "no_competent_account"
        with pytest.raises(NotFound):
            await service.competent_account(session, category_code="no_such_thing", commune_code=commune_code)
        with pytest.raises(Invalid) as unknown:
            await service.competent_account(session, category_code="waste", commune_code="99999")
        assert unknown.value.code == "unknown_commune"


async def test_a_citizens_export_holds_their_reports_with_the_steps_they_see(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    report = await file(scene.as_citizen, waste_report(title="Rác ven hồ"))
    await act(scene.as_agent, report["id"], "accept")
    export = (await scene.as_citizen.get("/api/v1/me/export")).json()
    [mine] = export["reports"]
    assert mine["code"] == report["code"] and mine["title"] == "Rác ven hồ" and mine["category"] == "waste"
    assert [step["type"] for step in mine["timeline"]] == ["submitted", "accept"]
    assert "actor_name" not in mine["timeline"][1]  # staff stay anonymous to the reporter
    other = (await scene.as_agent.get("/api/v1/me/export")).json()
    assert other["reports"] == []
