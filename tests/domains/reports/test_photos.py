"""Photos of a report: re-encoded without EXIF/GPS, shown to the reporter and the handling staff, and to
everyone only while the report is public; a refused report keeps no file."""

from __future__ import annotations

import io
import json

from PIL import Image
from tests.domains.conversations.helpers import assert_error
from tests.domains.reports.helpers import LAT, LON, make_scene
from tests.factories import make_user
from tests.kit.test_images import gps_exif, jpeg

from loa.runtime import Runtime


def _files(runtime: Runtime) -> set[str]:
    root = runtime.settings.data_dir / "media" / "private" / "reports"
    return {str(path) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def _form(**extra: str) -> dict[str, str]:
    return {"category": "road_damage", "description": "Ổ gà lớn giữa đường, xe máy rất dễ ngã vào ban đêm.",
            "latitude": str(LAT), "longitude": str(LON), "fields": json.dumps({"size": "large", "danger": "yes"}),
            **extra}


async def test_a_photo_with_gps_is_served_without_any_metadata_to_those_who_may_see_it(runtime: Runtime, client,
                                                                                       client_as) -> None:
    scene = await make_scene(runtime, client_as)
    photo = jpeg((1600, 1200), exif=gps_exif())
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the input carries a position
    filed = await scene.as_citizen.post("/api/v1/reports/form", data=_form(public="false"),
                                        files=[("photos", ("o-ga.jpg", photo, "image/jpeg"))])
    assert filed.status_code == 201, filed.text
    report = filed.json()
    assert report["fields"] == {"size": "large", "danger": "yes"} and len(report["photos"]) == 1
    shown = report["photos"][0]
    for url in (shown["url"], shown["thumbnail_url"]):
        for viewer in (scene.as_citizen, scene.as_agent):
            served = await viewer.get(url)
            assert served.status_code == 200
            image = Image.open(io.BytesIO(served.content))
            assert not image.getexif() and b"PhoneMaker" not in served.content
    assert max(Image.open(io.BytesIO((await scene.as_agent.get(shown["thumbnail_url"])).content)).size) <= 320
    # A private report's photo is nobody else's business.
    other = await client_as(await make_user(runtime, name="Người lạ"))
    assert_error(await other.get(shown["url"]), 404, "photo_not_found")
    assert_error(await client.get(shown["url"]), 404, "photo_not_found")


async def test_a_refused_report_keeps_no_photo_and_a_disguised_file_is_refused(runtime: Runtime, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    before = _files(runtime)
    refused = await scene.as_citizen.post("/api/v1/reports/form", data=_form(category="no_such_category"),
                                          files=[("photos", ("o-ga.jpg", jpeg((400, 300)), "image/jpeg"))])
    assert_error(refused, 404, "unknown_category")
    script = await scene.as_citizen.post("/api/v1/reports/form", data=_form(),
                                         files=[("photos", ("anh.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg"))])
    assert 400 <= script.status_code < 500
    bad_fields = await scene.as_citizen.post("/api/v1/reports/form", data=_form(fields="[1, 2"))
    assert_error(bad_fields, 422, "invalid_fields")
    assert _files(runtime) == before
    assert (await scene.as_citizen.get("/api/v1/me/reports")).json()["items"] == []


async def test_a_document_goes_to_the_reporter_and_the_staff_only_even_on_a_public_report(runtime: Runtime,
                                                                                          client, client_as) -> None:
    scene = await make_scene(runtime, client_as)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    filed = await scene.as_citizen.post("/api/v1/reports/form", data=_form(),
                                        files=[("documents", ("bien-ban.pdf", pdf, "application/pdf"))])
    assert filed.status_code == 201, filed.text
    [document] = filed.json()["documents"]
    assert (document["name"], document["content_type"]) == ("bien-ban.pdf", "application/pdf")
    for viewer in (scene.as_citizen, scene.as_agent):
        served = await viewer.get(document["url"])
        assert served.status_code == 200 and served.content == pdf
    assert_error(await client.get(document["url"]), 404, "document_not_found")  # the report itself is public
    disguised = await scene.as_citizen.post("/api/v1/reports/form", data=_form(), files=[
        ("documents", ("don.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"))])
    assert 400 <= disguised.status_code < 500
