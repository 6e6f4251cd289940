"""Staff sign in with e-mail and password, then an authenticator code (TOTP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pyotp
import pytest
import typer
from httpx import AsyncClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select

from loa.domains.people import service
from loa.domains.people.cli import create_operator
from loa.domains.people.models import LoginSession, User
from loa.kit.effects import commit
from loa.runtime import Runtime

PASSWORD = "correct horse battery"
SignIn = Callable[..., Awaitable[dict[str, Any]]]


async def make_staff(runtime: Runtime, email: str = "staff@example.vn", *, enrolled: bool = True) -> User:
    async with runtime.session() as session:
        if enrolled:
            user, _ = await service.set_staff_credentials(session, email=email, password=PASSWORD)
        else:  # invited staff: a password, no authenticator yet
            user = User(email=email, password_hash=await service.hash_password(PASSWORD))
            session.add(user)
        await commit(session)
    return user


async def login(client: AsyncClient, email: str = "staff@example.vn", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return response


async def test_password_alone_does_not_sign_staff_in(client: AsyncClient, runtime: Runtime) -> None:
    user = await make_staff(runtime)
    response = await login(client, "  Staff@Example.VN ")
    assert response.status_code == 200
    data = response.json()
    assert data["authenticated"] is False
    assert data["stage"] == "second_factor"
    assert data["user"] is None
    assert data["totp_enrolment"] is None  # already enrolled: the secret is never shown again
    pending_cookie = client.cookies.get("loa_session")
    assert pending_cookie

    assert (await client.get("/api/v1/me")).status_code == 401
    session_view = (await client.get("/api/v1/auth/session")).json()
    assert session_view["authenticated"] is False and session_view["stage"] == "second_factor"

    wrong = await client.post("/api/v1/auth/totp", json={"code": "000000"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "totp_invalid"

    assert user.totp_secret
    done = await client.post("/api/v1/auth/totp", json={"code": pyotp.TOTP(user.totp_secret).now()})
    assert done.status_code == 200, done.text
    assert done.json()["authenticated"] is True
    assert done.json()["stage"] == "active"
    assert done.json()["user"]["email"] == "staff@example.vn"
    active_cookie = client.cookies.get("loa_session")
    assert active_cookie and active_cookie != pending_cookie  # rotated on promotion
    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    assert (await client.get("/api/v1/me")).json()["email"] == "staff@example.vn"

    # The token from before the second factor opens nothing.
    client.cookies.set("loa_session", pending_cookie)
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_totp_code_is_spent_once_used(client: AsyncClient, runtime: Runtime) -> None:
    user = await make_staff(runtime)
    assert user.totp_secret
    code = pyotp.TOTP(user.totp_secret).now()
    await login(client)
    done = await client.post("/api/v1/auth/totp", json={"code": code})
    assert done.status_code == 200
    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    await login(client)
    replay = await client.post("/api/v1/auth/totp", json={"code": code})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "totp_invalid"


async def test_staff_signing_in_by_phone_still_need_their_authenticator(client: AsyncClient, runtime: Runtime,
                                                                        otp_code: Callable[[str], Awaitable[str]]
                                                                        ) -> None:
    user = await make_staff(runtime)
    async with runtime.session() as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.phone = "+84912345678"
        await session.commit()
    await client.post("/api/v1/auth/otp/request", json={"phone": "0912345678"})
    response = await client.post("/api/v1/auth/otp/verify",
                                 json={"phone": "0912345678", "code": await otp_code("+84912345678")})
    assert response.status_code == 200
    assert response.json()["stage"] == "second_factor" and response.json()["authenticated"] is False
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_totp_without_a_pending_sign_in_is_refused(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/totp", json={"code": "123456"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"


async def test_staff_without_an_authenticator_enrol_before_signing_in(client: AsyncClient, runtime: Runtime) -> None:
    await make_staff(runtime, enrolled=False)
    response = await login(client)
    enrolment = response.json()["totp_enrolment"]
    assert enrolment["uri"].startswith("otpauth://totp/Loa:staff%40example.vn?secret=")
    assert enrolment["secret"] in enrolment["uri"]
    assert response.json()["authenticated"] is False
    # Reloading the page shows the same enrolment while it is pending.
    assert (await client.get("/api/v1/auth/session")).json()["totp_enrolment"] == enrolment

    done = await client.post("/api/v1/auth/totp", json={"code": pyotp.TOTP(enrolment["secret"]).now()})
    assert done.status_code == 200
    assert done.json()["user"]["totp_enabled"] is True
    async with runtime.read_session() as session:
        user = await session.scalar(select(User).where(User.email == "staff@example.vn"))
    assert user is not None and user.totp_confirmed_at is not None and user.totp_secret == enrolment["secret"]

    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    again = await login(client)
    assert again.json()["totp_enrolment"] is None


async def test_wrong_password_and_unknown_email_look_alike(client: AsyncClient, runtime: Runtime) -> None:
    await make_staff(runtime)
    wrong = await login(client, password="wrong password!")
    unknown = await login(client, email="nobody@example.vn")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "login_failed"
    assert client.cookies.get("loa_session") is None


async def test_citizens_without_password_cannot_use_password_login(client: AsyncClient, sign_in: SignIn) -> None:
    await sign_in()
    client.cookies.clear()
    response = await login(client, email="x@example.vn", password="")
    assert response.status_code == 422  # empty password: refused by the schema


async def test_login_attempts_are_rate_limited_per_email(client: AsyncClient, runtime: Runtime) -> None:
    await make_staff(runtime)
    allowed = int(runtime.settings.login_limit_per_email.split("/")[0])
    for _ in range(allowed):
        assert (await login(client, password="wrong password!")).status_code == 401
    blocked = await login(client)  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert (await login(client, email="other@example.vn", password="wrong password!")).status_code == 401


async def test_login_attempts_are_rate_limited_per_ip(client: AsyncClient, runtime: Runtime) -> None:
    limit = runtime.settings.login_limit_per_ip
    await runtime.limiter.allow("signin_ip", "127.0.0.1", limit, cost=int(limit.split("/")[0]))
    assert (await login(client)).status_code == 429


async def test_totp_guesses_are_rate_limited(client: AsyncClient, runtime: Runtime) -> None:
    await make_staff(runtime)
    await login(client)
    statuses = [(await client.post("/api/v1/auth/totp", json={"code": "000000"})).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


async def test_an_old_password_hash_is_upgraded_on_login(client: AsyncClient, runtime: Runtime) -> None:
    user = await make_staff(runtime)
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1),)).hash(PASSWORD)
    async with runtime.session() as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.password_hash = weak
        await session.commit()
    assert (await login(client)).status_code == 200
    async with runtime.read_session() as session:
        rehashed = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert rehashed != weak and rehashed is not None and rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_logout_ends_the_session(client: AsyncClient, runtime: Runtime, staff_sign_in: SignIn) -> None:
    await staff_sign_in()
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert 'loa_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert client.cookies.get("loa_session") is None
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/auth/session")).json() == {
        "authenticated": False, "stage": None, "expires_at": None, "csrf_token": None, "user": None,
        "totp_enrolment": None}


async def test_create_operator_prints_the_authenticator_uri(runtime: Runtime,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    await create_operator(runtime.settings, email="Admin@Loa.gov.vn", password="a long enough password",
                          name="Quản trị viên")
    printed = capsys.readouterr().out
    assert "otpauth://totp/Loa:admin%40loa.gov.vn?secret=" in printed
    async with runtime.read_session() as session:
        user = await session.scalar(select(User).where(User.email == "admin@loa.gov.vn"))
    assert user is not None and user.is_operator and user.display_name == "Quản trị viên"
    first_secret = user.totp_secret

    # Running it again resets the credentials of the same user.
    await create_operator(runtime.settings, email="admin@loa.gov.vn", password="another long password",
                          name="Quản trị viên")
    async with runtime.read_session() as session:
        users = list(await session.scalars(select(User).where(User.email == "admin@loa.gov.vn")))
    assert len(users) == 1 and users[0].totp_secret != first_secret

    with pytest.raises(typer.Exit):
        await create_operator(runtime.settings, email="short@loa.gov.vn", password="too short", name="X")
    assert "10" in capsys.readouterr().err


async def test_operators_only_routes_refuse_other_users(client: AsyncClient, runtime: Runtime,
                                                        staff_sign_in: SignIn) -> None:
    from fastapi import Depends

    from loa.kit.auth import require_operator

    app = client._transport.app  # type: ignore[attr-defined]

    @app.get("/test-only/operators")
    async def operators_only(user: User = Depends(require_operator)) -> dict[str, str]:
        return {"id": str(user.id)}

    assert (await client.get("/test-only/operators")).status_code == 401
    await staff_sign_in()
    refused = await client.get("/test-only/operators")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    client.cookies.clear()
    await staff_sign_in("root@loa.gov.vn", operator=True)
    assert (await client.get("/test-only/operators")).status_code == 200
