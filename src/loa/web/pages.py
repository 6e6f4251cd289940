"""The citizen's home page: search of official accounts, server-rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.accounts import service as accounts
from loa.domains.accounts.schemas import AccountOut
from loa.kit.errors import AppError
from loa.kit.sessions import read_session

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
               q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    error = None
    try:
        found, _ = await accounts.search_accounts(session, q=q or None, limit=20)
    except AppError as exc:
        found, error = [], exc.message
    return templates.TemplateResponse(request, "home.html", {
        "q": q, "accounts": [AccountOut.of(account) for account in found], "error": error,
    })
