"""The public view of reports (no login): only what may be public, never the reporter, locations rounded
on a fixed grid, filters and folded search, the map's bounding box."""

from __future__ import annotations

import io
import math
from typing import Any

from httpx import AsyncClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import text
from tests.domains.conversations.helpers import assert_error
from tests.domains.reports.helpers import LAT, LON, Scene, act, commune_at, file, make_scene, waste_report
from tests.factories import add_staff, make_account, make_user

from loa.domains.reports import public, service
from loa.runtime import Runtime

PUBLIC = "/api/v1/public/reports"
# Bến Thành, TP. Hồ Chí Minh.
HCM_LAT, HCM_LON = 10.7725, 106.6980


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine, on the mean Earth radius: the test's own ruler, not the code's."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def public_codes(client: AsyncClient, **params: Any) -> list[str]:
    response = await client.get(PUBLIC, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [row["code"] for row in response.json()["items"]]


async def file_with_photo(scene: Scene, **extra: Any) -> dict[str, Any]:
    body = waste_report(**extra)
    form = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in body.items()}
    response = await scene.as_citizen.post("/api/v1/reports/form", data=form,
                                           files=[("photos", ("ho.jpg", jpeg(), "image/jpeg"))])
    assert response.status_code == 201, response.text
    return response.json()


async def test_only_public_visible_reports_appear_and_never_the_reporter(runtime: Runtime, client: AsyncClient,
                                                                         client_as) -> None:
    scene = await make_scene(runtime, client_as)
    phone = scene.citizen.phone
    assert phone
    shown = await file_with_photo(scene)
    private = await file_with_photo(scene, public=False)
    hidden = await file(scene.as_citizen, waste_report())
    rejected = await file(scene.as_citizen, waste_report())
    merged = await file(scene.as_citizen, waste_report())
    hide = await scene.as_manager.put(f"/api/v1/reports/{hidden['id']}/hidden",
                                      json={"hidden": True, "reason": "Có thông tin cá nhân"})
    assert hide.status_code == 200, hide.text
    await act(scene.as_manager, rejected["id"], "reject", note="Không thuộc thẩm quyền")
    await act(scene.as_agent, merged["id"], "merge", duplicate_of=shown["code"])
    # A report sent by another system: the reporter is known only by a contact, staff only.
    by_contact = await service.submit(runtime, reporter=None, category_code="waste",
                                      description="Bãi rác tự phát ở đầu ngõ, bốc mùi khó chịu.", latitude=LAT,
                                      longitude=LON, reporter_contact={"name": "Lê Thị Cúc", "phone": "+84987654321"},
                                      source="open311")
    # The handling, with the reporter's own words (a phone number) and the staff's names on the staff side.
    for action, extra in [("accept", {}), ("assign", {"assignee_id": scene.agent.id}), ("start", {}),
                          ("ask", {"note": "Rác ở phía nào của hồ?"})]:
        await act(scene.as_manager if action == "assign" else scene.as_agent, shown["id"], action, **extra)
    supplemented = await scene.as_citizen.post(
        f"/api/v1/me/reports/{shown['id']}/actions",
        json={"action": "supplement", "note": f"Phía đền Ngọc Sơn, gọi tôi số {phone}"})
    assert supplemented.status_code == 200, supplemented.text
    await act(scene.as_agent, shown["id"], "resolve", note="Đã thu gom rác.")

    assert await public_codes(client) == [by_contact.code, shown["code"]]  # newest first
    secrets = ["Nguyễn Văn An", phone, phone[3:], "Lê Thị Cúc", "+84987654321", "987654321", "Cán bộ Lan",
               "Chủ tịch Hà", '"reporter', "contact", "actor_id", "actor_name", "assigned_to", '"user']
    pages = [await client.get(PUBLIC), await client.get(f"{PUBLIC}/{shown['code']}"),
             await client.get(f"{PUBLIC}/{by_contact.code}"),
             await client.get(f"{PUBLIC}/map", params={"south": 20, "west": 105, "north": 22, "east": 107})]
    for page in pages:
        assert page.status_code == 200, page.text
        for secret in secrets:
            assert secret not in page.text, (secret, page.text)

    detail = pages[1].json()
    assert detail["status"] == "resolved" and detail["state"] == "closed" and detail["answer"] == "Đã thu gom rác."
    assert detail["account"]["name"] == "UBND phường Hoàn Kiếm" and detail["province_name"] and detail["commune_name"]
    assert "address" not in detail and "fields" not in detail and "id" not in detail
    steps = {step["type"]: step for step in detail["timeline"]}
    assert list(steps) == ["submitted", "accept", "assign", "start", "ask", "supplement", "resolve"]
    assert steps["supplement"]["note"] == "" and steps["ask"]["note"] == "Rác ở phía nào của hồ?"
    assert all(set(step) == {"type", "label", "from_status", "to_status", "actor", "note", "created_at", "data"}
               for step in detail["timeline"])
    # The photo of a public report is served to anyone; a private one's to nobody but its people.
    [photo] = detail["photos"]
    assert (await client.get(photo["url"])).status_code == 200
    assert (await client.get(photo["thumbnail_url"])).status_code == 200
    assert_error(await client.get(private["photos"][0]["url"]), 404, "photo_not_found")

    for report in (private, hidden, rejected, merged):
        assert_error(await client.get(f"{PUBLIC}/{report['code']}"), 404, "report_not_found")
    assert_error(await client.get(f"{PUBLIC}/PA-2020-999999"), 404, "report_not_found")
    # Hidden again, the report leaves every public view at once, photos included.
    await scene.as_manager.put(f"/api/v1/reports/{shown['id']}/hidden", json={"hidden": True})
    assert await public_codes(client) == [by_contact.code]
    assert_error(await client.get(f"{PUBLIC}/{shown['code']}"), 404, "report_not_found")
    assert_error(await client.get(photo["url"]), 404, "photo_not_found")


