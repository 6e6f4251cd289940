"""FastAPI dependencies giving a request its database session from the process's Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.read_session() as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A writing session; the endpoint commits with `loa.kit.effects.commit`, anything else rolls back."""
    async with request.app.state.runtime.session() as session:
        yield session
