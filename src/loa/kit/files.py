"""Attachments that are not photos (PDF and office documents): the type is read from the content, never from the
name or the declared content type; the bytes are kept as sent, only the display name is cleaned."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import filetype

from loa.kit.errors import Invalid
from loa.kit.images import TooLarge

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 120
DEFAULT_STEM = "tep-dinh-kem"

# Only types that filetype 1.2.0 recognises from the content. Left out on purpose: zip (an archive hides what it
# carries), executables, scripts, HTML and SVG (active content in a browser). Images go through clean_image.
ALLOWED_FILE_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}


def _stream_name(name: str) -> bytes:
    # An OLE2 directory entry holds its name in UTF-16LE, ended by a NUL character.
    return name.encode("utf-16-le") + b"\0\0"


# filetype tells the Office 97-2003 formats apart by the first sector only, and its xls/ppt rules also match any OLE2
# container whose allocation table sits there (an .msi installer, an Outlook .msg). So a legacy Office guess is
# confirmed by the stream the application itself opens.
_OLE_STREAMS: dict[str, tuple[bytes, ...]] = {
    "doc": (_stream_name("WordDocument"),),
    "xls": (_stream_name("Workbook"), _stream_name("Book")),
    "ppt": (_stream_name("PowerPoint Document"),),
}

# What a name's last suffix must look like to count as a claimed type: "12.3.2024" or "Q3.2024" are not extensions.
_EXTENSION = re.compile(r"[a-z0-9]{2,5}")
# Characters Windows refuses in a file name; a quote would also end a Content-Disposition value.
_FORBIDDEN = str.maketrans("", "", '<>:"|?*')


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    content_type: str
    extension: str
    name: str
    size: int


def clean_file(data: bytes, filename: str) -> CleanFile:
    """Accept a document whose content is on the allow-list and agrees with its name; refuse anything else."""
    if not data:
        raise Invalid("Tệp rỗng / The file is empty", code="empty_file")
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge(f"Tệp quá lớn (tối đa {MAX_FILE_BYTES // 1024 // 1024} MB) / "
                       f"File too large ({MAX_FILE_BYTES // 1024 // 1024} MB at most)")
    stem, claimed = _split_name(_plain_name(filename))
    extension = _sniff(data, claimed)
    if extension is None:
        allowed = ", ".join(f".{ext}" for ext in ALLOWED_FILE_TYPES)
        raise Invalid(f"Chỉ nhận tệp {allowed} / Only {allowed} files are accepted", code="file_type_not_allowed")
    if claimed is not None and claimed != extension:
        raise Invalid(f"Tên tệp có đuôi .{claimed} nhưng nội dung là tệp .{extension} / "
                      f"The name says .{claimed} but the content is a .{extension} file", code="file_type_mismatch")
    return CleanFile(data, ALLOWED_FILE_TYPES[extension], extension, _fit(stem, extension), len(data))


def display_name(filename: str, extension: str) -> str:
    """The name to show for an upload: its last path component cleaned (no control or direction-changing
    characters), shortened, ending in the extension its content proved."""
    return _fit(_split_name(_plain_name(filename))[0], extension)


def _sniff(data: bytes, claimed: str | None) -> str | None:
    """The allowed extension the content proves, or None."""
    kind = filetype.guess(data)
    if kind is None:
        return None
    if kind.extension in _OLE_STREAMS:
        return _legacy_office(data, claimed)
    return kind.extension if kind.extension in ALLOWED_FILE_TYPES else None


def _legacy_office(data: bytes, claimed: str | None) -> str | None:
    found = [ext for ext, names in _OLE_STREAMS.items() if any(name in data for name in names)]
    if claimed in found:
        return claimed  # a document with an embedded sheet holds both streams: the name picks among proven types
    return found[0] if found else None


def _plain_name(filename: str) -> str:
    """The last path component, NFC, without control or format characters (a right-to-left override can make
    "fdp.exe" read as "exe.pdf"), whitespace collapsed."""
    name = re.split(r"[/\\]", filename)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if ch.isspace() or not unicodedata.category(ch).startswith("C"))
    return " ".join(name.translate(_FORBIDDEN).split())


def _split_name(name: str) -> tuple[str, str | None]:
    """(stem, lower-case extension), the extension None when the name claims no type."""
    stem, dot, suffix = name.rpartition(".")
    if dot and _EXTENSION.fullmatch(suffix.lower()) and any(ch.isalpha() for ch in suffix):
        return stem, suffix.lower()
    return name, None


def _fit(stem: str, extension: str) -> str:
    # Leading dots hide a file, trailing dots and spaces are dropped by Windows: neither belongs in a display name.
    stem = stem.strip(" .")[: MAX_NAME_CHARS - len(extension) - 1].rstrip(" .")
    return f"{stem or DEFAULT_STEM}.{extension}"
