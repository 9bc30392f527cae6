"""The yearly review document (sơ kết): the page, the commander's judgement drafts, the print view, the .docx."""
from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import exports, review, review_docx
from ..cases import CaseError
from ..extensions import db
from ..formkit import new_key
from ..models import Role, utcnow
from ..permissions import allow
from ..reports import LOCAL_OFFSET, PeriodError, local_today, recent_quarters
from ..web import render
from . import bp
from .views import _refused, chosen


def _page(template: str, *, status: int = 200, texts: dict | None = None, errors: dict | None = None, **context):
    form = chosen(request.values)
    try:
        doc = review.build(current_user, request.values)
    except PeriodError as exc:
        return render("report/review.html", doc=None, error=str(exc), form=form,
                      quarters=recent_quarters(local_today()), period_action="report.review_page", status=400)
    if texts is None:
        start_from = doc.draft or doc.earlier
        texts = {k: getattr(start_from, k) if start_from else "" for k in review.SECTIONS}
    return render(template, doc=doc, form=form, quarters=recent_quarters(local_today()),
                  period_action="report.review_page", texts=texts, errors=errors or {},
                  client_key=new_key(), sections=review.SECTIONS, heading=review.section_heading, results=review.results,
                  saved_when=review.saved_when, day_words=exports.day_words, bucket_words=exports.bucket_words,
                  status=status, **context)


@bp.get("/review")
@allow(Role.COMMANDER)
def review_page():
    """Show the review of a period: the figures of section I, the latest judgement and its versions."""
    return _page("report/review.html")


@bp.post("/review")
@allow(Role.COMMANDER)
def review_save():
    """Save the commander's judgement (sections II and III) as a new version of the period's review."""
    try:
        doc = review.build(current_user, request.form)
    except PeriodError:
        return _page("report/review.html")
    texts = {k: request.form.get(k, "") for k in review.SECTIONS}
    try:
        row, created = review.save(current_user, doc.period, texts, request.form.get("client_key"))
    except CaseError as exc:
        db.session.rollback()
        return _page("report/review.html", status=exc.status, texts=texts,
                     errors={exc.field or "form": exc.message})
    db.session.commit()
    flash(_("Saved as version %(n)s.", n=row.version) if created else _("This was already saved."), "ok")
    form = chosen(request.form)
    return redirect(url_for("report.review_page", **form) + "#judgement", code=303)


@bp.get("/review/print")
@allow(Role.COMMANDER)
def review_print():
    """Show the review as a page to print on A4."""
    return _page("report/review_print.html", printed=utcnow() + LOCAL_OFFSET)


@bp.get("/review.docx")
@allow(Role.COMMANDER)
def review_file():
    """Download the review as a Word file: the same text and tables, no tip text, no identity."""
    try:
        doc = review.build(current_user, request.args)
    except PeriodError as exc:
        return _refused(exc)
    resp = make_response(review_docx.render(doc))
    resp.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    resp.headers["Content-Disposition"] = (f"attachment; filename=so-ket-{doc.period.start:%Y%m%d}-"
                                           f"{doc.period.end:%Y%m%d}.docx")
    return resp
