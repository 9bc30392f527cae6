"""Vietnamese phone numbers: one canonical form (E.164) for every way people write them."""
import phonenumbers


class PhoneError(ValueError):
    """The text is not a phone number we can use."""


def normalize_phone(raw: str) -> str:
    """Return `raw` as E.164 (+84912345678); raise PhoneError if it is not a valid number.

    Accepts the forms people type: 0912 345 678, 0912.345.678, +84 912 345 678,
    84912345678, (+84) 912-345-678.
    """
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise PhoneError(raw)
    digits = "".join(ch for ch in text if ch.isdigit())
    # "84912345678" without the plus: people copy it that way from Zalo.
    if not text.startswith("+") and digits.startswith("84") and len(digits) == 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(raw) from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != "VN":
        raise PhoneError(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """Return the national form people read, e.g. 0912 345 678."""
    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
