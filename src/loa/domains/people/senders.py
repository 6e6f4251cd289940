"""Where one-time codes go: a pluggable sender chosen by `LOA_OTP_SENDER`.

The embedded "log" sender delivers nothing: it writes a log line and a `sent_messages` row, which the
developer page `/dev/messages` lists. A deployment adds an SMS gateway with `register_otp_sender`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import structlog

from loa.domains.people.models import SentMessage

if TYPE_CHECKING:
    from loa.runtime import Runtime

log = structlog.get_logger(__name__)


class OtpSender(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class LogOtpSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def send(self, phone: str, text: str) -> None:
        # Its own unit of work: the caller has committed the challenge before sending.
        async with self.runtime.session() as session:
            session.add(SentMessage(channel="sms", recipient=phone, body=text))
            await session.commit()
        if self.runtime.settings.is_production:
            # Codes stay out of production logs; this sender reaches nobody there.
            log.warning("one-time code not delivered: the log sender is configured", recipient=phone[:-4] + "****")
        else:
            log.info("one-time code", channel="sms", recipient=phone, body=text)


OtpSenderFactory = Callable[["Runtime"], OtpSender]
OTP_SENDERS: dict[str, OtpSenderFactory] = {"log": LogOtpSender}


def register_otp_sender(name: str, factory: OtpSenderFactory) -> None:
    OTP_SENDERS[name] = factory


def otp_sender(runtime: Runtime) -> OtpSender:
    return OTP_SENDERS[runtime.settings.otp_sender](runtime)
