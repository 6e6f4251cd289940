"""Following over the API: the citizen's side and the staff side, with blocks and tags."""

from __future__ import annotations

from httpx import AsyncClient
from tests.factories import BA_DINH, make_account, make_user

from loa.runtime import Runtime


async def test_follow_unfollow_and_my_follows(client_as, runtime: Runtime) -> None:
    citizen = await make_user(runtime, commune=BA_DINH)
    account = await make_account(runtime, name="Bộ Y tế", kind="ministry")
    me: AsyncClient = await client_as(citizen)
    followed = await me.post(f"/api/v1/accounts/{account.id}/follow")
    assert followed.status_code == 200
    assert (followed.json()["following"], followed.json()["follower_count"]) == (True, 1)
    again = await me.post(f"/api/v1/accounts/{account.id}/follow")
    assert again.json()["follower_count"] == 1
    page = (await me.get("/api/v1/me/follows")).json()
    assert [item["account"]["name"] for item in page["items"]] == ["Bộ Y tế"]
    left = await me.delete(f"/api/v1/accounts/{account.id}/follow")
    assert (left.json()["following"], left.json()["follower_count"]) == (False, 0)


async def test_following_needs_a_login_and_a_real_account(client: AsyncClient, client_as, runtime: Runtime) -> None:
    account = await make_account(runtime)
    assert (await client.post(f"/api/v1/accounts/{account.id}/follow")).status_code == 401
    me: AsyncClient = await client_as(await make_user(runtime))
    assert (await me.post("/api/v1/accounts/123456789/follow")).status_code == 404
    assert (await me.post("/api/v1/accounts/abc/follow")).status_code == 422


async def test_staff_tag_block_and_the_blocked_citizen_is_told(client_as, runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, name="Phòng CSGT Công an TP. Hà Nội", kind="police", owner=owner)
    citizen = await make_user(runtime, name="Phạm Thị Dung", commune=BA_DINH)
    me: AsyncClient = await client_as(citizen)
    await me.post(f"/api/v1/accounts/{account.id}/follow")
    staff: AsyncClient = await client_as(owner)
    tagged = await staff.put(f"/api/v1/accounts/{account.id}/followers/{citizen.id}/tags/Tài xế")
    assert tagged.status_code == 204
    tags = (await staff.get(f"/api/v1/accounts/{account.id}/follower-tags")).json()
    assert tags == [{"tag": "tai xe", "followers": 1}]
    by_tag = (await staff.get(f"/api/v1/accounts/{account.id}/followers", params={"tag": "tai xe"})).json()
    assert [f["display_name"] for f in by_tag["items"]] == ["Phạm Thị Dung"]
    blocked = await staff.post(f"/api/v1/accounts/{account.id}/blocks",
                               json={"user_id": str(citizen.id), "reason": "Tin rác"})
    assert blocked.status_code == 201
    refused = await me.post(f"/api/v1/accounts/{account.id}/follow")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("Tài khoản này đã chặn bạn")
    assert (await staff.get(f"/api/v1/accounts/{account.id}/followers")).json()["items"] == []
    assert (await staff.delete(f"/api/v1/accounts/{account.id}/blocks/{citizen.id}")).status_code == 204
    assert (await me.post(f"/api/v1/accounts/{account.id}/follow")).json()["following"] is True


async def test_deleting_my_account_keeps_follower_counts_exact(client_as, runtime: Runtime,
                                                                client: AsyncClient) -> None:
    account = await make_account(runtime)
    citizen = await make_user(runtime)
    me: AsyncClient = await client_as(citizen)
    await me.post(f"/api/v1/accounts/{account.id}/follow")
    export = (await me.get("/api/v1/me/export")).json()
    assert [f["account_name"] for f in export["follows"]] == [account.name]
    assert (await me.delete("/api/v1/me")).status_code in (200, 204)
    assert (await client.get(f"/api/v1/accounts/{account.id}")).json()["follower_count"] == 0
