"""Configuration from `LOA_*` environment variables; `./loa run` works with none set."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOA_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None

    data_dir: Path = Path("var")
    database_url: str | None = None  # default: SQLite file in data_dir
    redis_url: str | None = None  # set → Redis-backed jobs, events and rate limits
    redis_prefix: str = Field(default="loa", pattern=r"^[A-Za-z0-9_.-]{1,40}$")  # several installations, one Redis

    secret_key: str | None = None  # default: generated once into data_dir/secret_key
    log_format: Literal["console", "json"] | None = None  # default: json in production
    log_level: str = "INFO"

    otp_sender: Literal["log"] = "log"
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    session_ttl_hours: int = 24 * 14
    # Rate limits in the `limits` notation ("N/period"); per-IP budgets allow for offices behind one NAT.
    otp_limit_per_phone: str = "5/15minutes"
    otp_limit_per_ip: str = "60/hour"
    login_limit_per_email: str = "10/15minutes"
    login_limit_per_ip: str = "100/15minutes"
    message_limit_per_citizen: str = "30/minute"  # messages one citizen may send, to all accounts together

    @field_validator("otp_limit_per_phone", "otp_limit_per_ip", "login_limit_per_email", "login_limit_per_ip",
                     "message_limit_per_citizen")
    @classmethod
    def _limit_notation(cls, value: str) -> str:
        from limits import parse

        parse(value)  # a typo fails at start-up, not at the first sign-in
        return value
    seed_demo: bool = True  # `./loa run` seeds demo data into an empty database
    sweep_interval_seconds: float = 10.0
    broadcast_daily_quota: int = Field(default=10, ge=1, le=1000)  # per account; overridable per account
    run_worker_in_web: bool | None = None  # default: True when no Redis (embedded mode)

    # Web Push (VAPID). The private key: base64url of the raw 32 bytes, or PEM; default generated once
    # into data_dir/vapid_private_key. The subject is a contact push services may use ("mailto:" or "https:").
    vapid_private_key: str | None = None
    vapid_subject: str | None = None  # default: public_url, else mailto:webpush@localhost
    push_limit_global: str = "2000/second"  # pushes of this installation, all accounts together
    push_limit_per_account: str = "1000/second"
    push_checkpoint_every: int = Field(default=50, ge=1, le=1000)  # recipients between saved resume points
    push_concurrency: int = Field(default=32, ge=1, le=512)  # requests in flight per batch
    push_ttl_seconds: int = Field(default=86_400, ge=0, le=2_419_200)  # how long push services keep a push
    push_max_attempts: int = Field(default=8, ge=1, le=50)
    push_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("push_limit_global", "push_limit_per_account")
    @classmethod
    def _push_limit_notation(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value

    # Map tiles, e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png" (a server the operator may use). Empty: no
    # tiles are fetched; maps still work as a blank area with a pin and the coordinates as numbers.
    map_tile_url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+|/\S+)?$")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'loa.db').resolve()}"

    @property
    def embedded_worker(self) -> bool:
        if self.run_worker_in_web is not None:
            return self.run_worker_in_web
        return self.redis_url is None

    @property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def is_production(self) -> bool:
        return self.env == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
