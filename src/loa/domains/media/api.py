"""Images that staff attach to what they publish (broadcast covers): uploaded, cleaned, served.

Private media (conversation attachments, keys under `private/`) is never served here."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.people.models import User
from loa.kit.auth import require_user
from loa.kit.errors import NotFound
from loa.kit.images import MAX_UPLOAD_BYTES, TooLarge, clean_image
from loa.kit.sessions import read_session
from loa.kit.storage import MediaStorage, is_private, media_storage

router = APIRouter(tags=["media"])
files = APIRouter()

UPLOADERS = ("owner", "admin", "editor", "agent")


class UploadedImage(BaseModel):
    url: str
    width: int
    height: int
    bytes: int
    content_type: str


def storage(request: Request) -> MediaStorage:
    return media_storage(request.app.state.runtime.settings)


@router.post("/accounts/{account_id}/media/images", response_model=UploadedImage, status_code=201,
             summary="Upload an image (re-encoded; EXIF and GPS removed)")
async def upload_image(
    request: Request,
    account_id: Annotated[int, Path(ge=1, le=2**62)],
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF, at most 10 MB")],
    session: Annotated[AsyncSession, Depends(read_session)],
    user: Annotated[User, Depends(require_user)],
) -> UploadedImage:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, user, UPLOADERS)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge("Ảnh quá lớn (tối đa 10 MB) / Image too large (10 MB at most)")
    image = clean_image(data)
    key = f"accounts/{account_id}/{uuid.uuid4().hex}.{image.extension}"
    media = storage(request)
    await media.save(key, image.data)
    return UploadedImage(url=media.url_of(key), width=image.width, height=image.height, bytes=len(image.data),
                         content_type=image.content_type)


@files.get("/media/{key:path}", include_in_schema=False)
async def serve(request: Request, key: str) -> FileResponse:
    if is_private(key):  # the same answer as a missing file: this route does not even confirm it exists
        raise NotFound("Không tìm thấy tệp / File not found", code="media_not_found")
    path = storage(request).path_of(key)
    if not path.is_file():
        raise NotFound("Không tìm thấy tệp / File not found", code="media_not_found")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                       "X-Content-Type-Options": "nosniff"})
