"""`/static`: our stylesheet and the vendored libraries, with cache headers.

Templates link files through `static_url("loa.css")`, which appends a fingerprint of the content
(`?v=…`): such URLs change whenever the file does, so browsers may keep them for a year.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
LONG_CACHE = "public, max-age=31536000, immutable"  # fingerprinted URL: the content never changes under it
SHORT_CACHE = "public, max-age=3600"


class CachedStaticFiles(StaticFiles):
    def file_response(self, full_path: os.PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        fingerprinted = b"v=" in scope.get("query_string", b"")
        response.headers["Cache-Control"] = LONG_CACHE if fingerprinted else SHORT_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@lru_cache(maxsize=256)
def _fingerprint(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """`/static/<path>?v=<content hash>`; a missing file fails loudly (a typo in a template)."""
    stat = (STATIC_DIR / path).stat()
    return f"/static/{path}?v={_fingerprint(path, stat.st_mtime_ns, stat.st_size)}"


def mount_static(app: FastAPI) -> None:
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
