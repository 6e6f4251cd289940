"""A local push service and fake browsers: real P-256 keys, real aes128gcm decryption of what we send."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from loa.kit import webpush


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class FakeBrowser:
    """What a browser keeps for one push subscription: its ECDH key pair and auth secret."""

    token: str = field(default_factory=lambda: secrets.token_hex(8))
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return b64url(point)

    def subscription(self, base_url: str) -> dict[str, Any]:
        """As PushSubscription.toJSON() gives it."""
        return {"endpoint": f"{base_url}/push/{self.token}", "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        return json.loads(plain)


@dataclass
class Received:
    token: str
    payload: dict[str, Any]
    headers: dict[str, str]


class FakePushService:
    """Accepts pushes on 127.0.0.1, decrypts them with the browser's key, checks the VAPID token."""

    def __init__(self) -> None:
        self.browsers: dict[str, FakeBrowser] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.status: dict[str, int] = {}  # token → status to answer instead of 201
        self.default_status = 201
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def browser(self) -> FakeBrowser:
        browser = FakeBrowser()
        self.browsers[browser.token] = browser
        return browser

    def tokens(self) -> list[str]:
        return [item.token for item in self.received]

    async def _push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        browser = self.browsers.get(token)
        if browser is None:
            return web.Response(status=404)
        status = self.status.get(token, self.default_status)
        if status >= 300:
            return web.Response(status=status)
        body = await request.read()
        try:
            if not Vapid02.verify(request.headers["Authorization"]):
                raise ValueError("bad VAPID signature")
            payload = browser.decrypt(body)
        except Exception as exc:  # recorded, so the test fails with the reason
            self.errors.append(f"{token}: {exc!r}")
            return web.Response(status=400)
        self.received.append(Received(token, payload, dict(request.headers)))
        return web.Response(status=201)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@asynccontextmanager
async def running_push_service() -> AsyncIterator[FakePushService]:
    """A local push service for a test (it decrypts what we send with the fake browser's keys)."""
    fake = FakePushService()
    await fake.start()
    try:
        yield fake
    finally:
        await webpush.close()  # the pooled client of this event loop, before its server goes
        await fake.stop()
