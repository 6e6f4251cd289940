"""How an app's call is let in, logged and made safe to retry.

- `require_app(scope)`: `Authorization: Bearer <access token or API key>` of a live token with that scope.
- `AuditedRoute`: every call an app makes is written to its call log (route template, status, duration).
- `Idempotency`: a POST with `Idempotency-Key` is run once per key; a retry with the same body gets the first
  answer again, the same key with another body is refused (422). Keys are kept per app for 24 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from loa.db.base import utcnow
from loa.domains.integrations import service
from loa.domains.integrations.idempotency_keys import (
    IDEMPOTENCY_TTL,
    Claim,
    Held,
    Settle,
    claim_all,
    key_writer,
    settle_all,
)
from loa.domains.integrations.models import AppCall, IdempotencyKey
from loa.kit.errors import AppError, Conflict, Forbidden, Invalid, TooMany, Unauthorized, error_body
from loa.kit.groupcommit import Guard

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)

INVALID_TOKEN = ("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi / "  # noqa: S105 - a message
                 "Invalid, expired or revoked access token")
MISSING_SCOPE = "Mã truy cập không có quyền “{scope}” / The access token lacks the “{scope}” scope"

_bearer = HTTPBearer(auto_error=False, description="An app's access token or API key.")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_app(scope: str | None) -> Callable[..., Awaitable[service.AppContext]]:
    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> service.AppContext:
        raw = credentials.credentials if credentials else ""
        if not raw or len(raw) > 256:
            raise Unauthorized(INVALID_TOKEN, code="invalid_token")
        context = await service.authenticate(_runtime(request), raw)
        if context is None:
            raise Unauthorized(INVALID_TOKEN, code="invalid_token")
        request.state.integration_app = context  # the call log knows whose call it was, refused or not
        if scope is not None and scope not in context.scopes:  # None: any scope (the account's profile)
            raise Forbidden(MISSING_SCOPE.format(scope=scope), code="insufficient_scope")
        return context

    dependency.__name__ = f"require_app_{scope or 'any'}"
    return dependency


class AuditedRoute(APIRoute):
    """A route whose every call by an app lands in that app's call log."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        route = self.path_format

        async def audited(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status_code
                return response
            except AppError as exc:
                status = exc.status_code
                raise
            except RequestValidationError:
                status = 422
                raise
            except HTTPException as exc:
                status = exc.status_code
                raise
            finally:
                context: service.AppContext | None = getattr(request.state, "integration_app", None)
                if context is not None:
                    # A surface that answers refusals with HTTP 200 (Zalo's) says what it refused.
                    status = getattr(request.state, "refused_with", status)
                    await _log_call(_runtime(request), context, request.method, route, status,
                                    int((time.perf_counter() - started) * 1000))

        return audited


async def _log_call(runtime: Runtime, context: service.AppContext, method: str, route: str, status: int,
                    duration_ms: int) -> None:
    call_log(runtime).add({"app_id": context.app.id, "method": method[:7], "route": route[:120], "status": status,
                           "duration_ms": min(duration_ms, 2**31 - 1), "created_at": utcnow()})


class CallLog:
    """Calls are written in batches, once a second (or every FLUSH_AT calls): a write transaction per call would
    cost more than many calls themselves. A crash loses at most the last second of the log, never a call."""

    FLUSH_AT = 500
    EVERY_SECONDS = 1.0

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pending: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.full = asyncio.Event()

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.FLUSH_AT:
            self.full.set()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._later(), name="loa-app-call-log")

    async def _later(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.full.wait(), self.EVERY_SECONDS)
        self.full.clear()
        await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            rows, self.pending = self.pending, []
            if not rows:
                return
            try:
                async with self.runtime.writing(), self.runtime.session() as session:
                    await session.execute(insert(AppCall.__table__), rows)
                    await session.commit()
            except Exception:  # the calls themselves are answered already; a lost log line must not change that
                log.warning("app calls not logged", count=len(rows), exc_info=True)

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.flush()


