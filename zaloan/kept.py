"""Values kept in a worker's memory under the commune's clock: when nothing changed, nothing is read again.

The commune's clock (`commune_clocks.version`, moved by triggers on every
change to the commune's tips, villages, categories and informants) is read
with the session at the start of every page (`accounts.commune_clock_read_with_session`).
A value computed from those tables for one viewer is kept under the clock it
was computed at: a change to the commune moves the clock, and the value is
computed again. Each app keeps its own (tests run many apps in one process).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import current_app


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
