"""Small pieces of pages about places: the communes of a province for a select (loaded when the province
changes), and the commune a map pin falls in (shown under maps, which may have no tiles to read it from)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from loa.domains.geo import service
from loa.kit.errors import AppError
from loa.kit.sessions import read_session
from loa.web.deps import page_router
from loa.web.pages import communes
from loa.web.render import pick, render, translate

router = page_router()

FIELD_NAME = r"^[a-z_]{1,30}$"


@router.get("/places/communes", response_class=HTMLResponse)
async def commune_options(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
                          province: Annotated[str, Query(max_length=2)] = "",
                          name: Annotated[str, Query(pattern=FIELD_NAME)] = "commune",
                          any: Annotated[str, Query(max_length=1)] = "") -> HTMLResponse:
    units = await communes(session, province)
    any_label = translate(request, "All communes and wards") if any == "1" else None
    return render(request, "citizen/_commune_select.html", {"units": units, "name": name, "any_label": any_label})


@router.get("/places/nearest", response_class=HTMLResponse)
async def nearest_place(request: Request, session: Annotated[AsyncSession, Depends(read_session)],
                        lat: Annotated[str, Query(max_length=30)] = "",
                        lon: Annotated[str, Query(max_length=30)] = "") -> HTMLResponse:
    """"Near Phường Ba Đình, Thành phố Hà Nội": where a pin is, in words."""
    place, error = None, None
    try:
        latitude, longitude = float(lat), float(lon)
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise ValueError(lat)
    except ValueError:
        latitude = longitude = None
    if latitude is not None and longitude is not None:
        try:
            place = (await service.nearest_commune(session, latitude, longitude)).commune
        except AppError as exc:
            error = pick(request, exc.message)
    return render(request, "citizen/_place.html", {"place": place, "error": error})
