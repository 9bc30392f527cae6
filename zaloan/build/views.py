"""The build-up of the model (seed II.5) and the coverage of the watch points.

The commander sees the whole commune; an officer their own villages (the
scopes of zaloan.permissions). Verifiers, informants and observers reach none
of it: the grid tells where informants sit and when.
"""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import select

from .. import coverage as cov
from ..extensions import db
from ..models import Role, Unit
from ..permissions import allow, can_use_village, get_or_404, villages_for
from ..web import render
from . import bp

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
    return render("build/village.html", row=row, village=v, days=days, names=names, periods=cov.PERIODS)
