"""Values kept in a worker's memory under the commune's clock: when nothing changed, nothing is read again.

The commune's clock (`commune_clocks.version`, moved by triggers on every
change to the commune's tips, villages, categories and informants) is read
with the session at the start of every page (`accounts.commune_clock_read_with_session`).
A value computed from those tables for one viewer is kept under the clock it
was computed at: a change to the commune moves the clock, and the value is
computed again. Each app keeps its own (tests run many apps in one process).

What every page shows about its person (the header's count, the rules
reminder, a member's announcements, the police's count of unopened
emergencies) is kept under the commune's clock and the
person's own (`user_clocks.version`, moved by triggers on their notifications,
announcement reads and rules agreements), both read with the session:
`for_person`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, Callable

from flask import current_app, g, request
from flask_babel import get_locale

from .models import utcnow


class Kept:
    """A bounded map, the least recently used entry leaving first; safe across a worker's threads."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def kept(name: str, size: int) -> Kept:
    """This app's map called `name` (made on first use with room for `size` entries)."""
    key = f"zaloan.kept.{name}"
    found = current_app.extensions.get(key)
    if found is None:
        found = current_app.extensions[key] = Kept(size)
    return found


PERSON_KEPT = 4096  # values (three a person): a commune's active people many times over


def for_person(name: str, user, compute: Callable[[], tuple[Any, datetime | None]]) -> Any:
    """Return `compute()`'s value for `user`, this request's person, kept under the two clocks.

    `compute` returns the value and the time it stops being true of itself
    (an announcement scheduled to show then), or None. Computed afresh when
    the clocks are unknown: another person than the request's, or a request
    that wrote.
    """
    from .accounts import clocks_read_with_session

    clocks = clocks_read_with_session(user)
    if clocks is None:
        return compute()[0]
    store = kept("person", PERSON_KEPT)
    key = (name, user.id, user.commune_id, user.role, user.village_id, *clocks)
    found = store.get(key)
    if found is not None and (found[1] is None or utcnow() < found[1]):
        return found[0]
    value, until = compute()
    store.put(key, (value, until))
    return value


def drawn_once(name: str, user, parts: tuple, draw: Callable[[], str], *, minute: bool = True) -> str:
    """Return `draw()`, the HTML of a part of this request's page, kept under the commune's clock.

    For a part that reads only what the commune's clock watches (the triggers of
    migrations 0020, 0026 and 0027) and its viewer: it is kept by `name`, the
    person (id, role), the clock read with the session, the language, the
    script root, `parts` and, with `minute`, the minute it was drawn in (its
    "12 phút trước" moves on). A change to any of those rows moves the clock,
    so a changed part is never served from here; nor is the part to anyone
    else, nor after this request wrote (the clock moved), which `draw` may do.

    A part holding forms is served again with this request's form token and new
    one-time keys in place of those it was drawn with: two pages never share a
    key, and a retried form is still recognised by its own.
    """
    from flask_wtf.csrf import generate_csrf

    from .accounts import clocks_read_with_session
    from .formkit import new_key

    clocks = clocks_read_with_session(user)
    if clocks is None:
        return draw()
    store = kept(name, current_app.config["PAGE_PARTS_KEPT"])
    when = utcnow().replace(second=0, microsecond=0) if minute else None
    key = (name, clocks[0], user.id, user.commune_id, user.role, str(get_locale()), request.script_root, when,
           *parts)
    found = store.get(key)
    if found is not None:
        html, token, keys = found
        if token:
            html = html.replace(token, generate_csrf())
        for old in keys:
            html = html.replace(old, new_key())
        return html
    made = g.setdefault("keys_made", [])
    start = len(made)
    html = draw()
    if clocks_read_with_session(user) is not None:  # `draw` wrote nothing
        field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        store.put(key, (html, g.get(field), tuple(made[start:])))
    return html
