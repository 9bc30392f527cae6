"""Report pages: the period chooser, figures with charts, files to download, a page to print."""
from __future__ import annotations

from flask import make_response, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit, charts, exports
from ..extensions import db
from ..models import Role, utcnow
from ..permissions import allow
from ..reports import (
    BUCKETS,
    LOCAL_OFFSET,
    PERIOD_KINDS,
    PeriodError,
    build_report,
    duration_words,
    latest_checkpoint,
    local_today,
    recent_quarters,
    tip_rows,
)
from ..web import render
from . import bp

READERS = (Role.COMMANDER, Role.OFFICER, Role.OBSERVER)


def month_chart(f):
    """The tips of each month of the period, stacked by outcome."""
    return charts.stacked([(exports.month_words(m), parts) for m, parts in f.by_month], BUCKETS)


def village_chart(f):
    """One bar per village."""
    return charts.bars([(v or _("No village given"), n) for v, n in f.by_village])


def chosen(source) -> dict:
    """What the period form held, to show it again (anything unknown shows as the default)."""
    kind = source.get("period") or "year"
    return {"period": kind if kind in PERIOD_KINDS else "year", "quarter": (source.get("quarter") or "")[:7],
            "start": (source.get("start") or "")[:10], "end": (source.get("end") or "")[:10]}


def page(template: str, **context):
    """Render a report page, or the chooser with the reason when the period cannot be shown (400)."""
    try:
        report = build_report(current_user, request.args)
    except PeriodError as exc:
        return render("report/index.html", report=None, error=str(exc), form=chosen(request.args),
                      quarters=recent_quarters(local_today()), status=400)
    return render(template, report=report, form=chosen(request.args), quarters=recent_quarters(local_today()),
                  month_chart=month_chart, village_chart=village_chart, duration=duration_words,
                  buckets=BUCKETS, bucket_words=exports.bucket_words, step_words=exports.step_words,
                  month_words=exports.month_words, day_words=exports.day_words, **context)


@bp.get("/")
@allow(*READERS)
def index():
    """Show the report of a period: figures and charts, compared with the period just before it."""
    return page("report/index.html")


@bp.get("/print")
@allow(*READERS)
def print_view():
    """Show the report as a page to print on A4: the commune, the period, the day printed, the audit checkpoint."""
    printed = utcnow() + LOCAL_OFFSET
    return page("report/print.html", printed=printed, checkpoint=latest_checkpoint)


def _file(data: bytes, kind: str, name: str):
    resp = make_response(data)
    resp.headers["Content-Type"] = ("text/csv; charset=utf-8" if kind == "csv" else
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = f"attachment; filename={name}.{kind}"
    return resp


def _refused(exc: PeriodError):
    resp = make_response(str(exc), 400)
    resp.mimetype = "text/plain"
    return resp


@bp.get("/figures.<any(csv, xlsx):kind>")
@allow(*READERS)
def figures_file(kind):
    """Download the report's figures (counts only; an observer's with small village counts as "< 3")."""
    try:
        report = build_report(current_user, request.args)
    except PeriodError as exc:
        return _refused(exc)
    rows = exports.figure_rows(report)
    name = f"so-lieu-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}"
    return _file(exports.to_csv(rows) if kind == "csv" else exports.to_xlsx(rows, _("Figures")), kind, name)


@bp.post("/tips.<any(csv, xlsx):kind>")
@allow(Role.COMMANDER, Role.OFFICER)
def tips_file(kind):
    """Download the list of the period's tips: codes, days, village, category, urgency, status, outcome (audited).

    Never a tip's text, the place the sender wrote, the sender or a photo.
    """
    try:
        report = build_report(current_user, request.form)
    except PeriodError as exc:
        return _refused(exc)
    rows = exports.tip_table(tip_rows(current_user, report.period))
    audit.record("export.tips", actor=current_user, rows=len(rows) - 1, start=report.period.start.isoformat(),
                 end=report.period.end.isoformat())
    db.session.commit()
    name = f"tin-bao-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}"
    return _file(exports.to_csv(rows) if kind == "csv" else exports.to_xlsx(rows, _("Tips")), kind, name)
