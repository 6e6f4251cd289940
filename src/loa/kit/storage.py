"""Where uploaded media lives: a local folder embedded (S3-compatible storage can take its place)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from loa.kit.errors import NotFound

_KEY = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)*\.(jpg|png)$")


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

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see half a file

    def url_of(self, key: str) -> str:
        return f"/media/{key}"
