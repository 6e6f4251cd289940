"""Media storage: which keys are valid, deleting, and private media never served by the public route."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from httpx import AsyncClient

from loa.kit.errors import NotFound
from loa.kit.files import ALLOWED_FILE_TYPES
from loa.kit.storage import LocalMediaStorage, MediaStorage, is_private
from loa.settings import Settings


def media_of(settings: Settings) -> LocalMediaStorage:
    return LocalMediaStorage(settings.data_dir / "media")  # the folder the /media/ route reads


async def test_private_media_is_not_served_publicly_even_when_the_file_exists(
        client: AsyncClient, settings: Settings) -> None:
    media = media_of(settings)
    name = uuid.uuid4().hex
    private, public = f"private/conversations/1/{name}.pdf", f"accounts/1/{name}.pdf"
    await media.save(private, b"%PDF-1.4 private")
    await media.save(public, b"%PDF-1.4 public")
    assert media.path_of(private).is_file()
    assert (await client.get(media.url_of(public))).status_code == 200  # the same file elsewhere is served
    for url in (media.url_of(private), f"/media/private%2Fconversations/1/{name}.pdf"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "media_not_found"
        assert b"private" not in response.content


def test_keys_take_image_and_document_extensions_only(tmp_path: Path) -> None:
    media = LocalMediaStorage(tmp_path)
    for extension in ("jpg", "png", *ALLOWED_FILE_TYPES):
        key = f"private/conversations/7/abc.{extension}"
        assert media.path_of(key) == tmp_path / key
    for key in ("a/b.exe", "a/b.html", "a/b.svg", "a/b.zip", "../b.pdf", "a/../b.pdf", "/a/b.pdf", "A/b.pdf", "a/b"):
        with pytest.raises(NotFound):
            media.path_of(key)


def test_private_keys_are_recognised() -> None:
    assert is_private("private/conversations/1/a.pdf")
    assert not is_private("accounts/1/a.jpg")
    assert not is_private("privately/a.jpg")


async def test_delete_removes_the_file_and_tolerates_a_missing_one(tmp_path: Path) -> None:
    media = LocalMediaStorage(tmp_path)
    key = "private/conversations/1/a.docx"
    await media.save(key, b"PK\x03\x04")
    await media.delete(key)
    assert not media.path_of(key).exists()
    await media.delete(key)  # already gone: no error
    await media.delete("private/never/saved.pdf")


def test_the_local_folder_satisfies_the_storage_interface(tmp_path: Path) -> None:
    storage: MediaStorage = LocalMediaStorage(tmp_path)  # checked statically too
    assert isinstance(storage, MediaStorage)
