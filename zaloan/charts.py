"""Bar charts drawn on the server: the geometry here, the SVG markup in templates/report/_charts.html.

No chart library and nothing from outside: each bar is a rectangle whose
colour comes from a class in app.css (the CSP allows no inline style), and
every chart has a table of the same numbers beside it for screen readers.
Sizes are in the SVG's own units; the drawing is 320 units wide, about the
width of a 360 px phone's card, so its 17-unit text stays at 16 px or more.
"""
from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 320
FONT = 17


@dataclass
class Bar:
    label: str
    total: int
    y: int  # top of the row
    segments: list = field(default_factory=list)  # [(x, width, css class, n)]
    end: float = 0  # where the last segment ends (the total is written after it)


@dataclass
class Chart:
    rows: list
    height: int
    label_width: int
    bar_y: int  # offset of the bar inside its row
    bar_height: int
    text_y: int  # offset of the row's label (its baseline) inside its row


def _scale(largest: int, room: float) -> float:
    return room / largest if largest else 0.0


def stacked(rows: list[tuple[str, dict]], order: tuple[str, ...], *, label_width: int = 78) -> Chart:
    """Return one horizontal bar per row (label, {part: n}), stacked in `order`, the label on its left.

    For the months of a period: "11/2026" fits beside its bar.
    """
    room = WIDTH - label_width - 44  # room for the total after the longest bar
    largest = max((sum(parts.values()) for _label, parts in rows), default=0)
    k = _scale(largest, room)
    step, bar_h = 30, 22
    out = []
    for i, (label, parts) in enumerate(rows):
        x, segments = float(label_width), []
        for part in order:
            n = parts.get(part, 0)
            if n:
                w = n * k
                segments.append((round(x, 2), round(w, 2), f"b-{part}", n))
                x += w
        out.append(Bar(label, sum(parts.values()), i * step, segments, round(x, 2)))
    return Chart(out, max(len(rows) * step, step), label_width, 4, bar_h, 21)


def bars(rows: list[tuple[str, int]], *, css: str = "b-village") -> Chart:
    """Return one horizontal bar per row (label, n), the label above its bar (village names are long)."""
    room = WIDTH - 48
    largest = max((n for _label, n in rows), default=0)
    k = _scale(largest, room)
    step, bar_h = 50, 20
    out = []
    for i, (label, n) in enumerate(rows):
        w = round(n * k, 2)
        out.append(Bar(label, n, i * step, [(0, w, css, n)] if n else [], w))
    return Chart(out, max(len(rows) * step, step), 0, 24, bar_h, 18)
