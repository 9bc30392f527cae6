"""QR codes drawn on the server as inline SVG (segno): nothing is fetched from elsewhere, no script is needed."""
from __future__ import annotations

import segno
from markupsafe import Markup


def svg(text: str, *, title: str = "", css_class: str = "qr") -> Markup:
    """Return a QR code of `text` as an <svg> element that scales with its box (CSS sets the size)."""
    code = segno.make(text, error="m")
    # segno escapes the title; the drawing itself is made of numbers and fixed names only.
    return Markup(code.svg_inline(scale=1, border=2, omitsize=True, title=title or None, svgclass=css_class,
                                  lineclass=None, dark="#000", light="#fff"))
