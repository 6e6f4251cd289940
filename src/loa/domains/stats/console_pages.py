"""`/console/{account_id}/stats`: an account's own statistics for its staff (every role reads them): followers over
time, messages in and out, reports and how they were handled, from the same service functions as the public
dashboard, with the account as the scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from loa.domains.stats import service, tables
from loa.domains.stats.pages import (
    activity_shown,
    durations,
    handling_shown,
    parse_period,
    period_query,
    reader_language,
)
from loa.domains.stats.periods import FIRST_YEAR, vn_today
from loa.kit.errors import AppError
from loa.web.console import ALL_ROLES, AccountId, console_page, open_desk
from loa.web.deps import Read, Staff, page_router
from loa.web.render import pick

router = page_router()

Param = Annotated[str, Query(max_length=100)]


@router.get("/console/{account_id}/stats", response_class=HTMLResponse)
async def account_stats(request: Request, account_id: AccountId, user: Staff, session: Read, year: Param = "",
                        start: Annotated[str, Query(alias="from", max_length=100)] = "",
                        end: Annotated[str, Query(alias="to", max_length=100)] = "") -> HTMLResponse:
    desk = await open_desk(session, user, account_id, ALL_ROLES)  # staff of another account: refused here
    lang = reader_language(request)
    context: dict[str, Any] = {"chosen": {"year": year, "from": start, "to": end}, "error": None,
                               "years": list(range(vn_today().year, FIRST_YEAR - 1, -1))}
    try:
        period = parse_period(year, start, end)
        scope = await service.resolve_scope(session, account=str(desk.account.id))
        query = {"account": str(desk.account.id), **period_query(period)}
        figures = await service.figures(session, scope, period)
        activity = await tables.build(session, "activity", scope, period, tables.Options(grain="month"))
        shown = activity_shown(activity, lang, query)
        handling = handling_shown(await tables.build(session, "handling", scope, period, tables.Options(limit=1)),
                                  lang, query)
        context.update(period=period, figures=figures, durations=durations(figures), activity=shown,
                       handling=handling)
    except AppError as exc:  # a bad period: said on the page, with the form to fix it
        context["error"] = pick(request, exc.message)
        return console_page(request, "stats/console.html", desk, context, status_code=exc.status_code)
    return console_page(request, "stats/console.html", desk, context)
