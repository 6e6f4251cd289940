"""Background work of reports: the deadline sweep (reminders and escalations to staff, see `sweeps`), and the
Web Push that tells a reporter their report has moved on.

The push job carries only the timeline event's id. It claims the event once (a conditional UPDATE that
stamps `pushed_at` into the event's data), so a job delivered twice, or run by two workers, pushes once;
a job lost with its broker costs a notification, never the step itself: the timeline and the live
stream (replayed with `Last-Event-ID`) are the durable copy the citizen reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.people.models import User
from loa.domains.push import service as push
from loa.domains.reports import sweeps
from loa.domains.reports.models import Report, ReportEvent
from loa.domains.reports.service import event_view
from loa.kit import webpush
from loa.kit.errors import NotFound
from loa.kit.jobs import job
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

PUSH_UPDATE_JOB = "reports.push_update"
MAX_BODY = 180  # characters of the step's note shown under the title
TRANSIENT_RETRY_DELAY = 1.0


@sweep("reports.deadlines", every_seconds=60)
async def deadlines(runtime: Runtime) -> None:
    now = utcnow()
    async with runtime.read_session() as session:
        if not await sweeps.anything_due(session, now):
            return
    done = await sweeps.run_all(runtime, now)
    if done.reminded or done.escalated or done.rescheduled:
        log.info("report deadlines swept", reminded=done.reminded, escalated=done.escalated, notices=done.notices,
                 rescheduled=done.rescheduled)


# --- telling the reporter --------------------------------------------------------------------------------


async def _claim_push(session: AsyncSession, event_id: int, now: datetime) -> bool:
    """Stamp `pushed_at` into a public event's data unless it is there already: True for the one caller
    that wins (the stamp is the job's idempotency key, and staff see it on the step)."""
    stamp = now.isoformat()
    if session.get_bind().dialect.name == "postgresql":
        stamped = ReportEvent.data.op("||")(func.jsonb_build_object("pushed_at", stamp))
    else:
        stamped = func.json_set(ReportEvent.data, "$.pushed_at", stamp)
    result = await session.execute(
        update(ReportEvent)
        .where(ReportEvent.id == event_id, ReportEvent.public.is_(True),
               ReportEvent.data["pushed_at"].as_string().is_(None))
        .values(data=stamped)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def payload_of(report: Report, event: ReportEvent) -> bytes:
    """What the service worker shows: "PA-2026-000123: Đã tiếp nhận / Accepted", and the step's note (the
    question asked, the answer given). `tag`: a newer step of the same report replaces the older one."""
    label = event_view(event, staff=False)["label"]
    note = " ".join(event.note.split())
    return json.dumps({
        "type": "report",
        "report_id": str(report.id),
        "event_id": str(event.id),
        "code": report.code,
        "status": report.status,
        "title": f"{report.code}: {label}",
        "body": note if len(note) <= MAX_BODY else note[:MAX_BODY - 1] + "…",
        "url": f"/me/reports/{report.id}",
        "tag": f"report-{report.id}",
    }, ensure_ascii=False, separators=(",", ":")).encode()


@job(PUSH_UPDATE_JOB)
async def push_update(runtime: Runtime, event_id: int) -> None:
    """Push one public step of a report to its reporter's devices, once, outside their quiet hours."""
    now = utcnow()
    async with runtime.session() as session:
        event = await session.get(ReportEvent, event_id)
        report = await session.get(Report, event.report_id) if event is not None else None
        if event is None or report is None or report.reporter_id is None or not event.public:
            return
        reporter_id = report.reporter_id
        quiet_from, quiet_until = await push.get_quiet_hours(session, reporter_id)
        subscriptions = await push.subscriptions_of(session, reporter_id)
        if not await _claim_push(session, event_id, now):
            return  # pushed (or being pushed) by another run of this job
        await session.commit()
    if not subscriptions:
        return
    if push.in_quiet_hours(quiet_from, quiet_until, push.local_hhmm(now)):
        # Not postponed: the step waits in the app's timeline, which is where the citizen looks next.
        log.info("report push skipped: quiet hours", event_id=event_id)
        return
    payload = payload_of(report, event)
    settings = runtime.settings

    async def send(subscription: webpush.Subscription) -> webpush.PushResult:
        return await webpush.send(subscription, payload, settings=settings, ttl=settings.push_ttl_seconds,
                                  topic=f"report-{report.id}")

    results = await asyncio.gather(*(send(subscription) for subscription in subscriptions))
    retry = [subscription for subscription, result in zip(subscriptions, results, strict=True) if result.transient]
    if retry:  # one more try for a push service that was busy a moment ago
        await asyncio.sleep(TRANSIENT_RETRY_DELAY)
        again = dict(zip((id(s) for s in retry), await asyncio.gather(*(send(s) for s in retry)), strict=True))
        results = [again.get(id(subscription), result) for subscription, result in
                   zip(subscriptions, results, strict=True)]
    gone = [subscription for subscription, result in zip(subscriptions, results, strict=True) if result.gone]
    if gone:
        # The browser dropped the subscription: forget it, as the push domain does.
        async with runtime.session() as session:
            reporter = await session.get(User, reporter_id)
            if reporter is not None:
                for subscription in gone:
                    with contextlib.suppress(NotFound):
                        await push.unsubscribe(session, user=reporter, endpoint=subscription.endpoint)
            await session.commit()
    failed = sum(1 for result in results if not result.ok and not result.gone)
    if failed:
        log.info("report push not delivered", event_id=event_id, devices=failed)
