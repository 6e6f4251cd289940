"""Images are re-encoded from their pixels: no EXIF, GPS or comment survives, thumbnails included."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from loa.kit.errors import Invalid
from loa.kit.images import CleanImage, clean_image, make_thumbnail

GPS_IFD = 0x8825


def jpeg(size: tuple[int, int], *, exif: Image.Exif | None = None, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG", exif=exif or Image.Exif(), comment=comment)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (21.0, 1.0, 0.0), 3: "E", 4: (105.0, 50.0, 1.0)})
    return exif


def has_no_metadata(data: bytes) -> bool:
    decoded = Image.open(io.BytesIO(data))
    return not decoded.getexif() and "exif" not in decoded.info and "comment" not in decoded.info


def test_a_photo_with_gps_comes_out_without_any_exif() -> None:
    photo = jpeg((640, 480), exif=gps_exif(), comment=b"Nguyen Van A, 12 Hang Bong")
    original = Image.open(io.BytesIO(photo)).getexif()
    assert original.get_ifd(GPS_IFD)[1] == "N"  # the input really carries a position
    clean = clean_image(photo)
    assert has_no_metadata(clean.data)
    assert b"Exif" not in clean.data and b"PhoneMaker" not in clean.data and b"Hang Bong" not in clean.data
    assert (clean.content_type, clean.extension, clean.width, clean.height) == ("image/jpeg", "jpg", 640, 480)


def test_the_thumbnail_of_a_1200_by_800_photo_fits_in_320() -> None:
    thumbnail = make_thumbnail(clean_image(jpeg((1200, 800))))
    decoded = Image.open(io.BytesIO(thumbnail.data))
    assert decoded.format == "JPEG"
    assert max(decoded.size) <= 320
    assert (thumbnail.width, thumbnail.height) == decoded.size == (320, 213)
    assert has_no_metadata(thumbnail.data)


def test_a_thumbnail_drops_metadata_even_if_its_source_had_some() -> None:
    # make_thumbnail re-encodes on its own, it does not rely on being handed clean bytes.
    source = jpeg((1200, 800), exif=gps_exif(), comment=b"Hang Bong")
    thumbnail = make_thumbnail(CleanImage(source, "image/jpeg", "jpg", 1200, 800), side=100)
    assert (thumbnail.width, thumbnail.height) == (100, 67)
    assert has_no_metadata(thumbnail.data)
    assert b"PhoneMaker" not in thumbnail.data and b"Hang Bong" not in thumbnail.data


def test_a_transparent_image_keeps_its_transparency_as_png() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (800, 1600), (255, 0, 0, 0)).save(out, "PNG")
    thumbnail = make_thumbnail(clean_image(out.getvalue()))
    decoded = Image.open(io.BytesIO(thumbnail.data))
    assert (decoded.format, decoded.mode, decoded.size) == ("PNG", "RGBA", (160, 320))
    assert thumbnail.content_type == "image/png"


def test_a_small_image_is_not_enlarged() -> None:
    thumbnail = make_thumbnail(clean_image(jpeg((100, 50))))
    assert (thumbnail.width, thumbnail.height) == (100, 50)


def test_a_text_file_named_jpg_is_refused() -> None:
    with pytest.raises(Invalid) as refusal:
        clean_image(b"Day khong phai la anh, chi la van ban.\n")  # what arrives as "anh.jpg"
    assert refusal.value.code == "invalid_image"
