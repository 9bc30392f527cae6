"""Numbers and days read from URLs and query strings: bounded, so junk is ignored and never crashes.

A number typed into a URL goes straight into a database bind: SQLite refuses
anything beyond 64 bits and PostgreSQL's integer columns anything beyond 32,
both with an exception. Every id and page number is read through here.
"""
from __future__ import annotations

from datetime import datetime

from flask import request
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of an integer column on PostgreSQL
MIN_YEAR, MAX_YEAR = 2000, 2100  # dates outside this span are typing mistakes or attacks


def to_int(raw, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """Return the plain decimal number in `raw` when lo <= n <= hi, else None ("²", "1e9", huge: None)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        text = raw if isinstance(raw, str) else ""
        if not (text.isascii() and text.isdigit()) or len(text) > 20:
            return None
        value = int(text)
    return value if lo <= value <= hi else None


def arg_int(name: str, default: int | None = None, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """Return the query-string number `name` within [lo, hi]; `default` when it is missing or out of range."""
    value = to_int(request.args.get(name), lo, hi)
    return default if value is None else value


def to_day(raw: str | None) -> datetime | None:
    """Return the day of a YYYY-MM-DD text between MIN_YEAR and MAX_YEAR, else None."""
    try:
        day = datetime.strptime((raw or "").strip(), "%Y-%m-%d")
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


class IdConverter(IntegerConverter):
    """The `int` URL converter, limited to what an id column holds and to ASCII digits.

    /officer/tips/99999999999999999999 answers 404 from routing, before any
    view binds the number into a query.
    """

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _without_nul(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class WithoutNul(ImmutableMultiDict):
    """Query-string and form values with NUL characters taken out.

    PostgreSQL text cannot hold a NUL (the insert or even a comparison
    fails), and no keyboard types one; uploaded files are left as they are.
    """

    def __init__(self, mapping=None):
        if mapping is not None:
            mapping = [(_without_nul(k), _without_nul(v)) for k, v in iter_multi_items(mapping)]
        super().__init__(mapping)


def init_inputs(app) -> None:
    """Route every `<int:...>` through IdConverter (call before blueprints register their rules) and
    read query strings and forms without NUL characters.

    Call it after the extensions: the request class extends whichever one they
    set (htmx's gives `request.htmx`).
    """
    app.url_map.converters["int"] = IdConverter
    app.request_class = type("CleanRequest", (app.request_class,), {"parameter_storage_class": WithoutNul})
