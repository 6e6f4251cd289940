"""`/api/v1`: the public list and map of reports (no login): reporters never shown, locations rounded where
the category asks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reports"])
