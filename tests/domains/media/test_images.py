"""Image uploads: metadata removed, bad files refused, only the account's staff may upload."""

from __future__ import annotations

import io

from httpx import AsyncClient
from PIL import Image
from tests.factories import make_account, make_user

from loa.runtime import Runtime

GPS_IFD = 0x8825


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (3000, 1500), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (21.0, 2.0, 3.0), 3: "E", 4: (105.0, 50.0, 1.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(out.getvalue())).getexif().get_ifd(GPS_IFD)  # the fixture really has GPS
    return out.getvalue()


async def test_an_uploaded_photo_loses_its_gps_and_is_resized(client_as, runtime: Runtime, client: AsyncClient) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    staff: AsyncClient = await client_as(owner)
    response = await staff.post(f"/api/v1/accounts/{account.id}/media/images",
                                files={"file": ("anh.jpg", photo_with_gps(), "image/jpeg")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (2048, 1024)
    served = await client.get(body["url"])
    assert served.status_code == 200
    stored = Image.open(io.BytesIO(served.content))
    assert stored.format == "JPEG"
    assert not stored.getexif()  # no EXIF at all, GPS included


async def test_a_script_named_jpg_and_oversized_files_are_refused(client_as, runtime: Runtime) -> None:
    owner = await make_user(runtime)
    account = await make_account(runtime, owner=owner)
    staff: AsyncClient = await client_as(owner)
    disguised = await staff.post(f"/api/v1/accounts/{account.id}/media/images",
                                 files={"file": ("anh.jpg", b"<script>alert(1)</script>", "image/jpeg")})
    assert disguised.status_code == 422
    assert disguised.json()["error"]["code"] == "invalid_image"
    huge = await staff.post(f"/api/v1/accounts/{account.id}/media/images",
                            files={"file": ("big.jpg", b"\xff" * (10 * 1024 * 1024 + 10), "image/jpeg")})
    assert huge.status_code == 413


async def test_staff_of_another_account_cannot_upload(client_as, runtime: Runtime) -> None:
    account = await make_account(runtime)
    stranger: AsyncClient = await client_as(await make_user(runtime))
    response = await stranger.post(f"/api/v1/accounts/{account.id}/media/images",
                                   files={"file": ("anh.jpg", photo_with_gps(), "image/jpeg")})
    assert response.status_code == 403


async def test_media_paths_cannot_escape_the_media_folder(client: AsyncClient) -> None:
    assert (await client.get("/media/../secret_key")).status_code == 404
    assert (await client.get("/media/accounts/1/..%2F..%2Fsecret_key.jpg")).status_code == 404
