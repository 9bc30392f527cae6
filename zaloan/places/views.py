"""Place pages. The commander runs the whole commune; an officer the watch points of their own villages."""
from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, communes
from ..extensions import db
from ..models import Category, Role, TimeWindow, Unit, UnitKind, User, WatchPoint
from ..permissions import allow, can_use_village, get_or_404
from ..web import redirect_to, render
from . import bp
from .forms import CategoryForm, VillageForm, VillageOfficerForm, WatchPointForm, WindowForm

MANAGERS = (Role.OFFICER, Role.COMMANDER)


def village_ok(actor, village) -> bool:
    return village.kind == UnitKind.VILLAGE and can_use_village(actor, village)


def point_ok(actor, point) -> bool:
    return can_use_village(actor, point.village)


def window_ok(actor, window) -> bool:
    return can_use_village(actor, window.watch_point.village)


def officer_choices():
    officers = db.session.scalars(
        select(User).where(User.commune_id == current_user.commune_id, User.role == Role.OFFICER,
                           User.active.is_(True)).order_by(User.full_name)
    ).all()
    return [(0, "—")] + [(o.id, o.full_name) for o in officers]


def page(forms: dict | None = None, error: str | None = None, status: int = 200):
    commune = current_user.commune
    villages = [v for v in commune.villages() if can_use_village(current_user, v)]
    points = {
        v.id: db.session.scalars(select(WatchPoint).where(WatchPoint.village_id == v.id).order_by(WatchPoint.name)).all()
        for v in villages
    }
    all_forms = {"village": VillageForm(), "point": WatchPointForm(), "window": WindowForm()}
    all_forms.update(forms or {})
    return render("places/index.html", commune=commune, villages=villages, points=points,
                  officers=officer_choices(), forms=all_forms, error=error, failed=request.endpoint, status=status)


@bp.get("/")
@allow(*MANAGERS)
def index():
    """Show the unit tree, the villages with their officers, watch points and time windows."""
    return page()


@bp.post("/villages")
@allow(Role.COMMANDER)
def add_village():
    """Add a village to the commune."""
    form = VillageForm()
    if not form.validate_on_submit():
        return page({"village": form}, status=422)
    communes.add_village(current_user.commune, form.name.data, by=current_user)
    db.session.commit()
    return redirect_to("places.index")


@bp.post("/villages/<int:unit_id>/rename")
@allow(Role.COMMANDER)
def rename_village(unit_id: int):
    """Rename a village."""
    village = get_or_404(Unit, unit_id, village_ok)
    form = VillageForm()
    if not form.validate_on_submit():
        return page(error=_("Please enter the name."), status=422)
    communes.rename_unit(village, form.name.data, by=current_user)
    db.session.commit()
    return redirect_to("places.index")


@bp.post("/villages/<int:unit_id>/officer")
@allow(Role.COMMANDER)
def village_officer(unit_id: int):
    """Choose the officer in charge of a village."""
    village = get_or_404(Unit, unit_id, village_ok)
    form = VillageOfficerForm()
    form.officer_id.choices = officer_choices()
    if not form.validate_on_submit():
        return page(error=_("Please choose an officer of the commune."), status=422)
    officer = db.session.get(User, form.officer_id.data) if form.officer_id.data else None
    accounts.set_village_officer(village, officer, by=current_user)
    db.session.commit()
    return redirect_to("places.index")


@bp.post("/villages/<int:unit_id>/points")
@allow(*MANAGERS)
def add_point(unit_id: int):
    """Add a watch point (market, eatery, karaoke, crossroads...) to a village."""
    village = get_or_404(Unit, unit_id, village_ok)
    form = WatchPointForm()
    if not form.validate_on_submit():
        return page({"point": form}, error=_("The watch point was not saved: please check the fields."), status=422)
    communes.save_watch_point(None, village=village, name=form.name.data, kind=form.kind.data,
                              note=form.note.data or "", active=True, by=current_user)
    db.session.commit()
    return redirect_to("places.index")


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
@allow(*MANAGERS)
def point(point_id: int):
    """Edit a watch point and its time windows."""
    p = get_or_404(WatchPoint, point_id, point_ok)
    form = WatchPointForm(obj=p)
    if form.validate_on_submit():
        communes.save_watch_point(p, village=p.village, name=form.name.data, kind=form.kind.data,
                                  note=form.note.data or "", active=form.active.data, by=current_user)
        db.session.commit()
        return redirect_to("places.point", point_id=p.id)
    return render("places/point.html", point=p, form=form, window=WindowForm(),
                  status=422 if form.errors else 200)


@bp.post("/points/<int:point_id>/windows")
@allow(*MANAGERS)
def add_window(point_id: int):
    """Add a time window (it may cross midnight, e.g. 20:00–02:00)."""
    p = get_or_404(WatchPoint, point_id, point_ok)
    form = WindowForm()
    if not form.validate_on_submit():
        return render("places/point.html", point=p, form=WatchPointForm(obj=p), window=form, status=422)
    if form.starts.data == form.ends.data:
        form.ends.errors.append(_("The end must differ from the start."))
        return render("places/point.html", point=p, form=WatchPointForm(obj=p), window=form, status=422)
    communes.add_window(p, starts=form.starts.data, ends=form.ends.data, label=form.label.data or "", by=current_user)
    db.session.commit()
    return redirect_to("places.point", point_id=p.id)


@bp.post("/windows/<int:window_id>/delete")
@allow(*MANAGERS)
def delete_window(window_id: int):
    """Remove a time window."""
    w = get_or_404(TimeWindow, window_id, window_ok)
    point_id = w.watch_point_id
    communes.remove_window(w, by=current_user)
    db.session.commit()
    return redirect_to("places.point", point_id=point_id)


@bp.route("/categories", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def categories():
    """List and add tip categories (never deleted: old tips keep theirs)."""
    form = CategoryForm()
    if form.validate_on_submit():
        communes.save_category(None, commune=current_user.commune, name=form.name.data, emoji=form.emoji.data or "",
                               position=form.position.data or 0, active=True, by=current_user)
        db.session.commit()
        return redirect_to("places.categories")
    rows = db.session.scalars(
        select(Category).where(Category.commune_id == current_user.commune_id).order_by(Category.position)
    ).all()
    return render("places/categories.html", categories=rows, form=form, status=422 if form.errors else 200)


@bp.post("/categories/<int:category_id>")
@allow(Role.COMMANDER)
def category(category_id: int):
    """Rename, reorder or retire a category."""
    c = get_or_404(Category, category_id, lambda actor, cat: cat.commune_id == actor.commune_id)
    form = CategoryForm()
    if not form.validate_on_submit():
        abort(422)
    communes.save_category(c, commune=current_user.commune, name=form.name.data, emoji=form.emoji.data or "",
                           position=form.position.data or 0, active=form.active.data, by=current_user)
    db.session.commit()
    return redirect_to("places.categories")
