from httpx import AsyncClient
from tests.factories import make_account

from loa.runtime import Runtime


async def test_the_home_page_searches_accounts_without_diacritics(client: AsyncClient, runtime: Runtime) -> None:
    await make_account(runtime, name="Bộ Y tế", kind="ministry")
    await make_account(runtime, name="Công an phường Ba Đình", kind="police")
    page = await client.get("/", params={"q": "bo y te"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Bộ Y tế" in page.text and "Công an phường Ba Đình" not in page.text
    assert '<html lang="vi">' in page.text


async def test_an_overlong_query_gets_a_readable_page_not_a_stack_trace(client: AsyncClient) -> None:
    page = await client.get("/", params={"q": "x" * 300})
    assert page.status_code == 422
    assert "Traceback" not in page.text
