"""`/api/v1`: staff notices: deadlines near and passed."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["reports"])
