"""Document attachments: the content decides the type, the name must agree with it, the display name is cleaned."""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile

import filetype
import pytest

from loa.kit.errors import Invalid
from loa.kit.files import ALLOWED_FILE_TYPES, MAX_FILE_BYTES, CleanFile, clean_file
from loa.kit.images import TooLarge

# --- real files, built the way their applications lay them out --------------------------------------------------


def pdf() -> bytes:
    """A one-page PDF 1.4 with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = f"{RELS}/officeDocument"


def ooxml(main: str, main_type: str, parts: dict[str, str]) -> bytes:
    """An Office Open XML package: [Content_Types].xml first, then the package relationships, then the parts."""
    overrides = f'<Override PartName="/{main}" ContentType="{main_type}"/>'
    content_types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" '
                     'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     f"{overrides}</Types>")
    package_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    f'<Relationships xmlns="{PACKAGE_RELS}">'
                    f'<Relationship Id="rId1" Type="{OFFICE_DOCUMENT}" Target="{main}"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", package_rels)
        for name, text in parts.items():
            package.writestr(name, text)
    return out.getvalue()


def docx() -> bytes:
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                "<w:body><w:p><w:r><w:t>Đơn đề nghị</w:t></w:r></w:p></w:body></w:document>")
    return ooxml("word/document.xml",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                 {"word/document.xml": document})


def xlsx() -> bytes:
    sheet_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{sheet_ns}" '
                f'xmlns:r="{RELS}"><sheets><sheet name="Trang1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELS}">'
                     f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
                     "</Relationships>")
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{sheet_ns}"><sheetData>'
             '<row r="1"><c r="A1"><v>42</v></c></row></sheetData></worksheet>')
    return ooxml("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                 {"xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": workbook_rels,
                  "xl/worksheets/sheet1.xml": sheet})


def pptx() -> bytes:
    presentation = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>')
    return ooxml("ppt/presentation.xml",
                 "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                 {"ppt/presentation.xml": presentation})


def opendocument(mime: str) -> bytes:
    """An OpenDocument package: an uncompressed `mimetype` member first, as the specification requires."""
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", mime, compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# OLE2 compound file constants ([MS-CFB]).
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512
STREAM_SECTORS = 8  # 4096 bytes: at the mini-stream cutoff, so the stream lives in ordinary sectors

WORD_FIB = b"\xec\xa5\xc1\x00"  # the first bytes of a Word 97 WordDocument stream
BIFF8_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"  # the first record of an Excel 97 Workbook stream
PPT_DOCUMENT = b"\x0f\x00\xe8\x03"  # the first record of a PowerPoint 97 document stream


def _entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1 if name else 0,
                       NO_STREAM, NO_STREAM, child, b"", 0, 0, 0, start, size)


def ole(stream: str, head: bytes, *, table_first: bool = False) -> bytes:
    """A valid version-3 compound file holding one 4096-byte stream. Office writes the stream into sector 0;
    other writers put the allocation table there (`table_first`), which is all filetype then sees."""
    if table_first:
        fat_at, stream_at, directory_at = 0, 1, 1 + STREAM_SECTORS
    else:
        stream_at, fat_at, directory_at = 0, STREAM_SECTORS, STREAM_SECTORS + 1
    table = [FREE] * (SECTOR // 4)
    for sector in range(stream_at, stream_at + STREAM_SECTORS):
        table[sector] = sector + 1
    table[stream_at + STREAM_SECTORS - 1] = END
    table[fat_at], table[directory_at] = FAT_SECTOR, END
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"", 0x3E, 3, 0xFFFE, 9, 6,
                         b"", 0, 1, directory_at, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", fat_at, *[FREE] * 108)
    directory = (_entry("Root Entry", 5, 1, END, 0) + _entry(stream, 2, NO_STREAM, stream_at, 4096)
                 + _entry("", 0, NO_STREAM, 0, 0) * 2)
    sectors = {fat_at: struct.pack(f"<{SECTOR // 4}I", *table), directory_at: directory}
    payload = head.ljust(SECTOR * STREAM_SECTORS, b"\0")
    for index in range(STREAM_SECTORS):
        sectors[stream_at + index] = payload[index * SECTOR:(index + 1) * SECTOR]
    return header + b"".join(sectors[index] for index in sorted(sectors))


def refused(data: bytes, name: str) -> str:
    with pytest.raises(Invalid) as refusal:
        clean_file(data, name)
    assert " / " in refusal.value.message  # Vietnamese / English
    return refusal.value.code


# --- accepted ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "name", "extension"), [
    (pdf(), "Biên bản họp.pdf", "pdf"),
    (docx(), "Đơn đề nghị.docx", "docx"),
    (xlsx(), "Số liệu quý 3.xlsx", "xlsx"),
    (pptx(), "Trình chiếu.pptx", "pptx"),
    (opendocument("application/vnd.oasis.opendocument.text"), "van-ban.odt", "odt"),
    (opendocument("application/vnd.oasis.opendocument.spreadsheet"), "bang-tinh.ods", "ods"),
    (opendocument("application/vnd.oasis.opendocument.presentation"), "trinh-chieu.odp", "odp"),
    (ole("WordDocument", WORD_FIB), "Công văn.doc", "doc"),
    (ole("Workbook", BIFF8_BOF), "Bảng lương.xls", "xls"),
    (ole("PowerPoint Document", PPT_DOCUMENT), "Báo cáo.ppt", "ppt"),
])
def test_documents_are_accepted_with_the_type_of_their_content(data: bytes, name: str, extension: str) -> None:
    clean = clean_file(data, name)
    assert clean == CleanFile(data, ALLOWED_FILE_TYPES[extension], extension, name, len(data))


def test_a_legacy_office_file_is_told_apart_by_its_stream_not_only_its_first_sector() -> None:
    # With the allocation table in sector 0, filetype's first-sector rules call this Word file a spreadsheet.
    word = ole("WordDocument", WORD_FIB, table_first=True)
    assert filetype.guess(word).extension != "doc"
    assert clean_file(word, "Công văn.doc").extension == "doc"
    assert clean_file(word, "cong-van").name == "cong-van.doc"


def test_an_ole_container_that_is_no_office_document_is_refused() -> None:
    # An installer (.msi) or an Outlook message is an OLE2 container too; filetype's xls rule matches this one.
    installer = ole("\x05SummaryInformation", b"", table_first=True)
    assert filetype.guess(installer).extension == "xls"
    assert refused(installer, "bang-luong.xls") == "file_type_not_allowed"


def test_a_spreadsheet_named_as_a_word_document_is_a_mismatch() -> None:
    assert refused(ole("Workbook", BIFF8_BOF), "cong-van.doc") == "file_type_mismatch"


def test_the_bytes_are_kept_as_sent() -> None:
    data = pdf()
    assert clean_file(data, "a.pdf").data is data


# --- refused -----------------------------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 8 + b"\x02\x00\x3e\x00" + b"\0" * 60
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 50 + b"This program cannot be run"


def zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ghi-chu.txt", "xin chào")
    return out.getvalue()


@pytest.mark.parametrize(("data", "name"), [
    (b"#!/bin/sh\nrm -rf / --no-preserve-root\n", "report.pdf"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "trang.html"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "trang.pdf"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="5"/></svg>', "hinh.svg"),
    (zip_of_text(), "tai-lieu.zip"),
    (zip_of_text(), "tai-lieu.docx"),
    (ELF, "chuong-trinh"),
    (WINDOWS_EXE, "setup.exe"),
    (WINDOWS_EXE, "hoa-don.pdf"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 64, "anh.pdf"),  # photos go through clean_image
    (b"plain text, no signature at all", "ghi-chu.txt"),
])
def test_anything_off_the_list_is_refused_whatever_its_name(data: bytes, name: str) -> None:
    assert refused(data, name) == "file_type_not_allowed"


def test_the_message_lists_the_allowed_types() -> None:
    with pytest.raises(Invalid) as refusal:
        clean_file(b"#!/bin/sh\n", "a.pdf")
    assert all(f".{extension}" in refusal.value.message for extension in ALLOWED_FILE_TYPES)


@pytest.mark.parametrize(("data", "name"), [
    (pdf(), "x.docx"),
    (pdf(), "x.exe"),
    (docx(), "bang.xlsx"),
    (xlsx(), "anh.jpg"),
])
def test_a_name_that_claims_another_type_is_a_mismatch(data: bytes, name: str) -> None:
    assert refused(data, name) == "file_type_mismatch"


def test_an_empty_file_is_refused() -> None:
    assert refused(b"", "a.pdf") == "empty_file"


def test_a_file_over_20_mib_is_too_large() -> None:
    data = pdf() + b"\0" * (MAX_FILE_BYTES + 1 - len(pdf()))
    assert len(data) == 20 * 1024 * 1024 + 1
    with pytest.raises(TooLarge) as refusal:
        clean_file(data, "a.pdf")
    assert (refusal.value.status_code, refusal.value.code) == (413, "too_large")
    assert clean_file(data[:-1], "a.pdf").size == MAX_FILE_BYTES  # the limit itself is allowed


# --- display names -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "shown"), [
    ("../../etc/Biên bản.pdf", "Biên bản.pdf"),
    ("C:\\Users\\an\\Desktop\\Biên bản.pdf", "Biên bản.pdf"),
    ("bao\x00cao\x1b[31m.pdf", "baocao[31m.pdf"),
    ("hoa-don\u202efdp.exe.pdf", "hoa-donfdp.exe.pdf"),  # a right-to-left override is a format character
    ("  Báo   cáo\t\nquý 3  .pdf", "Báo cáo quý 3.pdf"),
    ('Tờ trình: "khẩn"?.pdf', "Tờ trình khẩn.pdf"),
    ("REPORT.PDF", "REPORT.pdf"),
    ("bien-ban", "bien-ban.pdf"),
    ("Quyết định 12.3.2024", "Quyết định 12.3.2024.pdf"),
    (".pdf", "tep-dinh-kem.pdf"),
    ("", "tep-dinh-kem.pdf"),
    ("\x00\x01 \t", "tep-dinh-kem.pdf"),
    ("folder/", "tep-dinh-kem.pdf"),
    ("...hidden.pdf", "hidden.pdf"),
])
def test_the_display_name_is_cleaned(given: str, shown: str) -> None:
    assert clean_file(pdf(), given).name == shown


def test_vietnamese_names_are_kept_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Đơn khiếu nại của bà Nguyễn Thị Hường.pdf")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    name = clean_file(pdf(), decomposed).name
    assert name == "Đơn khiếu nại của bà Nguyễn Thị Hường.pdf"
    assert unicodedata.is_normalized("NFC", name)


def test_long_names_are_cut_to_120_characters_keeping_the_extension() -> None:
    name = clean_file(docx(), "Tờ trình " + "rất dài " * 40 + ".docx").name
    assert len(name) == 120
    assert name.startswith("Tờ trình rất dài")
    assert name.endswith(".docx")
    assert not name.removesuffix(".docx").endswith(" ")
