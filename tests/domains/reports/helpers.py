"""What the report tests share: a place in Hà Nội with its commune's People's Committee, a citizen, the
committee's staff, and short ways to file and move reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient
from tests.factories import add_staff, make_account, make_user

from loa.domains.accounts.models import Account
from loa.domains.geo import service as geo
from loa.domains.people.models import User
from loa.runtime import Runtime

# Hoàn Kiếm lake, Hà Nội.
LAT, LON = 21.0285, 105.8522


@dataclass
class Scene:
    commune_code: str
    province_code: str
    citizen: User
    committee: Account
    manager: User
    agent: User
    as_citizen: AsyncClient
    as_manager: AsyncClient
    as_agent: AsyncClient


async def commune_at(runtime: Runtime, lat: float = LAT, lon: float = LON) -> tuple[str, str]:
    async with runtime.read_session() as session:
        commune = (await geo.nearest_commune(session, lat, lon)).commune
    return commune.code, commune.province_code or ""


async def make_scene(runtime: Runtime, client_as) -> Scene:  # type: ignore[no-untyped-def]
    commune_code, province_code = await commune_at(runtime)
    citizen = await make_user(runtime, name="Nguyễn Văn An")
    manager = await make_user(runtime, name="Chủ tịch Hà")
    agent = await make_user(runtime, name="Cán bộ Lan")
    committee = await make_account(runtime, name="UBND phường Hoàn Kiếm", kind="commune_committee",
                                   province=province_code, commune=commune_code)
    await add_staff(runtime, committee, manager, "admin")
    await add_staff(runtime, committee, agent, "agent")
    return Scene(commune_code, province_code, citizen, committee, manager, agent, await client_as(citizen),
                 await client_as(manager), await client_as(agent))


def waste_report(**extra: Any) -> dict[str, Any]:
    return {"category": "waste", "description": "Rác thải đổ trộm ven hồ Hoàn Kiếm nhiều ngày chưa dọn.",
            "latitude": LAT, "longitude": LON, **extra}


async def file(client: AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def act(client: AsyncClient, report_id: int, action: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/reports/{report_id}/actions", json={"action": action, **extra})
    assert response.status_code == 200, response.text
    return response.json()
