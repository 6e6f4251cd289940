"""Webhooks: per-account endpoints choosing events, an outbox of deliveries written in the transaction of the
change they report, sent by whichever worker claims them, signed per Standard Webhooks — or, for an endpoint of
the `zalo` format, translated to Zalo OA's event shape and signed Zalo's way at send time (`zalo_events`).

How a change becomes a delivery without the domains knowing about webhooks:
- a unit of work stages its live events with `kit.effects.publish_after_commit`; just before its commit, a
  session listener (`_outbox_before_commit`) turns the ones webhooks report into delivery rows, in the same
  transaction: a rolled-back change sends nothing, a committed one cannot lose its webhook;
- the group-commit writers (messages, reports) hand each batch's events to `record_events` inside the batch's
  transaction (`kit.groupcommit.register_batch_hook`).

Sending: rows are claimed with a lease (`lease_until`); a worker killed mid-send leaves its rows to be claimed
again when the lease runs out. A failure is retried with exponential backoff and jitter; after MAX_ATTEMPTS the
delivery is marked failed. Rows with the same `order_key` (a conversation, a follower, a report) go out one at a
time in id order. An endpoint failing DISABLE_AFTER times in a row is disabled, and its staff are told.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import bindparam, delete, event, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased
from standardwebhooks.webhooks import Webhook

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.integrations.models import WEBHOOK_FORMATS, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loa.domains.integrations.zalo_events import ZALO_EVENT_TYPES, zalo_request
from loa.domains.people.models import AuditEvent, User
from loa.kit.effects import commit, publish_after_commit, runtime_of
from loa.kit.errors import Conflict, Invalid, NotFound
from loa.kit.groupcommit import register_batch_hook
from loa.kit.jobs import job
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.text import clean_line
from loa.kit.workers import sweep

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

EVENT_TYPES = ("follow", "unfollow", "message.received", "message.sent", "message.seen", "report.created",
               "report.status_changed", "broadcast.published")
MAX_ENDPOINTS = 10
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 6 * 3600.0
MAX_ATTEMPTS = 12  # about a day of retries
DISABLE_AFTER = 20  # failed attempts in a row, across the endpoint's deliveries
CLAIM_BATCH = 100
CONCURRENCY = 16
DELIVERIES = WebhookDelivery.__table__
ATTEMPTS = WebhookAttempt.__table__

ENDPOINT_NOT_FOUND = "Không tìm thấy điểm nhận webhook / Webhook endpoint not found"


# --- endpoints (the account's owners and admins) ------------------------------------------------------------


def _check_url(url: str, *, production: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000
            or any(ord(char) < 33 or ord(char) == 127 for char in url)):  # control characters never reach the db
        raise Invalid("Địa chỉ webhook phải là URL http(s) / A webhook URL must be an http(s) URL", code="invalid_url")
    if production and _internal(parts.hostname):
        # The server's own network is not a webhook receiver: staff must not reach it through Loa.
        raise Invalid("Địa chỉ webhook phải là địa chỉ công khai / A webhook URL must be a public address",
                      code="invalid_url")
    return url


def _internal(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def _check_events(events: Sequence[str], payload_format: str = "loa") -> list[str]:
    allowed = ZALO_EVENT_TYPES if payload_format == "zalo" else EVENT_TYPES
    unknown = sorted(set(events) - set(allowed))
    if unknown or not events:
        raise Invalid(f"Sự kiện không hợp lệ với định dạng {payload_format}: {', '.join(unknown) or '—'} / "
                      f"Unknown or no events for the {payload_format} format",
                      code="invalid_events", details={"allowed": list(allowed)})
    return sorted(set(events))


def _check_format(payload_format: str) -> str:
    if payload_format not in WEBHOOK_FORMATS:
        raise Invalid("Định dạng phải là loa hoặc zalo / The format must be loa or zalo", code="invalid_format",
                      details={"allowed": list(WEBHOOK_FORMATS)})
    return payload_format


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def create_endpoint(session: AsyncSession, *, account_id: int, actor: User, url: str, events: Sequence[str],
                          description: str = "", payload_format: str = "loa") -> WebhookEndpoint:
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    count = len((await session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.account_id == account_id)))
                .all())
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"Tối đa {MAX_ENDPOINTS} điểm nhận / At most {MAX_ENDPOINTS} endpoints", code="too_many")
    checked = _check_url(url, production=runtime_of(session).settings.is_production)
    payload_format = _check_format(payload_format)
    endpoint = WebhookEndpoint(account_id=account_id, url=checked, secret=new_secret(), format=payload_format,
                               events=_check_events(events, payload_format),
                               description=clean_line(description)[:200],
                               enabled=True, consecutive_failures=0, created_by=actor.id)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_endpoints(session: AsyncSession, *, account_id: int, actor: User) -> list[WebhookEndpoint]:
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    return list(await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
                                      .order_by(WebhookEndpoint.id)))


async def managed_endpoint(session: AsyncSession, *, account_id: int, endpoint_id: int,
                           actor: User) -> WebhookEndpoint:
    await accounts.require_account_role(session, account_id, actor, accounts.MANAGERS)
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.account_id != account_id:
        raise NotFound(ENDPOINT_NOT_FOUND, code="endpoint_not_found")
    return endpoint


async def update_endpoint(session: AsyncSession, *, account_id: int, endpoint_id: int, actor: User,
                          url: str | None = None, events: Sequence[str] | None = None,
                          description: str | None = None, enabled: bool | None = None,
                          payload_format: str | None = None) -> WebhookEndpoint:
    endpoint = await managed_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=actor)
    if url is not None:
        endpoint.url = _check_url(url, production=runtime_of(session).settings.is_production)
    new_format = _check_format(payload_format) if payload_format is not None else endpoint.format
    # The events are checked against the format they will be sent in, whichever of the two changed.
    endpoint.events = _check_events(endpoint.events if events is None else events, new_format)
    endpoint.format = new_format
    if description is not None:
        endpoint.description = clean_line(description)[:200]
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        if enabled:  # a fresh start: deliveries waiting for it go out again
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
            await session.execute(update(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
                .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))
            enqueue_kick(session)
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, *, account_id: int, endpoint_id: int, actor: User) -> None:
    endpoint = await managed_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=actor)
    # Its deliveries first, then the endpoint: the order the dispatcher locks them in (a delivery, then its
    # endpoint's failure count). The cascade alone would lock the endpoint first and deadlock with it.
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    await session.delete(endpoint)
    await session.flush()


async def list_deliveries(session: AsyncSession, *, account_id: int, endpoint_id: int, actor: User,
                          status: str | None, cursor: str | None,
                          limit: int) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], str | None]:
    """The delivery log, newest first, each delivery with its attempts."""
    endpoint = await managed_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=actor)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    before = cursor_int(decode_cursor(cursor), "before")
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None
    rows = rows[:limit]
    attempts: dict[int, list[WebhookAttempt]] = {}
    if rows:
        for attempt in await session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([row.id for row in rows])).order_by(WebhookAttempt.id)):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [(row, attempts.get(row.id, [])) for row in rows], next_cursor


async def replay(session: AsyncSession, *, account_id: int, endpoint_id: int, delivery_id: int,
                 actor: User) -> WebhookDelivery:
    """Send a delivery again, as a new delivery of the same event (same `webhook-id`: receivers may
    deduplicate). It waits for nothing, and nothing waits for it."""
    endpoint = await managed_endpoint(session, account_id=account_id, endpoint_id=endpoint_id, actor=actor)
    original = await session.get(WebhookDelivery, delivery_id)
    if original is None or original.endpoint_id != endpoint.id:
        raise NotFound("Không tìm thấy lần gửi / Delivery not found", code="delivery_not_found")
    if not endpoint.enabled:
        raise Conflict("Điểm nhận đang bị tắt: hãy bật lại trước / The endpoint is disabled: enable it first",
                       code="endpoint_disabled")
    copy = WebhookDelivery(endpoint_id=endpoint.id, event_id=original.event_id, event_type=original.event_type,
                           payload=original.payload, order_key=None, status="pending", attempts=0,
                           next_attempt_at=utcnow())
    session.add(copy)
    await session.flush()
    enqueue_kick(session)
    return copy


def enqueue_kick(session: AsyncSession) -> None:
    from loa.kit.effects import enqueue_after_commit

    enqueue_after_commit(session, "integrations.deliver_webhooks")


# --- from live events to deliveries (in the change's own transaction) ----------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    account_id: int
    type: str
    data: dict[str, Any]
    order_key: str | None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _message_data(message: dict[str, Any], citizen_id: int) -> dict[str, Any]:
    return {"conversation_id": str(message.get("conversation_id")), "user_id": str(citizen_id),
            "message": {key: message.get(key) for key in ("id", "kind", "text", "attachment", "location", "url",
                                                          "auto", "created_at")}
            | {"id": str(message.get("id"))}}


def webhook_event(channel: str, payload: dict[str, Any]) -> WebhookEvent | None:
    """The webhook event a live event stands for, if webhooks report it (see docs/api.md for the catalogue)."""
    kind, _, target = channel.partition(":")
    target_id = _int(target)
    kind_of_event = payload.get("type")
    if target_id is None or not isinstance(kind_of_event, str):
        return None
    if kind == "chat":  # one citizen's side: every message and read receipt of their conversations
        account_id = _int(payload.get("account_id"))
        if account_id is None:
            return None
        conversation = f"conversation:{payload.get('conversation_id')}"
        if kind_of_event == "message" and isinstance(payload.get("message"), dict):
            message = payload["message"]
            name = "message.received" if message.get("direction") == "in" else "message.sent"
            return WebhookEvent(account_id, name, _message_data(message, target_id), conversation)
        if kind_of_event == "seen" and payload.get("by") == "citizen":
            return WebhookEvent(account_id, "message.seen", {
                "conversation_id": str(payload.get("conversation_id")), "user_id": str(target_id),
                "message_id": str(payload.get("message_id"))}, conversation)
        return None
    if kind == "staff":
        if kind_of_event in ("follow", "unfollow"):
            user_id = str(payload.get("user_id"))
            return WebhookEvent(target_id, kind_of_event, {"user_id": user_id}, f"follower:{user_id}")
        if kind_of_event == "report":
            step = payload.get("event")
            data = {"report_id": str(payload.get("report_id")), "code": payload.get("code"),
                    "status": payload.get("status")}
            if step == "submitted":
                return WebhookEvent(target_id, "report.created", data, f"report:{payload.get('report_id')}")
            return WebhookEvent(target_id, "report.status_changed", data | {"action": step},
                                f"report:{payload.get('report_id')}")
        return None
    if kind == "account" and kind_of_event == "broadcast.published":
        data = {"broadcast_id": str(payload.get("broadcast_id")), "kind": payload.get("kind")}
        if not payload.get("restricted"):  # a broadcast for tagged followers only keeps its title private
            data["title"] = payload.get("title")
        return WebhookEvent(target_id, "broadcast.published", data, None)
    return None


# Built once: every batch of the message and report writers asks.
_ENABLED_ENDPOINTS = (select(WebhookEndpoint.id, WebhookEndpoint.account_id, WebhookEndpoint.events)
                      .where(WebhookEndpoint.account_id.in_(bindparam("account_ids", expanding=True)),
                             WebhookEndpoint.enabled.is_(True)))


def record_events(session: Session, published: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Write a delivery for every endpoint that chose one of these events (synchronous: it runs inside the
    committing transaction). Returns how many were written."""
    found = [found for channel, payload in published if (found := webhook_event(channel, payload)) is not None]
    if not found:
        return 0
    account_ids = sorted({item.account_id for item in found})
    endpoints: dict[int, list[tuple[int, set[str]]]] = {}
    for endpoint_id, account_id, events in session.execute(_ENABLED_ENDPOINTS, {"account_ids": account_ids}):
        endpoints.setdefault(account_id, []).append((endpoint_id, set(events or ())))
    if not endpoints:
        return 0
    now = utcnow()
    rows = []
    for item in found:
        event_id = "evt_" + uuid.uuid4().hex
        body = {"id": event_id, "type": item.type, "created_at": now.isoformat(),
                "account_id": str(item.account_id), "data": item.data}
        for endpoint_id, events in endpoints.get(item.account_id, ()):
            if item.type in events:
                rows.append({"endpoint_id": endpoint_id, "event_id": event_id, "event_type": item.type,
                             "payload": body, "order_key": item.order_key, "status": "pending", "attempts": 0,
                             "next_attempt_at": now, "created_at": now})
    if rows:
        session.execute(insert(DELIVERIES), rows)
    return len(rows)


