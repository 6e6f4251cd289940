"""Citizens sign in with a one-time code sent to their phone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import func, select, update

from loa.db.base import utcnow
from loa.domains.people.models import LoginSession, OtpChallenge, SentMessage, User
from loa.runtime import Runtime

PHONE = "+84912345678"
CodeReader = Callable[[str], Awaitable[str]]


async def request_code(client: AsyncClient, phone: str = "0912 345 678") -> str:
    response = await client.post("/api/v1/auth/otp/request", json={"phone": phone})
    assert response.status_code == 202, response.text
    return response.json()["phone"]


async def verify(client: AsyncClient, code: str, phone: str = "0912 345 678"):  # type: ignore[no-untyped-def]
    return await client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code})


async def test_code_by_text_message_signs_a_new_citizen_in(client: AsyncClient, runtime: Runtime,
                                                           otp_code: CodeReader) -> None:
    phone = await request_code(client)
    assert phone == PHONE
    code = await otp_code(PHONE)
    async with runtime.read_session() as session:
        body = await session.scalar(select(SentMessage.body).where(SentMessage.recipient == PHONE))
        stored = await session.scalar(select(OtpChallenge.code_hash).where(OtpChallenge.phone == PHONE))
    assert body is not None and body.startswith(f"Mã xác thực Loa của bạn là {code}")
    assert stored is not None and code not in stored  # kept only as a keyed hash

    response = await verify(client, code)
    assert response.status_code == 200
    data = response.json()
    assert data["authenticated"] is True
    assert data["stage"] == "active"
    assert data["user"]["phone"] == PHONE
    assert isinstance(data["user"]["id"], str)
    assert data["csrf_token"]
    assert data["expires_at"].endswith(("Z", "+00:00"))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("loa_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()

    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["phone"] == PHONE


async def test_a_code_works_once_and_the_same_phone_is_the_same_user(client: AsyncClient, runtime: Runtime,
                                                                     otp_code: CodeReader) -> None:
    await request_code(client)
    code = await otp_code(PHONE)
    first = await verify(client, code)
    assert first.status_code == 200
    client.headers["X-CSRF-Token"] = first.json()["csrf_token"]  # signed in: unsafe requests carry the token
    again = await verify(client, code)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "otp_expired"

    await request_code(client, "+84 912 345 678")
    second = await verify(client, await otp_code(PHONE))
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        # Signing in again replaced the browser's earlier session.
        assert await session.scalar(select(func.count()).select_from(LoginSession)) == 1


async def test_wrong_code_is_refused_and_counted(client: AsyncClient, runtime: Runtime, otp_code: CodeReader) -> None:
    await request_code(client)
    code = await otp_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    response = await verify(client, wrong)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "otp_invalid"
    assert error["details"] == {"attempts_left": 4}
    assert "/" in error["message"]  # Vietnamese, then English
    assert client.cookies.get("loa_session") is None
    async with runtime.read_session() as session:
        assert await session.scalar(select(OtpChallenge.attempts)) == 1

    assert (await verify(client, code)).status_code == 200


async def test_too_many_wrong_attempts_lock_the_code(client: AsyncClient, runtime: Runtime,
                                                     otp_code: CodeReader) -> None:
    await request_code(client)
    code = await otp_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    codes = [(await verify(client, wrong)).json()["error"]["code"] for _ in range(runtime.settings.otp_max_attempts)]
    assert codes == ["otp_invalid"] * (runtime.settings.otp_max_attempts - 1) + ["otp_locked"]
    response = await verify(client, code)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "otp_locked"

    # A new code starts afresh.
    await request_code(client)
    assert (await verify(client, await otp_code(PHONE))).status_code == 200


async def test_expired_code_is_refused(client: AsyncClient, runtime: Runtime, otp_code: CodeReader) -> None:
    await request_code(client)
    code = await otp_code(PHONE)
    async with runtime.session() as session:
        await session.execute(update(OtpChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    response = await verify(client, code)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "otp_expired"


async def test_a_new_code_replaces_the_previous_one(client: AsyncClient, runtime: Runtime,
                                                    otp_code: CodeReader) -> None:
    await request_code(client)
    old = await otp_code(PHONE)
    await request_code(client)
    new = await otp_code(PHONE)
    if old != new:
        assert (await verify(client, old)).status_code == 401
    assert (await verify(client, new)).status_code == 200


async def test_requests_are_rate_limited_per_phone(client: AsyncClient, runtime: Runtime) -> None:
    allowed = int(runtime.settings.otp_limit_per_phone.split("/")[0])
    for _ in range(allowed):
        await request_code(client)
    response = await client.post("/api/v1/auth/otp/request", json={"phone": "0912345678"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(SentMessage)) == allowed
    # Another phone still gets its code.
    await request_code(client, "0987 654 321")


async def test_requests_are_rate_limited_per_ip(client: AsyncClient, runtime: Runtime) -> None:
    allowed = int(runtime.settings.otp_limit_per_ip.split("/")[0])
    await runtime.limiter.allow("otp_request_ip", "127.0.0.1", runtime.settings.otp_limit_per_ip, cost=allowed)
    response = await client.post("/api/v1/auth/otp/request", json={"phone": "0987 654 321"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


async def test_bad_phone_numbers_get_the_error_envelope(client: AsyncClient, runtime: Runtime) -> None:
    for phone in ("12345", "not a phone", "0912 345 678 999 999", "024 3825 3536"):
        response = await client.post("/api/v1/auth/otp/request", json={"phone": phone})
        assert response.status_code == 422, phone
        error = response.json()["error"]
        assert error["code"] == "invalid_phone"
        assert error["message"].startswith(("Số điện thoại", "Cần số điện thoại"))
    too_long = await client.post("/api/v1/auth/otp/request", json={"phone": "0" * 100})
    assert too_long.status_code == 422
    unknown_field = await client.post("/api/v1/auth/otp/request", json={"phone": "0912345678", "admin": True})
    assert unknown_field.status_code == 422
    bad_code = await client.post("/api/v1/auth/otp/verify", json={"phone": "0912345678", "code": "12ab56"})
    assert bad_code.status_code == 422
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(OtpChallenge)) == 0


async def test_verify_without_a_request_is_refused(client: AsyncClient) -> None:
    response = await verify(client, "123456")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "otp_expired"


async def test_developer_page_lists_the_sent_codes(client: AsyncClient, runtime: Runtime, otp_code: CodeReader) -> None:
    await request_code(client)
    code = await otp_code(PHONE)
    page = await client.get("/dev/messages")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert code in page.text and PHONE in page.text


async def test_developer_page_and_plain_cookie_are_gone_in_production(client: AsyncClient, runtime: Runtime,
                                                                      otp_code: CodeReader) -> None:
    runtime.settings = runtime.settings.model_copy(update={"env": "production"})
    assert (await client.get("/dev/messages")).status_code == 404
    await request_code(client)
    response = await verify(client, await otp_code(PHONE))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-loa_session=")
    assert "secure" in cookie.lower() and "path=/" in cookie.lower() and "domain" not in cookie.lower()
