"""Where uploaded media lives: a local folder, behind the small `MediaStorage` interface.

The routes depend on `MediaStorage` only, so an S3-compatible store can take the local folder's place later by
implementing the same four calls (its `path_of` then answering with a local copy it keeps).

Keys are relative paths of lower-case words ending with an image extension or an allowed attachment extension.
Keys under `private/` (conversation attachments) are stored like any other, but the public `/media/` route never
serves them: only authenticated routes that check who may read them do.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from loa.kit.errors import NotFound
from loa.kit.files import ALLOWED_FILE_TYPES
from loa.kit.images import IMAGE_EXTENSIONS
from loa.settings import Settings

PRIVATE_PREFIX = "private/"
_EXTENSIONS = "|".join(dict.fromkeys((*IMAGE_EXTENSIONS, *ALLOWED_FILE_TYPES)))
_KEY = re.compile(rf"^[a-z0-9_-]+(/[a-z0-9_-]+)*\.({_EXTENSIONS})$")


def media_storage(settings: Settings) -> MediaStorage:
    """The installation's media storage (the local folder `data_dir/media`)."""
    return LocalMediaStorage(settings.data_dir / "media")


def is_private(key: str) -> bool:
    """True for media that only authenticated routes may serve."""
    return key.startswith(PRIVATE_PREFIX)


@runtime_checkable
class MediaStorage(Protocol):
    async def save(self, key: str, data: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...

    def path_of(self, key: str) -> Path: ...

    def url_of(self, key: str) -> str: ...


class LocalMediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise NotFound("Không tìm thấy tệp / File not found", code="media_not_found")
        return self.root / key

    async def save(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        await asyncio.to_thread(self._write, path, data)

    async def delete(self, key: str) -> None:
        """Remove the file; one already gone is not an error (deleting twice must be harmless)."""
        path = self.path_of(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see half a file

    def url_of(self, key: str) -> str:
        return f"/media/{key}"
