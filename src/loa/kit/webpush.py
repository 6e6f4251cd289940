"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), over pywebpush.

pywebpush encrypts (`WebPusher.encode`); the request goes out on one pooled aiohttp session per event
loop (the transport pywebpush's own async API uses), so thousands of sends reuse their connections to
the few push services. Measured per push against a local server (bench/push_plan.py): this ≈ 0.2 ms
of CPU, pywebpush's blocking `send` in a thread with a requests.Session ≈ 0.7 ms, httpx ≈ 1.6–2.8 ms.
The VAPID token is signed once per push-service origin and reused until shortly before it expires (signing costs about
as much as encrypting, and the token does not depend on the recipient).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

from loa.settings import Settings

log = structlog.get_logger(__name__)

Urgency = Literal["very-low", "low", "normal", "high"]
# Status reported when no HTTP answer came back (connection refused, timeout, TLS failure).
NETWORK_ERROR = 0
TOKEN_LIFETIME = 12 * 3600  # push services refuse tokens valid for more than 24 h
TOKEN_REFRESH_BEFORE = 3600


class Subscription(Protocol):
    endpoint: str
    p256dh: str
    auth: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding (as browsers give subscription keys); ValueError otherwise."""
    if not text.isascii() or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- VAPID keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VapidKey:
    vapid: Vapid02
    public_key: str  # base64url of the uncompressed P-256 point: the browser's applicationServerKey
    subject: str


_KEYS: dict[tuple[str, str], VapidKey] = {}


def _private_key_text(settings: Settings) -> str:
    if settings.vapid_private_key:
        return settings.vapid_private_key.strip()
    path = settings.data_dir / "vapid_private_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        path.write_text(b64url(key.private_numbers().private_value.to_bytes(32, "big")))
        path.chmod(0o600)
    return path.read_text().strip()


def vapid_key(settings: Settings) -> VapidKey:
    """The installation's VAPID key: LOA_VAPID_PRIVATE_KEY (raw base64url or PEM), else generated once."""
    text = _private_key_text(settings)
    subject = settings.vapid_subject or settings.public_url or "mailto:webpush@localhost"
    cached = _KEYS.get((text, subject))
    if cached is not None:
        return cached
    vapid = Vapid02.from_pem(text.encode()) if text.startswith("-----BEGIN") else Vapid02.from_string(text)
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    key = VapidKey(vapid, b64url(point), subject)
    _KEYS[(text, subject)] = key
    return key


def application_server_key(settings: Settings) -> str:
    return vapid_key(settings).public_key


_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}


def _audience(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def authorization(key: VapidKey, endpoint: str) -> str:
    """The VAPID `Authorization` header for the endpoint's push service, signed once per origin."""
    audience = _audience(endpoint)
    now = time.time()
    cached = _TOKENS.get((key.public_key, audience))
    if cached is not None and cached[1] - now > TOKEN_REFRESH_BEFORE:
        return cached[0]
    expires = int(now) + TOKEN_LIFETIME
    header = key.vapid.sign({"aud": audience, "sub": key.subject, "exp": expires})["Authorization"]
    _TOKENS[(key.public_key, audience)] = (header, expires)
    return header


# ---- sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def build_request(subscription: Subscription, payload: bytes, *, key: VapidKey, ttl: int,
                  urgency: Urgency = "normal", topic: str | None = None) -> PushRequest:
    """Encrypt `payload` for one subscription and add the protocol headers (no I/O)."""
    pusher = WebPusher({"endpoint": subscription.endpoint,
                        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}})
    body = pusher.encode(payload, "aes128gcm")["body"]
    headers = {
        "Authorization": authorization(key, subscription.endpoint),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl),
        "Urgency": urgency,
    }
    if topic:
        headers["Topic"] = topic  # the push service keeps only the newest undelivered push of a topic
    return PushRequest(subscription.endpoint, headers, body)


_SESSIONS: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def http_session() -> aiohttp.ClientSession:
    """The pooled session of the running event loop (one per loop: a session is bound to its loop)."""
    loop = asyncio.get_running_loop()
    found = _SESSIONS.get(loop)
    if found is None or found.closed:
        for other in [other for other in _SESSIONS if other.is_closed()]:
            _SESSIONS.pop(other, None)
        found = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
            headers={"User-Agent": "Loa-WebPush"},
        )
        _SESSIONS[loop] = found
    return found


async def close() -> None:
    """Close the running loop's session (on shutdown)."""
    found = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()


@dataclass(frozen=True)
class PushResult:
    status: int  # HTTP status, or NETWORK_ERROR
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription no longer exists: delete it (404, 410)."""
        return self.status in (404, 410)

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, throttled, or the push service failed."""
        return self.status in (NETWORK_ERROR, 408, 425, 429) or self.status >= 500


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


async def post(request: PushRequest, *, timeout_seconds: float = 10.0) -> PushResult:
    try:
        async with http_session().post(request.url, data=request.body, headers=request.headers,
                                       allow_redirects=False,  # a push service answers, it does not redirect
                                       timeout=aiohttp.ClientTimeout(total=timeout_seconds)) as response:
            text = await response.text(errors="replace") if response.status >= 400 else ""
            status, retry = response.status, _retry_after(response.headers.get("Retry-After"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.info("push: no answer", host=urlsplit(request.url).hostname, error=type(exc).__name__)
        return PushResult(NETWORK_ERROR)
    if status >= 400 and status not in (404, 410):
        log.info("push: refused", host=urlsplit(request.url).hostname, status=status, body=text[:200])
    return PushResult(status, retry)


async def send(subscription: Subscription, payload: bytes, *, settings: Settings, ttl: int,
               urgency: Urgency = "normal", topic: str | None = None) -> PushResult:
    """Encrypt and deliver one push; the status says what to do with the subscription."""
    request = build_request(subscription, payload, key=vapid_key(settings), ttl=ttl, urgency=urgency, topic=topic)
    return await post(request, timeout_seconds=settings.push_timeout_seconds)


def new_auth_secret() -> bytes:
    """16 random bytes, as a browser makes for a subscription (tests and benchmarks play browsers)."""
    return secrets.token_bytes(16)
