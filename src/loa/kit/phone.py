"""Phone numbers in one form everywhere: E.164 (+84…), Vietnam as the region of numbers typed without +."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from loa.kit.errors import Invalid

DEFAULT_REGION = "VN"
MAX_INPUT_LENGTH = 32  # generous for spaces, dots and dashes; longer is not a phone number
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

INVALID_MESSAGE = "Số điện thoại không hợp lệ / Invalid phone number"
NOT_MOBILE_MESSAGE = "Cần số điện thoại di động để nhận mã / A mobile number is needed to receive the code"


def _parse(raw: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT_LENGTH:
        raise Invalid(INVALID_MESSAGE, code="invalid_phone")
    try:
        number = phonenumbers.parse(raw.strip(), DEFAULT_REGION)
    except NumberParseException as exc:
        raise Invalid(INVALID_MESSAGE, code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid(INVALID_MESSAGE, code="invalid_phone")
    return number


def normalize_phone(raw: str) -> str:
    """"0912 345 678" → "+84912345678"; anything that is not a valid number raises Invalid (422)."""
    return phonenumbers.format_number(_parse(raw), phonenumbers.PhoneNumberFormat.E164)


def normalize_mobile(raw: str) -> str:
    """As normalize_phone, but only numbers that can receive a text message (landlines cannot)."""
    number = _parse(raw)
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise Invalid(NOT_MOBILE_MESSAGE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