@event.listens_for(Session, "before_commit")
def _outbox_before_commit(session: Session) -> None:
    pending = session.info.get("pending_effects")
    if pending is None or not pending.events:
        return
    if record_events(session, pending.events):
        # Sent at once after the commit; the sweep is the safety net.
        pending.jobs.append(("integrations.deliver_webhooks", {}))


def record_batch(session: Session, published: list[tuple[str, dict[str, Any]]]) -> None:
    """The group-commit writers' hook: a batch's events, inside the batch's transaction."""
    record_events(session, published)


# --- sending ---------------------------------------------------------------------------------------------


def signed_headers(endpoint_secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (v1, HMAC-SHA256)."""
    signature = Webhook(endpoint_secret).sign(event_id, at, body)
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature,
            "content-type": "application/json", "user-agent": "Loa-Webhooks/1"}


class Sender:
    """This process's HTTP client for webhooks (one per runtime: connections are reused)."""

    def __init__(self, runtime: Runtime) -> None:
        self.client = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self.running = asyncio.Lock()

    async def close(self) -> None:
        await self.client.aclose()


def sender(runtime: Runtime) -> Sender:
    return runtime.part("integrations.webhook_sender", Sender)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min… up to 6 h, each between half and all of it."""
    ceiling = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # spreading retries, not a secret


async def claim(runtime: Runtime, *, now: datetime, limit: int = CLAIM_BATCH) -> tuple[str, list[int]]:
    """Lease due deliveries to this caller: at most one per order key, none behind an earlier undelivered one."""
    owner = uuid.uuid4().hex
    delivery, earlier = WebhookDelivery, aliased(WebhookDelivery)
    blocked = exists().where(earlier.endpoint_id == delivery.endpoint_id, earlier.order_key == delivery.order_key,
                             earlier.status == "pending", earlier.id < delivery.id)
    free = or_(delivery.lease_until.is_(None), delivery.lease_until <= now)
    async with runtime.session() as session:
        ids = list(await session.scalars(
            select(delivery.id).join(WebhookEndpoint, WebhookEndpoint.id == delivery.endpoint_id)
            .where(delivery.status == "pending", delivery.next_attempt_at <= now, free,
                   WebhookEndpoint.enabled.is_(True), or_(delivery.order_key.is_(None), ~blocked))
            .order_by(delivery.id).limit(limit)))
        if not ids:
            return owner, []
        # The WHERE is checked again row by row: of two workers racing for a row, one gets it.
        await session.execute(update(delivery).where(delivery.id.in_(ids), delivery.status == "pending", free)
                              .values(lease_until=now + LEASE, lease_owner=owner)
                              .execution_options(synchronize_session=False))
        await session.commit()
        claimed = list(await session.scalars(select(delivery.id).where(delivery.lease_owner == owner,
                                                                        delivery.status == "pending")
                                             .order_by(delivery.id)))
    return owner, claimed


async def deliver_due(runtime: Runtime, *, now: datetime | None = None, limit: int = CLAIM_BATCH) -> int:
    """Claim and send what is due; returns how many were attempted. Rows freed by a success (the next one of a
    conversation) are taken by the next round."""
    attempted = 0
    while True:
        owner, ids = await claim(runtime, now=now or utcnow(), limit=limit)
        if not ids:
            return attempted
        await _send_all(runtime, ids, owner, now)
        attempted += len(ids)
        if now is not None and attempted >= limit * 10:  # a fixed clock: bounded, for tests and tools
            return attempted


@dataclass
class _Outcome:
    delivery: WebhookDelivery
    endpoint: WebhookEndpoint
    status_code: int | None
    error: str | None
    duration_ms: int


async def _send_all(runtime: Runtime, ids: list[int], owner: str, now: datetime | None) -> None:
    """Send a claimed batch concurrently, then record every outcome in one transaction (a row per delivery
    read and written once per batch, not per delivery: the database is not what limits the rate)."""
    async with runtime.read_session() as session:
        rows = (await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lease_owner == owner,
                   WebhookDelivery.status == "pending").order_by(WebhookDelivery.id))).all()
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> _Outcome:
        async with slots:
            return await _send(runtime, delivery, endpoint)

    outcomes = await asyncio.gather(*(one(delivery, endpoint) for delivery, endpoint in rows))
    await _finish(runtime, outcomes, owner, now or utcnow())


def request_of(runtime: Runtime, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> tuple[str, dict[str, str]]:
    """The body and headers of one attempt, in the endpoint's format."""
    if endpoint.format == "zalo":
        return zalo_request(delivery.payload, app_id=str(endpoint.id), secret=endpoint.secret,
                            base_url=(runtime.settings.public_url or "").rstrip("/"))
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    return body, signed_headers(endpoint.secret, delivery.event_id, body, utcnow())


async def _send(runtime: Runtime, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> _Outcome:
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        body, headers = request_of(runtime, delivery, endpoint)
        response = await sender(runtime).client.post(endpoint.url, content=body.encode(), headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    except ValueError as exc:  # an event recorded before its endpoint switched to a format that lacks it
        error = str(exc)[:300]
    return _Outcome(delivery, endpoint, status_code, error, int((time.perf_counter() - started) * 1000))


async def _finish(runtime: Runtime, outcomes: Sequence[_Outcome], owner: str, now: datetime) -> None:
    delivered = [outcome for outcome in outcomes if outcome.error is None]
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    async with runtime.session() as session:
        if delivered:  # the common case, in two statements whatever the batch's size
            table = DELIVERIES
            await session.execute(
                update(table).where(table.c.id == bindparam("b_id"), table.c.lease_owner == owner,
                                    table.c.status == "pending")
                .values(status="delivered", delivered_at=now, attempts=table.c.attempts + 1, lease_until=None,
                        lease_owner=None, last_status_code=bindparam("b_status"), last_error=None),
                [{"b_id": o.delivery.id, "b_status": o.status_code} for o in delivered])
            await session.execute(insert(ATTEMPTS), [
                {"delivery_id": o.delivery.id, "status_code": o.status_code, "error": None,
                 "duration_ms": o.duration_ms, "created_at": now} for o in delivered])
            recovered = {o.endpoint.id for o in delivered if o.endpoint.consecutive_failures}
            if recovered:
                await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id.in_(recovered))
                                      .values(consecutive_failures=0).execution_options(synchronize_session=False))
        for outcome in failed:
            attempts = outcome.delivery.attempts + 1
            values: dict[str, Any] = ({"status": "failed"} if attempts >= MAX_ATTEMPTS
                                      else {"next_attempt_at": now + retry_delay(attempts)})
            result = await session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == outcome.delivery.id, WebhookDelivery.lease_owner == owner,
                WebhookDelivery.status == "pending").values(
                attempts=attempts, lease_until=None, lease_owner=None, last_status_code=outcome.status_code,
                last_error=outcome.error, **values).execution_options(synchronize_session=False))
            if result.rowcount != 1:  # our lease ran out and another worker took the row: its answer counts
                continue
            session.add(WebhookAttempt(delivery_id=outcome.delivery.id, status_code=outcome.status_code,
                                       error=outcome.error, duration_ms=outcome.duration_ms, created_at=now))
            await _count_failure(session, outcome.endpoint, now)
        await commit(session)