@settings(max_examples=300, deadline=None)
@given(latitude=st.floats(8.0, 23.5), longitude=st.floats(102.0, 117.5), metres=st.sampled_from([50, 100, 200, 1000]))
def test_rounding_stays_within_the_rounding_and_gives_one_answer_per_cell(latitude: float, longitude: float,
                                                                          metres: int) -> None:
    snapped = public.rounded(latitude, longitude, metres)
    assert distance_m(latitude, longitude, *snapped) <= metres
    # The answer is the centre of the point's cell: the centre's cell is the same, so the same answer.
    assert public.rounded(*snapped, metres) == snapped
    assert public.rounded(latitude, longitude, 0) == (latitude, longitude)


async def test_a_rounded_location_is_near_the_true_one_and_the_same_on_every_request(runtime: Runtime,
                                                                                     client: AsyncClient,
                                                                                     client_as) -> None:
    scene = await make_scene(runtime, client_as)
    true_lat, true_lon = LAT + 0.00037, LON + 0.00041
    traffic = await file(scene.as_citizen, {
        "category": "traffic_violation", "description": "Xe máy đi ngược chiều trên phố Đinh Tiên Hoàng.",
        "latitude": true_lat, "longitude": true_lon, "fields": {"vehicle": "motorbike", "violation": "wrong_way"}})
    exact = await file(scene.as_citizen, waste_report())
    answers = set()
    for _ in range(5):
        detail = (await client.get(f"{PUBLIC}/{traffic['code']}")).json()
        answers.add((detail["latitude"], detail["longitude"]))
    listed = {row["code"]: row for row in (await client.get(PUBLIC)).json()["items"]}
    answers.add((listed[traffic["code"]]["latitude"], listed[traffic["code"]]["longitude"]))
    mapped = (await client.get(f"{PUBLIC}/map", params={"south": 21, "west": 105.8, "north": 21.1,
                                                         "east": 105.9})).json()["items"]
    answers |= {(point["latitude"], point["longitude"]) for point in mapped if point["code"] == traffic["code"]}
    [(lat, lon)] = answers  # one answer, however often and wherever it is asked
    assert (lat, lon) != (true_lat, true_lon) and detail["location_rounding_m"] == 100
    assert distance_m(true_lat, true_lon, lat, lon) <= 100
    # The reporter's own view keeps the true point; a category without rounding shows it as reported.
    assert (await scene.as_citizen.get(f"/api/v1/me/reports/{traffic['id']}")).json()["latitude"] == true_lat
    assert listed[exact["code"]]["latitude"] == LAT and listed[exact["code"]]["longitude"] == LON


