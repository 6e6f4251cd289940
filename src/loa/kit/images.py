"""Uploaded images are re-encoded: what is stored is pixels only, never the sender's EXIF/GPS metadata."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from loa.kit.errors import AppError, Invalid

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
THUMBNAIL_SIDE = 320
IMAGE_EXTENSIONS = ("jpg", "png")  # the only formats clean images are written in
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
Image.MAX_IMAGE_PIXELS = 50_000_000  # a decompression bomb is refused, not decoded


class TooLarge(AppError):
    status_code = 413
    code = "too_large"


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_image(data: bytes) -> CleanImage:
    """Decode, orient, shrink to MAX_SIDE and re-encode (JPEG, or PNG when transparent) without metadata."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"Ảnh quá lớn (tối đa {MAX_UPLOAD_BYTES // 1024 // 1024} MB) / Image too large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise Invalid("Chỉ nhận ảnh JPEG, PNG, WebP hoặc GIF / Only JPEG, PNG, WebP or GIF images",
                              code="unsupported_image")
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise Invalid("Tệp không phải là ảnh hợp lệ / The file is not a valid image", code="invalid_image") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return _encode(image)


def make_thumbnail(image: CleanImage, side: int = THUMBNAIL_SIDE) -> CleanImage:
    """A smaller copy that fits within side×side, re-encoded from the clean pixels like clean_image's output."""
    if side < 1:
        raise ValueError("a thumbnail needs a positive side")
    with Image.open(io.BytesIO(image.data)) as source:
        source.load()
        small = source.copy()
    small.thumbnail((side, side))
    return _encode(small)


def _encode(image: Image.Image) -> CleanImage:
    """JPEG, or PNG when transparent, with no metadata at all."""
    transparent = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    pixels = image.convert("RGBA" if transparent else "RGB")  # always a new image: clearing its info is safe
    pixels.info.clear()  # savers also read info: a JPEG comment or a PNG colour profile would be copied over
    out = io.BytesIO()
    if transparent:
        pixels.save(out, "PNG", optimize=True)
        content_type, extension = "image/png", "png"
    else:
        pixels.save(out, "JPEG", quality=85, optimize=True)
        content_type, extension = "image/jpeg", "jpg"
    return CleanImage(out.getvalue(), content_type, extension, pixels.width, pixels.height)