async def _count_failure(session: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> None:
    await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                          .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
                          .execution_options(synchronize_session=False))
    reason = (f"Tự động tắt sau {DISABLE_AFTER} lần gửi lỗi liên tiếp / Disabled after {DISABLE_AFTER} failed "
              "attempts in a row")
    disabled = await session.execute(update(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint.id, WebhookEndpoint.enabled.is_(True),
        WebhookEndpoint.consecutive_failures >= DISABLE_AFTER)
        .values(enabled=False, disabled_at=now, disabled_reason=reason).execution_options(synchronize_session=False))
    if disabled.rowcount == 1:
        log.warning("webhook endpoint disabled", endpoint_id=endpoint.id, account_id=endpoint.account_id)
        session.add(AuditEvent(action="webhook_endpoint.disabled", subject=f"webhook:{endpoint.id}",
                               account_id=endpoint.account_id, details={"url": endpoint.url}))
        # The console's notice: staff pages of the account hear it live.
        publish_after_commit(session, f"staff:{endpoint.account_id}", {
            "type": "webhook.disabled", "endpoint_id": str(endpoint.id), "url": endpoint.url, "message": reason})


async def sweep_once(runtime: Runtime) -> None:
    """Run by the sweep and the kick job; one round at a time per process (the lease keeps processes apart)."""
    lock = sender(runtime).running
    if lock.locked():
        return
    async with lock:
        await deliver_due(runtime)


# --- wiring: the job, the sweep, the writers' hook ------------------------------------------------------------
# Here rather than in tasks.py: the commit listener above enqueues the job, so it must exist wherever the
# listener does.


@job("integrations.deliver_webhooks")
async def deliver_job(runtime: Runtime) -> None:
    await sweep_once(runtime)


@sweep("integrations.deliver_webhooks", every_seconds=1.0)
async def deliver_sweep(runtime: Runtime) -> None:
    """Retries that came due, rows written by the group-commit writers, and leases of dead workers."""
    await sweep_once(runtime)


register_batch_hook("message", record_batch)
register_batch_hook("report", record_batch)
