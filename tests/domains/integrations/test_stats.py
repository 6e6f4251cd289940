"""The `stats` scope: an app reads its own account's figures (the same as the public statistics of that account),
for a period; without the scope, or with a bad period, it is refused."""

from __future__ import annotations

from httpx import AsyncClient
from tests.domains.integrations.helpers import bearer, get_tokens, make_app, make_tenant
from tests.factories import make_user

from loa.domains.conversations import service as conversations
from loa.domains.conversations.content import Content
from loa.domains.follows import service as follows
from loa.domains.stats import service as stats
from loa.domains.stats.periods import vn_today
from loa.kit.effects import commit
from loa.runtime import Runtime


async def test_an_app_reads_its_accounts_figures(runtime: Runtime, client_as, client: AsyncClient) -> None:
    tenant = await make_tenant(runtime, client_as)
    other = await make_tenant(runtime, client_as, "Công an TP Hà Nội")
    citizen = await make_user(runtime)
    async with runtime.session() as session:
        await follows.follow(session, user=citizen, account_id=tenant.account.id)
        await follows.follow(session, user=citizen, account_id=other.account.id)
        await commit(session)
    await conversations.send_as_citizen(runtime, citizen=citizen, account_id=tenant.account.id,
                                        content=Content(kind="text", text="Xin chào"))
    await stats.rebuild(runtime)
    token = (await get_tokens(client, await make_app(tenant, ["stats"])))["access_token"]

    year = vn_today().year
    found = await client.get("/api/v1/oa/stats", params={"year": year}, headers=bearer(token))
    assert found.status_code == 200, found.text
    figures = found.json()
    assert figures["scope"]["kind"] == "account" and figures["scope"]["code"] == str(tenant.account.id)
    assert figures["period"]["from"] == f"{year}-01-01"
    assert figures["follows"]["follows"] == 1 and figures["interactions"]["messages_in"] == 1
    public = await client.get("/api/v1/stats/figures", params={"year": year, "account": str(tenant.account.id)})
    assert {key: value for key, value in public.json().items() if key != "as_of"} == {
        key: value for key, value in figures.items() if key != "as_of"}

    for params in ({"from": f"{year}-12-31", "to": f"{year}-01-01"}, {"year": "x"}, {"from": "2024-02-30"},
                   {"year": 1}):
        refused = await client.get("/api/v1/oa/stats", params=params, headers=bearer(token))
        assert refused.status_code == 422, (params, refused.text)
        assert "error" in refused.json()
    other_scope = (await get_tokens(client, await make_app(tenant, ["messages"])))["access_token"]
    refused = await client.get("/api/v1/oa/stats", headers=bearer(other_scope))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
