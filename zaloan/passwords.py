"""Whether a chosen password is good enough, with the reason in words when it is not.

NIST SP 800-63B: at least 8 characters, a generous maximum, no rules on which
kinds of characters; refuse what is common, expected or tied to the person
(their phone number, their name, those with a few digits added). zxcvbn
(a maintained estimator with the world's most common passwords, keyboard runs,
repeats, sequences and dates) is asked about the password as typed and with its
spaces, dashes and accents taken away, so "mat-khau-1" is judged as "matkhau1";
a short list of Vietnamese favourites (common_passwords_vi.txt) is checked
beside it.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
# zxcvbn's score 2 means more than a million guesses even for an attacker who knows
# the usual choices; online guessing is slowed by the login limits beyond that.
MIN_SCORE = 2


def plain(text: str) -> str:
    """Return `text` lower case, without accents (đ becomes d), spaces or signs between words."""
    text = unicodedata.normalize("NFD", (text or "").lower().replace("đ", "d"))
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch))


def core(text: str) -> str:
    """Return `plain(text)` without the digits before and after it: "anhyeuem2024" -> "anhyeuem"."""
    return plain(text).strip("0123456789")


@lru_cache(maxsize=1)
def vietnamese_favourites() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords_vi.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def phone_digits(phone: str | None) -> str:
    """Return the part of a phone number every written form shares: +84912345678 -> 912345678."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if digits.startswith("84"):
        digits = digits[2:]
    return digits.lstrip("0")


def name_forms(name: str | None) -> set[str]:
    """Return the ways a person's name could be typed as a password: whole, given name, pairs, reversed."""
    words = [plain(w) for w in (name or "").split()]
    words = [w for w in words if w]
    if not words:
        return set()
    forms = {"".join(words), "".join(reversed(words))}
    for i in range(len(words)):
        forms.add("".join(words[i:]))  # "vanan", "an"
    if len(words) >= 2:
        forms.add(words[-1] + words[0])  # given name + family name
        forms.add(words[0] + words[-1])
    return {f for f in forms if len(f) >= 2}


def problem(password: str, *, phone: str | None = None, name: str | None = None) -> str | None:
    """Return why `password` is refused (translated, for the field), or None when it is good enough."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("The password needs at least 8 characters.")
    if len(password) > MAX_LENGTH:
        return _("The password can have at most %(n)s characters.", n=MAX_LENGTH)
    digits = phone_digits(phone)
    if len(digits) >= 8 and digits in "".join(ch for ch in password if ch.isdigit()):
        return _("The password must not contain your phone number.")
    letters = "".join(ch for ch in plain(password) if not ch.isdigit())
    if letters and letters in name_forms(name):
        return _("The password must not be your name, even with numbers added.")
    compact, stripped = plain(password), core(password)
    if compact in vietnamese_favourites() or stripped in vietnamese_favourites():
        return _("Too many people use this password, so it is easy to guess. Please choose another.")
    inputs = [w for w in (name or "").split()] + [plain(name or ""), digits, "0" + digits, "84" + digits]
    results = [zxcvbn(p[:64], user_inputs=[i for i in inputs if i]) for p in {password, compact}]
    weakest = min(results, key=lambda r: r["score"])
    if weakest["score"] >= MIN_SCORE:
        return None
    if any(m.get("dictionary_name") == "passwords" for m in weakest["sequence"]):
        return _("Too many people use this password, so it is easy to guess. Please choose another.")
    return _("This password is too easy to guess (a run of keys, repeated or counted digits, a date or a "
             "single word). A few words you will remember work well, e.g. tre-xanh-go-7.")
