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

from flask import Response, current_app, g, request, session
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
    if found is None or (found[1] is not None and utcnow() >= found[1]):
        found = compute()
        store.put(key, found)
    value, until = found
    if until is not None:  # a page kept whole (`answer_once`) is kept no longer than this value
        g.person_until = min(until, g.get("person_until") or until)
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


ENCODINGS_KEPT = 8  # compressed forms of one page, one per Accept-Encoding header a browser sends


def answer_once(name: str, user, size: int, answer: Callable[[], Response], *, new_keys: bool = False) -> Response:
    """Return `answer()`, this GET's whole answer, kept under both clocks with each of its compressed forms.

    For a page whose every part is kept under the clocks already (`drawn_once`,
    `for_person`, the queue's lists): drawing its frame around them and
    compressing it are then most of what the page costs. The answer is kept in
    a map called `name` (room for `size`) by the two clocks read with the
    session, the person (id, commune, role, village), the language, the script
    root, the minute, the address with its query, the htmx headers and the
    session's form secret, whose token the page carries: a token drawn for this
    session stays good for it (`WTF_CSRF_TIME_LIMIT` is none), and no other
    session is ever served it. Each compressed form is made the first time a
    browser asks for it, by the app's own compressor. With `new_keys`, a page
    holding one-time form keys is kept too, and served each time with new ones
    in their place (as `drawn_once` does), compressed afresh.

    Drawn afresh, and not kept, when the clocks are unknown (a request that
    wrote), the session holds messages to show once or no form secret yet,
    or the answer is anything but a plain 200 page that changed no session
    (nor made one-time keys, without `new_keys`); kept no longer than a value it shows that
    ends by itself (`for_person`'s).
    """
    from .accounts import clocks_read_with_session
    from .extensions import compress
    from .formkit import new_key

    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secret = session.get(field)
    clocks = clocks_read_with_session(user)
    if size <= 0 or request.method != "GET" or clocks is None or not secret or "_flashes" in session:
        return answer()
    store = kept(name, size)
    h = request.headers
    key = (name, *clocks, user.id, user.commune_id, user.role, user.village_id, str(get_locale()),
           request.script_root, utcnow().replace(second=0, microsecond=0), request.path,
           tuple(sorted(request.args.items(multi=True))), h.get("HX-Request"), h.get("HX-Target"),
           h.get("HX-Boosted"), h.get("HX-History-Restore-Request"), secret)
    found = store.get(key)
    if found is not None and (found["until"] is None or utcnow() < found["until"]):
        if found["keys"]:
            data = found["body"]
            for old in found["keys"]:
                data = data.replace(old, new_key().encode())
            return current_app.response_class(data, status=200, headers=found["headers"])
        resp = current_app.response_class(found["body"], status=200, headers=found["headers"])
        accept = h.get("Accept-Encoding", "")
        made = found["encoded"].get(accept)
        if made is None:
            resp = compress.after_request(resp)  # the app's own hook then leaves it as it is
            if len(found["encoded"]) < ENCODINGS_KEPT:
                found["encoded"][accept] = (resp.headers.get("Content-Encoding"), resp.get_data())
        elif made[0] is not None:
            resp.set_data(made[1])
            resp.headers["Content-Encoding"] = made[0]
        return resp
    start = len(g.get("keys_made", ()))
    was_modified = session.modified
    resp = answer()
    keys = [k.encode() for k in g.get("keys_made", ())[start:]]
    if (resp.status_code == 200 and not resp.is_streamed and resp.mimetype == "text/html"
            and "Set-Cookie" not in resp.headers and "Content-Encoding" not in resp.headers
            and not (session.modified and not was_modified) and "_flashes" not in session
            and session.get(field) == secret and (new_keys or not keys)
            and clocks_read_with_session(user) is not None):
        store.put(key, {"body": resp.get_data(), "headers": list(resp.headers.items()),
                        "until": g.get("person_until"), "keys": keys, "encoded": {}})
    return resp
