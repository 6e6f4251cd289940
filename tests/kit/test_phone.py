"""Phone numbers are stored in E.164; Vietnamese numbers may be typed the local way."""

from __future__ import annotations

import pytest

from loa.kit.errors import Invalid
from loa.kit.phone import normalize_mobile, normalize_phone


@pytest.mark.parametrize("raw", ["0912 345 678", "0912345678", "091.234.5678", "+84 912 345 678", "(+84) 912-345-678",
                                 " 0912345678 "])
def test_vietnamese_mobile_numbers_become_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+84912345678"
    assert normalize_mobile(raw) == "+84912345678"


def test_landlines_and_foreign_numbers_are_phone_numbers_too() -> None:
    assert normalize_phone("024 3825 3536") == "+842438253536"
    assert normalize_phone("+33 1 42 68 53 00") == "+33142685300"


@pytest.mark.parametrize("raw", ["", "   ", "12345", "not a phone", "0912 345 678 999 999", "+84 12", "0" * 40,
                                 "+999 123456789"])
def test_invalid_numbers_are_refused_with_a_clear_message(raw: str) -> None:
    with pytest.raises(Invalid) as refusal:
        normalize_phone(raw)
    assert refusal.value.status_code == 422
    assert refusal.value.code == "invalid_phone"
    assert refusal.value.message == "Số điện thoại không hợp lệ / Invalid phone number"


def test_a_landline_cannot_receive_a_code() -> None:
    with pytest.raises(Invalid) as refusal:
        normalize_mobile("024 3825 3536")
    assert refusal.value.message.startswith("Cần số điện thoại di động")