def call_log(runtime: Runtime) -> CallLog:
    return runtime.part("integrations.call_log", CallLog)


# --- idempotency ----------------------------------------------------------------------------------------

Handler = Callable[[], Awaitable[tuple[int, Any]]]
GuardedWrite = Callable[[Guard | None], Awaitable[Any]]
Respond = Callable[[Any], tuple[int, Any]]


class KeyInUse(Conflict):
    """The key is held by a request still running."""


class KeyReused(Invalid):
    """The key was used before with another request."""


class Replayed(AppError):
    """The key's first request has its answer: this one gets it again (never sent as an error)."""

    def __init__(self, held: Held) -> None:
        super().__init__("replayed")
        self.held = held


class Idempotency:
    """Built per request by the `Idem` dependency; `run(handler)` answers the POST."""

    def __init__(self, request: Request, key: str | None) -> None:
        self.request = request
        self.key = key
        self.request_hash = ""
        self.answer: tuple[int, Any] | None = None  # kept with the write (`run_guarded`)

    async def run(self, handler: Handler, *, fingerprint: bytes | None = None) -> JSONResponse:
        """The key claimed in a write of its own, then `handler()`."""
        if self.key is None:
            status, body = await handler()
            return JSONResponse(body, status)
        app_id, request_hash = await self._identity(fingerprint)
        runtime = _runtime(self.request)
        held = await key_writer(runtime).submit(Claim(app_id, self.key, request_hash, utcnow()))
        if held is not None:
            return _replay(_refusal(held, request_hash, answers_in_flight(runtime).get((app_id, self.key))))
        return await self._answer(app_id, handler)

    async def run_guarded(self, write: GuardedWrite, respond: Respond) -> JSONResponse:
        """`write(guard)` for a call whose one write goes through a group-commit writer, answered with
        `respond(result)`. The guard claims the key in that write's own transaction, and keeps the answer there
        too (`GroupCommitWriter.submit(guard=…)`): the key, the write and its answer commit together, one
        transaction per call, and a retry anywhere finds the answer as soon as the call has it."""
        if self.key is None:
            status, body = respond(await write(None))
            return JSONResponse(body, status)
        app_id, request_hash = await self._identity(None)
        in_flight = answers_in_flight(_runtime(self.request))
        guard = Guard(_claim_keys, _Guarded(self, Claim(app_id, self.key, request_hash, utcnow()), in_flight,
                                            respond), settle=_answer_keys)
        try:
            await write(guard)
        except Replayed as replayed:
            return _replay(replayed)
        assert self.answer is not None  # kept by `_answer_keys` in the write's batch
        status, body = self.answer
        return JSONResponse(body, status)

    async def _identity(self, fingerprint: bytes | None) -> tuple[int, str]:
        context: service.AppContext = self.request.state.integration_app
        digest = hashlib.sha256()
        digest.update(f"{self.request.method} {self.request.url.path}\n".encode())
        digest.update(fingerprint if fingerprint is not None else await self.request.body())
        self.request_hash = digest.hexdigest()
        return context.app.id, self.request_hash

    async def _answer(self, app_id: int, handler: Handler) -> JSONResponse:
        """Run the handler of a claimed key, and keep its answer (or forget the key) for the retries."""
        try:
            status, body = await handler()
        except (KeyInUse, KeyReused, Replayed):
            raise  # the key is another request's: nothing of it to keep or forget
        except AppError as exc:
            self._settle(app_id, *_kept_refusal(exc))
            raise
        except BaseException:
            self._settle(app_id, None)
            raise
        self._settle(app_id, status, body)
        return JSONResponse(body, status)

    # `run`'s answer is kept with the key writer's next batch, and the caller does not wait for it. Until that
    # batch has committed, the answer waits in this process's `answers_in_flight`, where a retry reaching this
    # process finds it; one reaching another process within those milliseconds is told the first request is
    # still running (409, retry). A process that dies first leaves the key running until `ABANDONED_AFTER`; the
    # retry then runs again.
    def _settle(self, app_id: int, status: int | None, body: Any = None) -> None:
        runtime = _runtime(self.request)
        row = (app_id, self.key or "")
        in_flight = answers_in_flight(runtime)
        if status is not None:
            in_flight[row] = Held(self.request_hash, status, body)
        kept = key_writer(runtime).post(Settle(app_id, self.key or "", status, body))
        kept.add_done_callback(lambda _: in_flight.pop(row, None))