async def test_filters_and_folded_search(runtime: Runtime, client: AsyncClient, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    hcm_commune, hcm_province = await commune_at(runtime, HCM_LAT, HCM_LON)
    hcm = await make_account(runtime, name="UBND phường Bến Thành", kind="commune_committee", province=hcm_province,
                             commune=hcm_commune)
    hcm_staff = await make_user(runtime, name="Cán bộ Sài Gòn")
    await add_staff(runtime, hcm, hcm_staff, "admin")
    waste = await file(scene.as_citizen, waste_report(address="Số 12 Hàng Bạc"))
    road = await file(scene.as_citizen, {
        "category": "road_damage", "description": "Ổ gà lớn giữa đường Lê Lợi, xe máy dễ ngã.",
        "latitude": HCM_LAT, "longitude": HCM_LON, "fields": {"size": "large", "danger": "yes"}})
    done = await file(scene.as_citizen, {
        "category": "street_lighting", "description": "Đèn đường hỏng cả dãy phố Tràng Tiền.",
        "latitude": LAT, "longitude": LON})
    for action, extra in [("accept", {}), ("assign", {"assignee_id": scene.agent.id}), ("start", {}),
                          ("resolve", {"note": "Đã thay bóng đèn."}), ("close", {})]:
        await act(scene.as_manager if action == "assign" else scene.as_agent, done["id"], action, **extra)

    assert await public_codes(client, category="waste") == [waste["code"]]
    assert await public_codes(client, province_code=hcm_province) == [road["code"]]
    assert await public_codes(client, commune_code=scene.commune_code) == [done["code"], waste["code"]]
    assert await public_codes(client, province_code=scene.province_code, commune_code=scene.commune_code) == [
        done["code"], waste["code"]]
    assert await public_codes(client, status="closed") == [done["code"]]
    assert await public_codes(client, status="open") == [road["code"], waste["code"]]
    # Accents optional, đ folded, any order, code searchable too.
    assert await public_codes(client, q="rac thai") == [waste["code"]]
    assert await public_codes(client, q="RÁC thải") == [waste["code"]]
    assert await public_codes(client, q="duong") == [done["code"], road["code"]]
    assert await public_codes(client, q="o ga le loi") == [road["code"]]
    assert await public_codes(client, q=road["code"].lower()) == [road["code"]]
    assert await public_codes(client, q="duong", status="open") == [road["code"]]
    # The address is not shown, so it does not find a report either (the staff's search does).
    assert await public_codes(client, q="hang bac") == []
    staff_queue = (await scene.as_manager.get(f"/api/v1/accounts/{scene.committee.id}/reports",
                                              params={"q": "hang bac"})).json()["items"]
    assert [row["code"] for row in staff_queue] == [waste["code"]]

    # Pages of one, newest first, with and without a filter applied after the database.
    for params in ({}, {"q": "duong"}):
        seen, cursor = [], None
        while True:
            page = (await client.get(PUBLIC, params={"limit": 1, **params, **({"cursor": cursor} if cursor else {})}
                                     )).json()
            seen += [row["code"] for row in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == await public_codes(client, **params)

    for params, field in [({"province_code": "99"}, "province_code"), ({"commune_code": "99999"}, "commune_code"),
                          ({"province_code": hcm_province, "commune_code": scene.commune_code}, "commune_code"),
                          ({"category": "no_such_thing"}, "category")]:
        error = assert_error(await client.get(PUBLIC, params=params), 422)
        assert error["details"][0]["field"] == field, error
    assert_error(await client.get(PUBLIC, params={"status": "pending"}), 422)
    assert_error(await client.get(PUBLIC, params={"cursor": "not-a-cursor"}), 422, "invalid_cursor")


async def test_the_map_gives_rounded_points_in_the_box_and_is_capped(runtime: Runtime, client: AsyncClient,
                                                                    client_as) -> None:
    scene = await make_scene(runtime, client_as)
    points = [(LAT + 0.001 * i, LON + 0.001 * i) for i in range(3)]
    codes = [(await file(scene.as_citizen, waste_report(latitude=lat, longitude=lon)))["code"] for lat, lon in points]
    traffic = await file(scene.as_citizen, {
        "category": "traffic_violation", "description": "Ô tô đỗ trên vỉa hè phố Lê Thái Tổ cả ngày.",
        "latitude": LAT, "longitude": LON - 0.002, "fields": {"vehicle": "car", "violation": "illegal_parking"}})
    box = {"south": LAT - 0.01, "west": LON - 0.01, "north": LAT + 0.01, "east": LON + 0.01}

    whole = (await client.get(f"{PUBLIC}/map", params=box)).json()
    assert [point["code"] for point in whole["items"]] == [traffic["code"], *reversed(codes)]
    assert whole["truncated"] is False
    assert set(whole["items"][0]) == {"code", "category", "status", "state", "title", "latitude", "longitude"}
    capped = (await client.get(f"{PUBLIC}/map", params={**box, "limit": 2})).json()
    assert len(capped["items"]) == 2 and capped["truncated"] is True
    only_first = {"south": LAT - 0.0005, "west": LON - 0.0005, "north": LAT + 0.0005, "east": LON + 0.0005}
    assert [p["code"] for p in (await client.get(f"{PUBLIC}/map", params=only_first)).json()["items"]] == [codes[0]]
    assert (await client.get(f"{PUBLIC}/map", params={"south": 10, "west": 106, "north": 11, "east": 107})
            ).json()["items"] == []
    assert [p["code"] for p in (await client.get(f"{PUBLIC}/map", params={**box, "category": "traffic_violation"})
                                ).json()["items"]] == [traffic["code"]]

    # A box around the true point that misses the rounded one finds nothing: boxes cannot home in on it.
    shown_lat, shown_lon = public.rounded(LAT, LON - 0.002, 100)
    tiny = 0.00001
    true_only = {"south": LAT - tiny, "north": LAT + tiny, "west": LON - 0.002 - tiny, "east": LON - 0.002 + tiny}
    assert not (true_only["south"] <= shown_lat <= true_only["north"]
                and true_only["west"] <= shown_lon <= true_only["east"])
    assert (await client.get(f"{PUBLIC}/map", params=true_only)).json()["items"] == []
    around_shown = {"south": shown_lat - tiny, "north": shown_lat + tiny, "west": shown_lon - tiny,
                    "east": shown_lon + tiny}
    assert [p["code"] for p in (await client.get(f"{PUBLIC}/map", params=around_shown)).json()["items"]] == [
        traffic["code"]]

    for params, field in [({**box, "south": LAT + 0.02}, "north"), ({**box, "west": LON + 0.02}, "east"),
                          ({**box, "north": 91}, "query.north"), ({**box, "east": "abc"}, "query.east")]:
        error = assert_error(await client.get(f"{PUBLIC}/map", params=params), 422)
        assert error["details"][0]["field"] == field, error
    assert_error(await client.get(f"{PUBLIC}/map", params={"south": 1, "west": 2, "north": 3}), 422)
    assert_error(await client.get(f"{PUBLIC}/map", params={**box, "south": "nan"}), 422)


async def test_the_public_list_is_served_by_its_index(runtime: Runtime) -> None:
    """Newest public reports first, read from `ix_reports_public (public_visible, id)` rather than sorting the
    whole table: the plan is asked of the database itself."""
    query = public.public_query(public.Filters()).limit(30)
    async with runtime.session() as session:
        sql = str(query.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}))
        if runtime.is_sqlite:
            plan = " ".join(str(row[-1]) for row in (await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all())
            assert "ix_reports_public" in plan and "TEMP B-TREE" not in plan, plan
        else:
            # A test's nearly empty table is cheapest read whole and sorted: ask for the plan of a big one.
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                await session.execute(text(f"SET LOCAL {setting} = off"))
            plan = " ".join(row[0] for row in (await session.execute(text(f"EXPLAIN {sql}"))).all())
            assert "Index Scan Backward using ix_reports_public" in plan and "Sort" not in plan, plan
