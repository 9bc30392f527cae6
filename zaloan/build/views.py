"""The build-up of the model (seed II.5) and the coverage of the watch points.

The commander sees the whole commune; an officer their own villages (the
scopes of zaloan.permissions). Verifiers, informants and observers reach none
of it: the grid tells where informants sit and when.
"""
from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import coverage as cov
from .. import surveys
from ..cases import KeyReused
from ..formkit import renew_key
from ..extensions import db
from ..models import Role, Unit, UnitKind
from ..permissions import allow, can_use_village, figures_for, get_or_404, villages_for
from ..web import redirect_to, render
from . import bp
from .forms import survey_form

MANAGERS = (Role.OFFICER, Role.COMMANDER)


def _period() -> tuple[int, bool]:
    return cov.read_days(request.args.get("days")), request.args.get("names") == "1"


@bp.get("/")
@allow(*MANAGERS)
def index():
    """Show each village's three steps and the commune's coverage grid."""
    days, names = _period()
    villages = list(db.session.scalars(select(Unit).where(villages_for(current_user)).order_by(Unit.name)))
    rows = cov.coverage(villages, current_user, days=days, names=names)
    return render("build/index.html", rows=rows, days=days, names=names, periods=cov.PERIODS)


@bp.get("/villages/<int:unit_id>")
@allow(*MANAGERS)
def village(unit_id: int):
    """Show a village's three steps, what is missing, and its coverage grid."""
    days, names = _period()
    v = get_or_404(Unit, unit_id, can_use_village)
    row = cov.coverage([v], current_user, days=days, names=names)[0]
    return render("build/village.html", row=row, village=v, days=days, names=names, periods=cov.PERIODS,
                  survey=surveys.latest(v), groups=surveys.GROUPS, period_label=surveys.period_label)


# --- The village survey (khảo sát, đánh giá tình hình; seed II.1) -----------------------------------


def survey_page(v: Unit, form, status: int = 200):
    return render("build/survey.html", village=v, form=form, groups=surveys.GROUPS,
                  latest=surveys.latest(v), status=status)


@bp.get("/villages/<int:unit_id>/survey")
@allow(*MANAGERS)
def survey(unit_id: int):
    """Show the survey form of a village, filled from its newest version."""
    v = get_or_404(Unit, unit_id, can_use_village)
    return survey_page(v, survey_form(latest=surveys.latest(v)))


@bp.post("/villages/<int:unit_id>/survey")
@allow(*MANAGERS)
def save_survey(unit_id: int):
    """Save a new version of the village's survey."""
    v = get_or_404(Unit, unit_id, can_use_village)
    form = survey_form(formdata=request.form)
    if not form.validate_on_submit():
        return survey_page(v, form, status=422)
    try:
        _row, created = surveys.save(v, by=current_user, period=form.period.data, counts=form.counts(),
                                     notes=form.notes.data or "", strengths=form.strengths.data or "",
                                     weaknesses=form.weaknesses.data or "", client_key=form.client_key.data)
    except KeyReused as exc:
        renew_key(form, exc)
        form.client_key.errors = [str(exc)]
        return survey_page(v, form, status=409)
    db.session.commit()
    flash(_("Survey saved.") if created else _("This survey was already saved."))
    return redirect_to("build.village", unit_id=v.id)


@bp.get("/villages/<int:unit_id>/survey/history")
@allow(*MANAGERS)
def survey_history(unit_id: int):
    """List every saved version of the village's survey: who saved it, when, and what it said."""
    v = get_or_404(Unit, unit_id, can_use_village)
    return render("build/survey_history.html", village=v, versions=surveys.history(v), groups=surveys.GROUPS,
                  period_label=surveys.period_label)


# --- The Steering Committee's view: figures only ------------------------------------------------------


@bp.get("/figures")
@allow(Role.OBSERVER)
def figures():
    """Show each village's steps and the coverage as counts, small ones hidden; no alias, no name."""
    days = cov.read_days(request.args.get("days"))
    communes = list(db.session.scalars(select(Unit).where(figures_for(current_user)).order_by(Unit.name)))
    villages = list(db.session.scalars(
        select(Unit).where(Unit.kind == UnitKind.VILLAGE, Unit.parent_id.in_([c.id for c in communes]))
        .order_by(Unit.name))) if communes else []
    rows = cov.figures(villages, current_user, days=days)
    by_commune = {c.id: [] for c in communes}
    for v, row in zip(villages, rows):
        by_commune[v.parent_id].append(row)
    return render("build/figures.html", communes=communes, by_commune=by_commune, days=days, periods=cov.PERIODS)
