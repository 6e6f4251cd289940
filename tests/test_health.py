from httpx import AsyncClient


async def test_healthz_answers_ok(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_document_is_openapi_3(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Loa"


async def test_unknown_path_gets_the_error_envelope(client: AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_metrics_are_exposed_for_prometheus(client: AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "loa_http_requests_total" in response.text
