"""Unsafe requests riding on a session cookie must come from our own pages and carry the session's token."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI, Request
from httpx import AsyncClient
from sqlalchemy import func, select

from loa.domains.people import service
from loa.domains.people.models import LoginSession, User
from loa.kit.auth import require_user
from loa.kit.effects import commit
from loa.runtime import Runtime

CONSENT = {"purpose": "service", "granted": True, "text_version": "1"}


@pytest.fixture(autouse=True)
async def fresh_limits(runtime: Runtime) -> None:
    await runtime.limiter.reset()  # these tests ask for codes too; the Redis-backed counts outlive a test


@pytest.fixture
async def probe(app: FastAPI) -> FastAPI:
    @app.post("/test-only/form")
    async def form(request: Request, user: User = Depends(require_user)) -> dict[str, object]:
        fields = await request.form()
        return {"fields": {key: str(value) for key, value in fields.items()}}

    return app


async def signed_in(runtime: Runtime, client: AsyncClient) -> str:
    async with runtime.session() as session:
        user = User(phone="+84912345678")
        session.add(user)
        await session.flush()
        token, login_session = await service.start_session(session, user)
        await commit(session)
    client.cookies.set("loa_session", token)
    return login_session.csrf_token


def refused(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 403 and response.json()["error"]["code"] == "csrf"


async def test_cross_site_and_same_site_requests_are_refused(client: AsyncClient, runtime: Runtime) -> None:
    csrf = await signed_in(runtime, client)
    for site in ("cross-site", "same-site"):
        response = await client.post("/api/v1/me/consents", json=CONSENT,
                                     headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": site})
        assert refused(response), site
        assert "CSRF" in response.json()["error"]["message"]
    for site in ("same-origin", "none"):
        response = await client.post("/api/v1/me/consents", json=CONSENT,
                                     headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": site})
        assert response.status_code == 201, site


async def test_without_fetch_metadata_the_origin_must_be_ours(client: AsyncClient, runtime: Runtime) -> None:
    csrf = await signed_in(runtime, client)
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        response = await client.post("/api/v1/me/consents", json=CONSENT,
                                     headers={"X-CSRF-Token": csrf, "Origin": origin})
        assert refused(response), origin
    ours = await client.post("/api/v1/me/consents", json=CONSENT,
                             headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
    assert ours.status_code == 201


async def test_the_public_url_counts_as_our_origin(client: AsyncClient, runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"public_url": "https://loa.gov.vn/"})
    csrf = await signed_in(runtime, client)
    response = await client.post("/api/v1/me/consents", json=CONSENT,
                                 headers={"X-CSRF-Token": csrf, "Origin": "https://loa.gov.vn"})
    assert response.status_code == 201


async def test_a_missing_or_wrong_token_is_refused(client: AsyncClient, runtime: Runtime) -> None:
    csrf = await signed_in(runtime, client)
    assert refused(await client.post("/api/v1/me/consents", json=CONSENT))
    assert refused(await client.post("/api/v1/me/consents", json=CONSENT, headers={"X-CSRF-Token": csrf[:-1] + "x"}))
    assert refused(await client.delete("/api/v1/me"))
    assert refused(await client.post("/api/v1/auth/logout"))
    async with runtime.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(LoginSession)) == 1
        assert await session.scalar(select(func.count()).select_from(User)) == 1
    # Reading needs no token.
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_a_plain_form_carries_the_token_as_a_field(client: AsyncClient, runtime: Runtime, probe: FastAPI) -> None:
    csrf = await signed_in(runtime, client)
    assert refused(await client.post("/test-only/form", data={"display_name": "An"}))
    assert refused(await client.post("/test-only/form", data={"csrf_token": "wrong"}))
    response = await client.post("/test-only/form", data={"csrf_token": csrf, "display_name": "An"})
    assert response.status_code == 200
    # The application still reads the whole form after the check.
    assert response.json() == {"fields": {"csrf_token": csrf, "display_name": "An"}}
    multipart = await client.post("/test-only/form", data={"csrf_token": csrf, "note": "ảnh"},
                                  files={"photo": ("a.jpg", b"\xff\xd8\xff" + b"0" * 5000, "image/jpeg")})
    assert multipart.status_code == 200
    assert multipart.json()["fields"]["note"] == "ảnh"


async def test_bearer_requests_are_exempt(client: AsyncClient, runtime: Runtime) -> None:
    await signed_in(runtime, client)
    headers = {"Authorization": "Bearer loa_not-a-real-token", "Sec-Fetch-Site": "cross-site"}
    response = await client.post("/api/v1/me/consents", json=CONSENT, headers=headers)
    # Past the CSRF check, but a bearer request is judged by its token alone: the cookie beside it lends nothing.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "login_required"


async def test_requests_without_a_session_pass_but_sign_in_is_guarded(client: AsyncClient) -> None:
    anonymous = await client.post("/api/v1/me/consents", json=CONSENT, headers={"Sec-Fetch-Site": "cross-site"})
    assert anonymous.status_code == 401  # no ambient credential: nothing to forge
    forged_sign_in = await client.post("/api/v1/auth/otp/request", json={"phone": "0912345678"},
                                       headers={"Sec-Fetch-Site": "cross-site"})
    assert refused(forged_sign_in)


async def test_a_stale_cookie_does_not_block_signing_in_again(client: AsyncClient) -> None:
    client.cookies.set("loa_session", "expired-or-unknown")
    response = await client.post("/api/v1/auth/otp/request", json={"phone": "0912345678"})
    assert response.status_code == 202
