"""The report's files: the figures and the list of tips, as CSV or XLSX, with spreadsheet formulas neutralised.

A cell that starts with = + - @, a tab or a carriage return would run as a
formula in a spreadsheet (a village or category named "=HYPERLINK(...)"):
it gets a leading apostrophe, in both kinds of file. Numbers stay numbers.
"""
from __future__ import annotations

import csv
import io

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import labels
from .reports import BUCKETS, OPEN, SPEED_STEPS, Figures, Report, duration_words

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Return a number as it is, anything else as text with a leading apostrophe if a spreadsheet would run it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in DANGEROUS else text


def bucket_words(bucket: str) -> str:
    return _("Not finished yet") if bucket == OPEN else str(labels.OUTCOMES.get(bucket, bucket))


def step_words(step: str) -> str:
    return {"read": _("Received → first read"), "triage": _("Received → sorted"),
            "task": _("Received → first verification task"), "outcome": _("Received → outcome")}[step]


def month_words(month: str) -> str:
    year, m = month.split("-")
    return f"{m}/{year}"


def day_words(day) -> str:
    return day.strftime("%d/%m/%Y")


def _figures_rows(f: Figures, before: Figures, *, villages: bool) -> list[list]:
    rows: list[list] = [[_("Summary"), _("This period"), _("Previous period")]]
    for label, now, then in (
        (_("Tips received"), f.tips, before.tips),
        (_("From informants"), f.informant_tips, before.informant_tips),
        (_("Anonymous"), f.anonymous_tips, before.anonymous_tips),
        (_("With an outcome"), f.closed, before.closed),
        (_("Still open, received more than %(n)s days ago", n=f.old_open_days) if f.old_open_days
         else _("Still open and old"), f.old_open, before.old_open),
        (_("Still open past their handling deadline"), f.past_deadline, before.past_deadline),
        (_("Informants who sent tips"), f.informants_active, before.informants_active),
        (_("Verifiers who reported"), f.verifiers_active, before.verifiers_active),
        (_("Watch points with tips"), f.watch_points[0], before.watch_points[0]),
        (_("Watch points without tips"), f.watch_points[1], before.watch_points[1]),
        (_("Time windows with tips"), f.time_windows[0], before.time_windows[0]),
        (_("Time windows without tips"), f.time_windows[1], before.time_windows[1]),
    ):
        rows.append([label, now, then])
    rows += [[], [_("Tips by month"), _("Total")] + [bucket_words(b) for b in BUCKETS]]
    rows += [[month_words(m), sum(parts.values())] + [parts.get(b, 0) for b in BUCKETS] for m, parts in f.by_month]
    rows += [[], [_("Outcome"), _("This period"), _("Previous period")]]
    rows += [[bucket_words(b), f.outcomes.get(b, 0), before.outcomes.get(b, 0)] for b in BUCKETS]
    if villages:
        then = dict(before.by_village)
        rows += [[], [_("Village"), _("This period"), _("Previous period")]]
        rows += [[v or _("No village given"), n, then.get(v, 0)] for v, n in f.by_village]
    then = dict(before.by_category)
    rows += [[], [_("Category"), _("This period"), _("Previous period")]]
    rows += [[c or _("Not sorted yet"), n, then.get(c, 0)] for c, n in f.by_category]
    rows += [[], [_("Urgency"), _("This period"), _("Previous period")]]
    rows += [[str(labels.URGENCIES[u]), f.by_urgency.get(u, 0), before.by_urgency.get(u, 0)]
             for u in labels.URGENCIES]
    rows += [[], [_("Verification reports, by finding"), _("This period"), _("Previous period")]]
    rows += [[str(labels.FINDINGS[k]), f.findings.get(k, 0), before.findings.get(k, 0)] for k in labels.FINDINGS]
    if f.speed:
        rows += [[], [_("How fast"), _("Tips"), _("Median"), _("9 in 10 within")]]
        rows += [[step_words(s), f.speed[s]["n"], duration_words(f.speed[s]["median"]),
                  duration_words(f.speed[s]["p90"])] for s in SPEED_STEPS]
    if villages and f.cells:
        names = list(dict.fromkeys(c for _v, row in f.cells for c in row))
        rows += [[], [_("Village × category")] + [c or _("Not sorted yet") for c in names]]
        rows += [[v or _("No village given")] + [row.get(c, 0) for c in names] for v, row in f.cells]
    return rows


def figure_rows(report: Report) -> list[list]:
    """Return the report's figures as rows of a spreadsheet: each commune's, then the sum of several."""
    rows: list[list] = [[_("Period"), day_words(report.period.start), day_words(report.period.end)],
                        [_("Previous period"), day_words(report.previous.start), day_words(report.previous.end)]]
    if report.masked:
        rows.append([_("A village count of 1 or 2 is shown as “< 3”.")])
    for commune, now, before in report.parts:
        rows += [[], [commune.name]] + _figures_rows(now, before, villages=True)
    if report.total:
        rows += [[], [_("All communes together (%(n)s)", n=len(report.parts))]]
        rows += _figures_rows(*report.total, villages=False)
    return rows


TIP_HEADER = (_l("Code"), _l("Received"), _l("Closed"), _l("Village"), _l("Category"), _l("Urgency"), _l("Status"),
              _l("Outcome"))


def tip_table(rows) -> list[list]:
    """Return the tips as rows: code, day received, day closed, village, category, urgency, status, outcome."""
    from .labels import OUTCOMES, TIP_STATUSES, URGENCIES
    from .reports import LOCAL_OFFSET

    def local(moment):
        return (moment + LOCAL_OFFSET).strftime("%d/%m/%Y %H:%M") if moment else ""

    out = [[str(h) for h in TIP_HEADER]]
    for code, created, closed, village, category, urgency, status, outcome in rows:
        out.append([code, local(created), local(closed), village or "", category or "",
                    str(URGENCIES.get(urgency, urgency)), str(TIP_STATUSES.get(status, status)),
                    str(OUTCOMES[outcome]) if outcome in OUTCOMES else ""])
    return out


def to_csv(rows: list[list]) -> bytes:
    """Return the rows as CSV in UTF-8 with a BOM (so a spreadsheet reads the Vietnamese letters)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], sheet: str) -> bytes:
    """Return the rows as an XLSX workbook of one sheet; text is always written as text, never as a formula."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    widths: dict[int, int] = {}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            value = safe_cell(value)
            if isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, value, bold if len(row) == 1 or c == 0 and r and not rows[r - 1] else None)
            widths[c] = max(widths.get(c, 8), min(len(str(value)) + 2, 60))
    for c, w in widths.items():
        ws.set_column(c, c, w)
    book.close()
    return buf.getvalue()
