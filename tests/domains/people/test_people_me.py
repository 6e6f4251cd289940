"""A person's own data: profile, consents with their history, export, and deletion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo.models import AdminUnit
from loa.domains.people import service
from loa.domains.people.models import AuditEvent, Consent, LoginSession, SentMessage, User
from loa.runtime import Runtime

SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def test_me_needs_a_session(client: AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "login_required", "message": "Bạn cần đăng nhập / Login required"}}


async def test_profile_can_be_changed(client: AsyncClient, sign_in: SignIn) -> None:
    await sign_in()
    response = await client.patch("/api/v1/me", json={"display_name": "  Nguyễn   Văn An ", "home_commune_code": None})
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Nguyễn Văn An"
    assert (await client.get("/api/v1/me")).json()["display_name"] == "Nguyễn Văn An"
    for body in ({"display_name": "x" * 101}, {"home_commune_code": "12"}, {"phone": "+84987654321"},
                 {"is_operator": True}):
        refused = await client.patch("/api/v1/me", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["code"] == "invalid"
    assert (await client.get("/api/v1/me")).json()["is_operator"] is False


async def test_home_commune_must_be_a_current_commune(client: AsyncClient, runtime: Runtime, sign_in: SignIn) -> None:
    await sign_in()
    async with runtime.read_session() as session:
        commune = await session.scalar(select(AdminUnit.code).where(AdminUnit.scheme == "current",
                                                                    AdminUnit.level == "commune").limit(1))
    assert commune is not None
    response = await client.patch("/api/v1/me", json={"home_commune_code": commune})
    assert response.status_code == 200
    assert response.json()["home_commune_code"] == commune
    unknown = await client.patch("/api/v1/me", json={"home_commune_code": "99999"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith("Không có xã/phường")
    cleared = await client.patch("/api/v1/me", json={"home_commune_code": None})
    assert cleared.json()["home_commune_code"] is None


async def test_consents_are_recorded_with_their_history(client: AsyncClient, sign_in: SignIn) -> None:
    await sign_in()
    for body in ({"purpose": "notifications", "granted": True, "text_version": "2025-07"},
                 {"purpose": "location", "granted": True, "text_version": "2025-07", "channel": "app"},
                 {"purpose": "notifications", "granted": False, "text_version": "2025-09"}):
        response = await client.post("/api/v1/me/consents", json=body)
        assert response.status_code == 201, response.text
        assert isinstance(response.json()["id"], str)
    data = (await client.get("/api/v1/me/consents")).json()
    assert data["current"]["notifications"]["granted"] is False
    assert data["current"]["notifications"]["text_version"] == "2025-09"
    assert data["current"]["location"]["channel"] == "app"
    assert data["current"]["service"] is None and data["current"]["statistics"] is None
    assert [(c["purpose"], c["granted"]) for c in data["history"]] == [
        ("notifications", False), ("location", True), ("notifications", True)]

    for bad in ({"purpose": "marketing", "granted": True, "text_version": "1"},
                {"purpose": "location", "granted": True, "text_version": "x" * 21},
                {"purpose": "location", "granted": True, "text_version": "1", "extra": 1},
                {"purpose": "location", "granted": "maybe", "text_version": "1"}):
        assert (await client.post("/api/v1/me/consents", json=bad)).status_code == 422, bad


async def test_consent_lookup_for_other_domains(client: AsyncClient, runtime: Runtime, sign_in: SignIn) -> None:
    user_id = int((await sign_in())["user"]["id"])
    await client.post("/api/v1/me/consents", json={"purpose": "location", "granted": True, "text_version": "1"})
    async with runtime.read_session() as session:
        assert await service.has_consent(session, user_id, "location") is True
        assert await service.has_consent(session, user_id, "statistics") is False


async def test_export_holds_profile_consents_sessions_and_other_domains(client: AsyncClient, runtime: Runtime,
                                                                       sign_in: SignIn) -> None:
    user_id = (await sign_in())["user"]["id"]
    await client.patch("/api/v1/me", json={"display_name": "Trần Thị Bình"})
    await client.post("/api/v1/me/consents", json={"purpose": "service", "granted": True, "text_version": "1"})

    async def follows_of(session: AsyncSession, uid: int) -> list[dict[str, Any]]:
        return [{"account": "cong-an-ha-noi", "user": str(uid)}]

    service.register_exporter("test_follows", follows_of)
    try:
        response = await client.get("/api/v1/me/export")
    finally:
        service.EXPORTERS.pop("test_follows")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["profile"]["id"] == user_id
    assert data["profile"]["phone"] == "+84912345678"
    assert data["profile"]["display_name"] == "Trần Thị Bình"
    assert [c["purpose"] for c in data["consents"]] == ["service"]
    assert len(data["sessions"]) == 1 and data["sessions"][0]["stage"] == "active"
    assert "token_hash" not in data["sessions"][0] and "csrf_token" not in data["sessions"][0]
    assert "password_hash" not in data["profile"] and "totp_secret" not in data["profile"]
    assert data["test_follows"] == [{"account": "cong-an-ha-noi", "user": user_id}]
    async with runtime.read_session() as session:
        assert await session.scalar(select(AuditEvent.action).where(AuditEvent.actor_user_id == int(user_id))) \
            == "personal_data.exported"


async def test_delete_erases_the_user_who_then_is_signed_out(client: AsyncClient, runtime: Runtime,
                                                             sign_in: SignIn) -> None:
    user_id = int((await sign_in())["user"]["id"])
    await client.post("/api/v1/me/consents", json={"purpose": "service", "granted": True, "text_version": "1"})
    erased: list[int] = []

    async def fix_counters(session: AsyncSession, uid: int) -> None:
        assert await session.get(User, uid) is not None  # runs before the user is gone
        erased.append(uid)

    service.register_eraser("test_counters", fix_counters)
    try:
        response = await client.delete("/api/v1/me")
    finally:
        service.ERASERS.pop("test_counters")
    assert response.status_code == 204
    assert erased == [user_id]
    assert client.cookies.get("loa_session") is None
    async with runtime.read_session() as session:
        assert await session.get(User, user_id) is None
        for model in (Consent, LoginSession, SentMessage):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deleted"))
    assert event is not None and event.actor_user_id is None
    assert "+84912345678" not in repr((event.subject, event.details))

    assert (await client.get("/api/v1/me")).status_code == 401
    # Signing in with the same phone later makes a new, empty account.
    await sign_in()
    assert (await client.get("/api/v1/me/consents")).json()["history"] == []


async def test_an_old_cookie_of_a_deleted_user_opens_nothing(client: AsyncClient, sign_in: SignIn) -> None:
    await sign_in()
    cookie = client.cookies.get("loa_session")
    assert (await client.delete("/api/v1/me")).status_code == 204
    assert cookie
    client.cookies.set("loa_session", cookie)
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/auth/session")).json()["authenticated"] is False
