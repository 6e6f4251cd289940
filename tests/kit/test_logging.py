"""Error logs in a terminal: the traceback says where it failed, never what a request's variables held."""

from __future__ import annotations

import pytest
import structlog

from loa.kit.logging import configure_logging
from loa.settings import Settings


def test_an_error_log_shows_the_traceback_without_local_values(settings: Settings,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings.model_copy(update={"log_format": "console", "log_level": "INFO"}))

    def check_password(password: str) -> None:
        raise ValueError("wrong password")

    typed = " ".join(["correct", "horse", "battery", "staple"])  # a value no source line shows
    try:
        check_password(typed)
    except ValueError:
        structlog.get_logger().exception("sign-in failed")
    finally:
        configure_logging(settings)
    err = capsys.readouterr().err
    assert "sign-in failed" in err and "ValueError: wrong password" in err and "check_password" in err
    assert "correct horse battery staple" not in err
