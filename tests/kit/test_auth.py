"""The dependencies other domains use: who is signed in, operators only, and scoped API tokens."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi import Depends, FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from loa.db.base import utcnow
from loa.domains.accounts.models import Account, ApiToken
from loa.domains.people import service
from loa.domains.people.models import LoginSession, User
from loa.kit.auth import Principal, hash_token, new_token, optional_principal, require_api_token, require_user
from loa.kit.effects import commit
from loa.runtime import Runtime


@pytest.fixture
async def probe(app: FastAPI) -> FastAPI:
    @app.get("/test-only/whoami")
    async def whoami(principal: Principal = Depends(optional_principal)) -> dict[str, object]:
        return {"user": principal.user.id if principal.user else None,
                "stage": principal.session.stage if principal.session else None}

    @app.get("/test-only/me")
    async def me(user: User = Depends(require_user)) -> dict[str, object]:
        return {"id": user.id}

    @app.post("/test-only/integration")
    async def integration(principal: Principal = Depends(require_api_token("messages:send"))) -> dict[str, object]:
        assert principal.api_token is not None and principal.user is None
        return {"account_id": principal.api_token.account_id}

    return app


async def signed_in(runtime: Runtime, client: AsyncClient, *, stage: str = "active") -> tuple[User, LoginSession]:
    async with runtime.session() as session:
        user = User(phone="+84912345678")
        session.add(user)
        await session.flush()
        token, login_session = await service.start_session(session, user, stage=stage)
        await commit(session)
    client.cookies.set("loa_session", token)
    return user, login_session


async def make_token(runtime: Runtime, *, scopes: list[str], expires_in: timedelta | None = None,
                     revoked: bool = False) -> tuple[int, str]:
    plain = "loa_" + new_token()
    async with runtime.session() as session:
        account = Account(handle=f"acct-{plain[-8:].lower()}", name="Công an phường", kind="police", province_code="01")
        session.add(account)
        await session.flush()
        session.add(ApiToken(account_id=account.id, name="tích hợp", token_hash=hash_token(plain), prefix=plain[:10],
                             scopes=scopes, expires_at=utcnow() + expires_in if expires_in else None,
                             revoked_at=utcnow() if revoked else None))
        await commit(session)
        return account.id, plain


def test_hash_token_is_sha256_hex() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(new_token()) >= 43 and new_token() != new_token()


async def test_active_session_gives_the_user(client: AsyncClient, runtime: Runtime, probe: FastAPI) -> None:
    assert (await client.get("/test-only/whoami")).json() == {"user": None, "stage": None}
    response = await client.get("/test-only/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Bạn cần đăng nhập / Login required"
    user, _ = await signed_in(runtime, client)
    assert (await client.get("/test-only/whoami")).json() == {"user": user.id, "stage": "active"}
    assert (await client.get("/test-only/me")).json() == {"id": user.id}


async def test_a_session_waiting_for_its_second_factor_is_nobody(client: AsyncClient, runtime: Runtime,
                                                                 probe: FastAPI) -> None:
    await signed_in(runtime, client, stage="second_factor")
    assert (await client.get("/test-only/whoami")).json() == {"user": None, "stage": "second_factor"}
    assert (await client.get("/test-only/me")).status_code == 401


async def test_expired_and_unknown_sessions_are_nobody(client: AsyncClient, runtime: Runtime, probe: FastAPI) -> None:
    await signed_in(runtime, client)
    async with runtime.session() as session:
        await session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert (await client.get("/test-only/me")).status_code == 401
    client.cookies.set("loa_session", "x" * 500)
    assert (await client.get("/test-only/me")).status_code == 401


async def test_last_seen_is_written_at_most_once_a_minute(client: AsyncClient, runtime: Runtime,
                                                          probe: FastAPI) -> None:
    _, login_session = await signed_in(runtime, client)
    long_ago = utcnow() - timedelta(minutes=5)
    async with runtime.session() as session:
        await session.execute(update(LoginSession).values(last_seen_at=long_ago))
        await session.commit()
    await client.get("/test-only/me")
    async with runtime.read_session() as session:
        first = (await session.get(LoginSession, login_session.id)).last_seen_at  # type: ignore[union-attr]
    assert first > long_ago
    await client.get("/test-only/me")
    async with runtime.read_session() as session:
        assert (await session.get(LoginSession, login_session.id)).last_seen_at == first  # type: ignore[union-attr]


async def test_api_token_with_the_scope_is_accepted(client: AsyncClient, runtime: Runtime, probe: FastAPI) -> None:
    account_id, plain = await make_token(runtime, scopes=["messages:send", "broadcasts:write"])
    response = await client.post("/test-only/integration", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"account_id": account_id}
    async with runtime.read_session() as session:
        last_used = await session.scalar(select(ApiToken.last_used_at))
    assert last_used is not None


@pytest.mark.parametrize(("case", "status", "code"), [
    ("missing", 401, "invalid_token"), ("unknown", 401, "invalid_token"), ("revoked", 401, "invalid_token"),
    ("expired", 401, "invalid_token"), ("scope", 403, "insufficient_scope"),
])
async def test_api_token_refusals(client: AsyncClient, runtime: Runtime, probe: FastAPI, case: str, status: int,
                                  code: str) -> None:
    _, plain = await make_token(
        runtime, scopes=["broadcasts:write"] if case == "scope" else ["messages:send"], revoked=case == "revoked",
        expires_in=timedelta(seconds=-1) if case == "expired" else None)
    headers = {} if case == "missing" else {
        "Authorization": f"Bearer {'loa_' + new_token() if case == 'unknown' else plain}"}
    response = await client.post("/test-only/integration", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_a_session_cookie_is_no_api_token(client: AsyncClient, runtime: Runtime, probe: FastAPI) -> None:
    _, login_session = await signed_in(runtime, client)
    response = await client.post("/test-only/integration", headers={"X-CSRF-Token": login_session.csrf_token})
    assert response.status_code == 401
