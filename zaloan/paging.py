"""Long lists read a page at a time from where the last page ended (keyset), not by skipping rows.

Skipping (OFFSET) makes the database read and sort every row before the page
it shows: the 400th page of a commune's 20,000 tips took three times the
first. A page here starts after the last row of the one before (its sort key,
carried in the "More" link as `after`) or ends before the first row of the
one after (`before`, for "Previous"), so every page costs what the first does.

A cursor is plain text of the sort key's values, e.g. `4.20261130101112000123.273`
for (urgency, created at, id): a bad or foreign cursor is ignored and the list
starts at its first page, like any other bad link.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import request
from sqlalchemy import and_, or_

from .inputs import to_int

TIME_FORMAT = "%Y%m%d%H%M%S%f"
MAX_CURSOR = 200  # characters


@dataclass(frozen=True)
class Key:
    """One column of a list's order: its column, whether it runs downwards, and its kind ("int" or "time")."""

    column: Any
    descending: bool = False
    kind: str = "int"
    sort: Any = None  # what ORDER BY names, when not the column itself

    @property
    def sorted_by(self):
        return self.column if self.sort is None else self.sort

    def encode(self, value) -> str:
        return value.strftime(TIME_FORMAT) if self.kind == "time" else str(int(value))

    def decode(self, text: str):
        if self.kind == "time":
            if len(text) != 20 or not (text.isascii() and text.isdigit()):
                return None
            try:
                return datetime.strptime(text, TIME_FORMAT)
            except ValueError:  # no such day or time
                return None
        return to_int(text, lo=0)


@dataclass
class Page:
    rows: list
    after: str | None = None  # the cursor of the next page ("More"), if there is one
    before: str | None = None  # the cursor of the page before ("Previous"), if there is one
    asked: dict = field(default_factory=dict)  # the cursor this page was asked with, for links that show it again


def cursor_of(keys: tuple[Key, ...], row) -> str:
    return ".".join(k.encode(getattr(row, k.column.key)) for k in keys)


def read_cursor(keys: tuple[Key, ...], text: str | None) -> tuple | None:
    """The values of a cursor, or None when it is missing or not one of this list's."""
    if not text or len(text) > MAX_CURSOR:
        return None
    parts = text.split(".")
    if len(parts) != len(keys):
        return None
    values = tuple(k.decode(p) for k, p in zip(keys, parts))
    return None if any(v is None for v in values) else values


def _beyond(keys: tuple[Key, ...], values: tuple, backwards: bool):
    """The rows after `values` in the list's order (before them when `backwards`)."""
    terms = []
    for i, key in enumerate(keys):
        later = key.column < values[i] if key.descending != backwards else key.column > values[i]
        terms.append(and_(*(k.column == v for k, v in zip(keys[:i], values[:i])), later))
    return or_(*terms)


def _ordered(keys: tuple[Key, ...], backwards: bool) -> list:
    return [k.sorted_by.desc() if k.descending != backwards else k.sorted_by.asc() for k in keys]


def asked(keys: tuple[Key, ...]) -> dict:
    """The request's cursor, if it is one of this list's: {"after": …}, {"before": …} or {} (the first page)."""
    for name in ("after", "before"):
        if read_cursor(keys, request.args.get(name)) is not None:
            return {name: request.args[name]}
    return {}


def page_of(session, query, keys: tuple[Key, ...], size: int) -> Page:
    """Read the page of `query` the request's `after` or `before` asks for (the first when neither)."""
    after = read_cursor(keys, request.args.get("after"))
    before = read_cursor(keys, request.args.get("before")) if after is None else None
    if before is not None:
        rows = list(session.scalars(query.where(_beyond(keys, before, backwards=True))
                                    .order_by(*_ordered(keys, backwards=True)).limit(size + 1)))
        if len(rows) > size:  # a full page, and more before it
            rows = rows[:size][::-1]
            return Page(rows, after=cursor_of(keys, rows[-1]), before=cursor_of(keys, rows[0]),
                        asked={"before": request.args["before"]})
        after = None  # back at the start: the first page, whole
    q = query if after is None else query.where(_beyond(keys, after, backwards=False))
    rows = list(session.scalars(q.order_by(*_ordered(keys, backwards=False)).limit(size + 1)))
    if after is not None and not rows:  # nothing after it any more: the first page
        after = None
        rows = list(session.scalars(query.order_by(*_ordered(keys, backwards=False)).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, after=cursor_of(keys, rows[-1]) if more else None,
                before=cursor_of(keys, rows[0]) if after is not None and rows else None,
                asked={"after": request.args["after"]} if after is not None else {})