def answers_in_flight(runtime: Runtime) -> dict[tuple[int, str], Held]:
    """Answers of this process's calls whose keys' rows are not updated yet: (app id, key) → the answer."""
    return runtime.part("integrations.answers_in_flight", lambda _: {})


def _kept_refusal(exc: AppError) -> tuple[int | None, Any]:
    """What a key keeps of a refusal: the error, or nothing (None) for one that passes, where the retry may
    succeed (too many calls)."""
    if isinstance(exc, TooMany):
        return None, None
    return exc.status_code, error_body(exc.code, exc.message, exc.details)


class _Guarded(NamedTuple):
    """A key claimed in a group-commit batch (`run_guarded`), and how to answer from what the batch stored."""

    idempotency: Idempotency
    claim: Claim
    in_flight: dict[tuple[int, str], Held]
    respond: Respond


def _claim_keys(session: Session, subjects: list[_Guarded]) -> list[AppError | None]:
    """The guard of a batch's keys (`run_guarded`): claimed together, in the batch's transaction."""
    outcomes: list[AppError | None] = []
    for subject, held in zip(subjects, claim_all(session, [item.claim for item in subjects]), strict=True):
        claim = subject.claim
        outcomes.append(None if held is None else
                        _refusal(held, claim.request_hash, subject.in_flight.get((claim.app_id, claim.key))))
    return outcomes


def _answer_keys(session: Session, answered: list[tuple[_Guarded, Any]]) -> None:
    """The answers of a batch's claimed keys, kept in the same transaction as what they answer for."""
    settles = []
    for subject, outcome in answered:
        if isinstance(outcome, AppError):
            status, body = _kept_refusal(outcome)
        else:
            status, body = subject.idempotency.answer = subject.respond(outcome)
        settles.append(Settle(subject.claim.app_id, subject.claim.key, status, body))
    settle_all(session, settles)


def _refusal(held: Held, request_hash: str, answered: Held | None) -> AppError:
    """What holding a key means for a request with it; `answered`: the first request's answer while it is
    still on its way to the key's row (this process's `answers_in_flight`)."""
    if held.status_code is None and answered is not None:
        held = answered
    if held.status_code is None:
        return KeyInUse("Yêu cầu với khóa này đang được xử lý, hãy thử lại / A request with this key is being "
                        "processed, retry", code="idempotency_in_progress")
    if held.request_hash != request_hash:
        return KeyReused("Khóa Idempotency-Key đã được dùng cho một yêu cầu khác / This Idempotency-Key was used "
                         "with a different request", code="idempotency_key_reused")
    return Replayed(held)


def _replay(refusal: AppError) -> JSONResponse:
    if not isinstance(refusal, Replayed):
        raise refusal
    return JSONResponse(refusal.held.response, refusal.held.status_code, headers={"Idempotent-Replayed": "true"})


async def _idempotency(request: Request, idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=255, description="Retry-safe POST: the same key and body get the first answer "
        "again (24 h)")] = None) -> Idempotency:
    return Idempotency(request, idempotency_key)


Idem = Annotated[Idempotency, Depends(_idempotency)]


async def prune_keys(runtime: Runtime) -> None:
    async with runtime.writing(), runtime.session() as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_TTL))
        await session.commit()
