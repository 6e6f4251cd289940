"""What the integration tests share: an account with an owner, an app with its tokens, and a real local HTTP
receiver for webhooks (uvicorn on a loopback port, in this event loop)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from httpx import AsyncClient
from tests.factories import make_account, make_user

from loa.domains.accounts.models import Account
from loa.domains.people.models import User
from loa.runtime import Runtime


@dataclass
class Tenant:
    account: Account
    owner: User
    as_owner: AsyncClient


async def make_tenant(runtime: Runtime, client_as, name: str = "Sở Y tế Hà Nội") -> Tenant:  # type: ignore[no-untyped-def]
    owner = await make_user(runtime, name=f"Chủ tài khoản {name}")
    account = await make_account(runtime, name=name, owner=owner)
    return Tenant(account, owner, await client_as(owner))


async def make_app(tenant: Tenant, scopes: list[str] | None = None, name: str = "Hệ thống một cửa") -> dict[str, Any]:
    response = await tenant.as_owner.post(f"/api/v1/accounts/{tenant.account.id}/apps",
                                          json={"name": name, "scopes": scopes or ["messages", "followers",
                                                                                   "broadcasts", "reports"]})
    assert response.status_code == 201, response.text
    return response.json()


async def get_tokens(client: AsyncClient, app: dict[str, Any], scope: str | None = None) -> dict[str, Any]:
    form = {"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]}
    if scope:
        form["scope"] = scope
    response = await client.post("/api/v1/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until `check()` holds (deliveries go out from a background job and a 1-second sweep)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: records every request; `answer(received)` picks the status (200 by default);
    `hold` makes it wait before answering (a slow receiver, to kill a worker mid-send), from the request after
    the first `hold_after` ones."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda received: 200
    hold: asyncio.Event | None = None
    hold_after: int = 0

    def ok(self) -> list[Received]:
        return [item for item in self.received if 200 <= item.status < 300]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        item = Received({key.decode(): value.decode() for key, value in scope["headers"]}, body)
        self.received.append(item)
        if self.hold is not None and len(self.received) > self.hold_after:
            await self.hold.wait()
        status = item.status = self.answer(item)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def start_receiver(receiver: Receiver) -> uvicorn.Server:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(receiver, log_level="warning", lifespan="off"))
    server.config.setup_event_loop = lambda: None  # type: ignore[method-assign]
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    task = asyncio.create_task(server.serve(sockets=[sock]))
    server._loa_task = task  # type: ignore[attr-defined]
    await eventually(_started(server), seconds=10)
    return server


def _started(server: uvicorn.Server) -> Callable[[], Awaitable[bool]]:
    async def started() -> bool:
        return bool(server.started)

    return started


async def stop_receiver(server: uvicorn.Server) -> None:
    server.should_exit = True
    await server._loa_task  # type: ignore[attr-defined]
