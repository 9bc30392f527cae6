"""The review as a Word file (.docx): the same headings, sentences and tables as the printed page."""
from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt
from flask_babel import gettext as _

from . import review
from .exports import day_words


def render(doc: review.Review) -> bytes:
    """Return the .docx bytes of the review `doc`: no tip text, no code, no identity (only what the page shows)."""
    d = Document()
    d.styles["Normal"].font.name = "Times New Roman"
    d.styles["Normal"].font.size = Pt(13)
    d.add_heading(_("Review of the “Zalo an ninh” model"), level=0)
    d.add_paragraph(doc.commune.name)
    d.add_paragraph(_("From %(start)s to %(end)s", start=day_words(doc.period.start), end=day_words(doc.period.end)))
    d.add_heading(_("I. Results"), level=1)
    for kind, value in review.results(doc):
        if kind == "h":
            d.add_heading(value, level=2)
        elif kind == "p":
            d.add_paragraph(value)
        else:
            table = d.add_table(rows=0, cols=len(value[0]))
            table.style = "Table Grid"
            for row in value:
                cells = table.add_row().cells
                for cell, text in zip(cells, row):
                    cell.text = str(text)
    d.add_heading(_("II. Assessment"), level=1)
    for name in review.SECTIONS:
        if name == "directions":
            d.add_heading(review.section_heading(name), level=1)
        else:
            d.add_heading(review.section_heading(name), level=2)
        text = getattr(doc.draft, name) if doc.draft else ""
        for line in (text or "").split("\n") or [""]:
            d.add_paragraph(line)
        if not text:
            d.add_paragraph(_("(not written yet)"))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
