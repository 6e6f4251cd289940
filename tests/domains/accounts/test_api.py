"""The accounts API as staff, citizens and operators use it, with its refusals."""

from __future__ import annotations

from httpx import AsyncClient
from tests.factories import BA_DINH, HANOI, add_staff, make_account, make_user

from loa.runtime import Runtime


async def test_a_signed_in_person_registers_an_account_and_becomes_its_owner(client_as, runtime: Runtime) -> None:
    owner = await make_user(runtime, email="chu.tich@badinh.gov.vn")
    client: AsyncClient = await client_as(owner)
    response = await client.post(
        "/api/v1/accounts",
        json={
            "name": "UBND Phường Ba Đình",
            "kind": "commune_committee",
            "province_code": HANOI,
            "commune_code": BA_DINH,
            "contacts": {"phone": "024 3823 1234", "address": "2 Phan Kế Bính"},
            "office_hours": [{"weekday": 0, "opens": "07:30", "closes": "11:30"}],
        },
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert (account["verified"], account["verification_status"]) == (False, "unverified")
    assert account["kind_label"] == "UBND xã, phường, đặc khu"
    members = (await client.get(f"/api/v1/accounts/{account['id']}/members")).json()
    assert [(m["user_id"], m["role"]) for m in members] == [(str(owner.id), "owner")]


async def test_registering_needs_a_login_and_valid_fields(client: AsyncClient, client_as, runtime: Runtime) -> None:
    anonymous = await client.post("/api/v1/accounts", json={"name": "X Y", "kind": "school", "province_code": "01"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "login_required"
    signed_in: AsyncClient = await client_as(await make_user(runtime))
    for body in (
        {"name": "Trường A", "kind": "school", "province_code": "01", "extra": 1},
        {"name": "Trường A", "kind": "school", "province_code": "00"},
        {"name": "Trường A", "kind": "school", "province_code": "01", "commune_code": "25747"},
        {"name": "T" * 201, "kind": "school", "province_code": "01"},
        {
            "name": "Trường A",
            "kind": "school",
            "province_code": "01",
            "office_hours": [{"weekday": 1, "opens": "17:00", "closes": "08:00"}],
        },
    ):
        response = await signed_in.post("/api/v1/accounts", json=body)
        assert 400 <= response.status_code < 500, body
        assert response.json()["error"]["message"]
    assert (await client.get("/api/v1/accounts", params={"verified": "false"})).json()["items"] == []


async def test_malformed_json_gets_the_error_envelope(client_as, runtime: Runtime) -> None:
    signed_in: AsyncClient = await client_as(await make_user(runtime))
    response = await signed_in.post(
        "/api/v1/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


async def test_staff_of_one_account_cannot_touch_another(client_as, runtime: Runtime) -> None:
    owner_a, owner_b = await make_user(runtime), await make_user(runtime)
    account_a = await make_account(runtime, name="Công an phường Ba Đình", kind="police", owner=owner_a)
    account_b = await make_account(runtime, name="Điện lực Hà Nội", kind="power", owner=owner_b)
    intruder: AsyncClient = await client_as(owner_b)
    for method, path, body in (
        ("GET", f"/api/v1/accounts/{account_a.id}/members", None),
        ("PUT", f"/api/v1/accounts/{account_a.id}/members", {"user_id": str(owner_b.id), "role": "owner"}),
        ("PATCH", f"/api/v1/accounts/{account_a.id}", {"name": "Bị sửa"}),
        ("GET", f"/api/v1/accounts/{account_a.id}/api-tokens", None),
        ("POST", f"/api/v1/accounts/{account_a.id}/api-tokens", {"name": "x", "scopes": ["followers"]}),
        ("GET", f"/api/v1/accounts/{account_a.id}/followers", None),
        ("GET", f"/api/v1/accounts/{account_a.id}/verification", None),
    ):
        response = await intruder.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    public = (await intruder.get(f"/api/v1/accounts/{account_a.id}")).json()
    assert public["name"] == "Công an phường Ba Đình"
    assert (await intruder.get(f"/api/v1/accounts/{account_b.id}/members")).status_code == 200


async def test_verification_from_application_to_badge(client_as, runtime: Runtime, client: AsyncClient) -> None:
    owner, operator = await make_user(runtime), await make_user(runtime, operator=True)
    account = await make_account(runtime, name="Trường THPT Chu Văn An", kind="school", owner=owner, verified=False)
    staff: AsyncClient = await client_as(owner)
    applied = await staff.post(
        f"/api/v1/accounts/{account.id}/verification",
        json={
            "documents": [{"title": "Quyết định thành lập trường", "reference": "QĐ 123/QĐ-UBND"}],
        },
    )
    assert applied.status_code == 201, applied.text
    assert (await staff.get("/api/v1/admin/verification-applications")).status_code == 403
    admin: AsyncClient = await client_as(operator)
    queue = (await admin.get("/api/v1/admin/verification-applications")).json()["items"]
    assert [item["account_name"] for item in queue] == ["Trường THPT Chu Văn An"]
    assert (await client.get("/api/v1/accounts", params={"q": "chu van an"})).json()["items"] == []
    decided = await admin.post(
        f"/api/v1/admin/verification-applications/{queue[0]['id']}/decision", json={"approve": True}
    )
    assert decided.json()["status"] == "approved"
    found = (await client.get("/api/v1/accounts", params={"q": "chu van an"})).json()["items"]
    assert [(item["name"], item["verified"]) for item in found] == [("Trường THPT Chu Văn An", True)]


async def test_an_api_token_reads_followers_of_its_own_account_only(
    client_as, runtime: Runtime, client: AsyncClient
) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    other = await make_account(runtime, name="Sở Xây dựng Hà Nội")
    citizen = await make_user(runtime, name="Lê Văn Cường", commune=BA_DINH)
    await (await client_as(citizen)).post(f"/api/v1/accounts/{account.id}/follow")
    staff: AsyncClient = await client_as(owner)
    created = (
        await staff.post(
            f"/api/v1/accounts/{account.id}/api-tokens", json={"name": "Hệ thống một cửa", "scopes": ["followers"]}
        )
    ).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    own = await client.get(f"/api/v1/accounts/{account.id}/followers", headers=bearer)
    assert [f["display_name"] for f in own.json()["items"]] == ["Lê Văn Cường"]
    assert "phone" not in own.json()["items"][0]
    assert (await client.get(f"/api/v1/accounts/{other.id}/followers", headers=bearer)).status_code == 403
    assert created["token"] not in str((await staff.get(f"/api/v1/accounts/{account.id}/api-tokens")).json())
    await staff.delete(f"/api/v1/accounts/{account.id}/api-tokens/{created['id']}")
    assert (await client.get(f"/api/v1/accounts/{account.id}/followers", headers=bearer)).status_code == 401


async def test_roles_are_managed_over_the_api(client_as, runtime: Runtime) -> None:
    owner, editor = await make_user(runtime), await make_user(runtime, name="Biên tập viên")
    account = await make_account(runtime, owner=owner)
    staff: AsyncClient = await client_as(owner)
    added = await staff.put(
        f"/api/v1/accounts/{account.id}/members", json={"user_id": str(editor.id), "role": "editor"}
    )
    assert added.json()["role"] == "editor"
    mine = (await (await client_as(editor)).get("/api/v1/me/accounts")).json()
    assert mine == [{"account_id": str(account.id), "name": account.name, "role": "editor"}]
    last_owner = await staff.delete(f"/api/v1/accounts/{account.id}/members/{owner.id}")
    assert last_owner.status_code == 409
    await add_staff(runtime, account, editor, "viewer")
    assert (await staff.delete(f"/api/v1/accounts/{account.id}/members/{editor.id}")).status_code == 204


async def test_the_qr_code_points_at_the_account(client: AsyncClient, runtime: Runtime) -> None:
    account = await make_account(runtime, name="Bệnh viện Bạch Mai", kind="hospital")
    response = await client.get(f"/api/v1/accounts/{account.id}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg")


async def test_unknown_account_is_404_with_the_envelope(client: AsyncClient) -> None:
    response = await client.get("/api/v1/accounts/987654321")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "account_not_found"
