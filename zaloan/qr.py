"""QR codes drawn on the server: nothing is fetched from elsewhere, no script, no raw markup.

`drawing(text)` turns the code's dark modules into one SVG path, which the
template `_qr.html` draws inline (the two-step set-up page, the commune's poster).
"""
from __future__ import annotations

from dataclasses import dataclass

import segno


@dataclass
class QrDrawing:
    """A QR code as one SVG path: `size` modules square (with the quiet zone), `path` the dark runs."""

    size: int
    path: str


def drawing(text: str, border: int = 4) -> QrDrawing:
    """Return the QR code of `text` as an SVG path: each row's runs of dark modules, one stroke 1 module wide."""
    qr = segno.make(text, error="m")
    runs = []
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + border} {y + border}.5h{x - start}")
            else:
                x += 1
    return QrDrawing(size=len(qr.matrix) + 2 * border, path="".join(runs))
