"""`/api/v1`: operators' report settings: categories, routing rules, the holiday calendar; accounts' own deadlines."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reports"])
