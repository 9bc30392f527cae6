"""Places of the commune: the unit tree, villages and their officers, watch points and time windows,
tip categories.

The commander runs the whole commune; an officer the watch points and time
windows of their own villages (step one of building the model: list the
places, the times and the responsible people of each village).
"""
from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import communes, deadlines
from ..deadline_forms import LimitForm
from ..cases import KeyReused
from ..communes import PlaceError
from ..extensions import db
from ..models import Category, Informant, InformantPost, Role, TimeWindow, Unit, User, WatchPoint
from ..permissions import allow, can_edit_place, can_run_commune, can_use_village, get_or_404
from ..formkit import renew_key
from ..web import redirect_to, render
from . import bp
from .forms import (
    CategoryForm,
    NewCategoryForm,
    NewWatchPointForm,
    NewWindowForm,
    VillageForm,
    VillageOfficerForm,
    WatchPointForm,
    WindowForm,
)

MANAGERS = (Role.OFFICER, Role.COMMANDER)


def active_officers() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.commune_id == current_user.commune_id, User.role == Role.OFFICER,
                           User.active.is_(True)).order_by(User.full_name)
    ))


# --- The unit tree and villages -------------------------------------------------------------------


def index_page(form: VillageForm | None = None, status: int = 200):
    commune = current_user.commune
    villages = [v for v in commune.villages() if can_use_village(current_user, v)]
    counts = dict(db.session.execute(
        select(WatchPoint.village_id, func.count(WatchPoint.id))
        .where(WatchPoint.village_id.in_([v.id for v in villages]), WatchPoint.active.is_(True))
        .group_by(WatchPoint.village_id)
    ).all())
    chain = list(reversed(commune.ancestors())) + [commune]
    return render("places/index.html", chain=chain, villages=villages, counts=counts,
                  form=form or VillageForm(formdata=None), status=status)


@bp.get("/")
@allow(*MANAGERS)
def index():
    """Show the commune's unit tree (province, district, commune, villages) with each village's officer."""
    return index_page()


@bp.post("/villages")
@allow(Role.COMMANDER)
def add_village():
    """Add a village to the commune."""
    form = VillageForm()
    if form.validate_on_submit():
        try:
            village = communes.add_village(current_user.commune, form.name.data, by=current_user)
        except PlaceError:
            form.name.errors.append(_("A village with this name already exists."))
        else:
            db.session.commit()
            flash(_("Village added. Now choose its officer."))
            return redirect_to("places.village", unit_id=village.id)
    return index_page(form, status=422)


def village_of(unit_id) -> Unit:
    return get_or_404(Unit, unit_id, can_use_village)


def village_page(village: Unit, forms: dict | None = None, status: int = 200):
    officer_form = VillageOfficerForm(formdata=None, data={"officer_id": str(village.officer_id or "")})
    officer_form.officer_id.choices = officer_choices()
    all_forms = {
        "rename": VillageForm(formdata=None, data={"name": village.name}),
        "officer": officer_form,
        "point": NewWatchPointForm(formdata=None, prefix="new"),
    }
    all_forms.update(forms or {})
    points = list(db.session.scalars(
        select(WatchPoint).where(WatchPoint.village_id == village.id).order_by(WatchPoint.active.desc(),
                                                                              WatchPoint.name)
    ))
    posted = dict(db.session.execute(
        select(InformantPost.watch_point_id, func.count(func.distinct(InformantPost.informant_id)))
        .join(Informant, Informant.id == InformantPost.informant_id)
        .where(InformantPost.watch_point_id.in_([p.id for p in points]))
        .group_by(InformantPost.watch_point_id)
    ).all()) if current_user.role == Role.COMMANDER or village.officer_id == current_user.id else {}
    return render("places/village.html", village=village, points=points, posted=posted, forms=all_forms,
                  status=status)


def officer_choices() -> list[tuple[str, str]]:
    return [("", _("Nobody yet"))] + [(str(o.id), o.full_name) for o in active_officers()]


@bp.get("/villages/<int:unit_id>")
@allow(*MANAGERS)
def village(unit_id: int):
    """Show a village: its officer and its watch points with their time windows."""
    return village_page(village_of(unit_id))


@bp.post("/villages/<int:unit_id>/rename")
@allow(Role.COMMANDER)
def rename_village(unit_id: int):
    """Rename a village."""
    v = get_or_404(Unit, unit_id, can_run_commune)
    form = VillageForm()
    if form.validate_on_submit():
        try:
            communes.rename_village(v, form.name.data, by=current_user)
        except PlaceError:
            form.name.errors.append(_("A village with this name already exists."))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("places.village", unit_id=v.id)
    return village_page(v, {"rename": form}, status=422)


@bp.post("/villages/<int:unit_id>/officer")
@allow(Role.COMMANDER)
def village_officer(unit_id: int):
    """Choose the officer in charge of a village (its tips and verifiers go with it)."""
    v = get_or_404(Unit, unit_id, can_run_commune)
    form = VillageOfficerForm()
    form.officer_id.choices = officer_choices()
    if form.validate_on_submit():
        officer = db.session.get(User, int(form.officer_id.data)) if form.officer_id.data else None
        try:
            communes.set_village_officer(v, officer, by=current_user)
        except PlaceError:
            form.officer_id.errors.append(_("Please choose an active officer of the commune."))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("places.village", unit_id=v.id)
    return village_page(v, {"officer": form}, status=422)


# --- Watch points and time windows ------------------------------------------------------------------


@bp.post("/villages/<int:unit_id>/points")
@allow(*MANAGERS)
def add_point(unit_id: int):
    """Add a watch point (market, eatery, karaoke, crossroads...) to a village."""
    v = village_of(unit_id)
    form = NewWatchPointForm(prefix="new")
    if form.validate_on_submit():
        try:
            point = communes.save_watch_point(None, village=v, name=form.name.data, kind=form.kind.data,
                                              note=form.note.data or "", active=True, by=current_user,
                                              client_key=form.client_key.data)
        except PlaceError:
            form.name.errors.append(_("This village already has a place with this name."))
        except KeyReused as exc:
            renew_key(form, exc)
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Watch point added. Now add the times when things happen there."))
            return redirect_to("places.point", point_id=point.id)
    return village_page(v, {"point": form}, status=422)


def point_page(point: WatchPoint, form: WatchPointForm | None = None, window: NewWindowForm | None = None,
               status: int = 200):
    return render("places/point.html", point=point,
                  form=form or WatchPointForm(formdata=None, obj=point),
                  window=window or NewWindowForm(formdata=None), status=status)


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
@allow(*MANAGERS)
def point(point_id: int):
    """Show and edit a watch point (name, kind, note, in use) and list its time windows."""
    p = get_or_404(WatchPoint, point_id, can_edit_place)
    if request.method == "GET":
        return point_page(p)
    form = WatchPointForm()
    if form.validate_on_submit():
        try:
            communes.save_watch_point(p, village=p.village, name=form.name.data, kind=form.kind.data,
                                      note=form.note.data or "", active=form.active.data, by=current_user)
        except PlaceError:
            form.name.errors.append(_("This village already has a place with this name."))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("places.point", point_id=p.id)
    return point_page(p, form=form, status=422)


@bp.post("/points/<int:point_id>/windows")
@allow(*MANAGERS)
def add_window(point_id: int):
    """Add a time window to a watch point; it may cross midnight (20:00–02:00)."""
    p = get_or_404(WatchPoint, point_id, can_edit_place)
    form = NewWindowForm()
    if form.validate_on_submit():
        try:
            communes.save_window(None, point=p, starts=form.starts.data, ends=form.ends.data,
                                 label=form.label.data or "", by=current_user, client_key=form.client_key.data)
        except PlaceError:
            form.ends.errors.append(_("The end must differ from the start."))
        except KeyReused as exc:
            renew_key(form, exc)
            form.starts.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Time window added."))
            return redirect_to("places.point", point_id=p.id)
    return point_page(p, window=form, status=422)


@bp.route("/windows/<int:window_id>", methods=["GET", "POST"])
@allow(*MANAGERS)
def window(window_id: int):
    """Change a time window's start, end or label."""
    w = get_or_404(TimeWindow, window_id, can_edit_place)
    form = WindowForm() if request.method == "POST" else WindowForm(formdata=None, obj=w)
    if form.validate_on_submit():
        try:
            communes.save_window(w, starts=form.starts.data, ends=form.ends.data, label=form.label.data or "",
                                 by=current_user)
        except PlaceError:
            form.ends.errors.append(_("The end must differ from the start."))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("places.point", point_id=w.watch_point_id)
    return render("places/window.html", window=w, form=form, status=422 if request.method == "POST" else 200)


@bp.post("/windows/<int:window_id>/delete")
@allow(*MANAGERS)
def delete_window(window_id: int):
    """Remove a time window; informants posted to it stay at the watch point."""
    w = get_or_404(TimeWindow, window_id, can_edit_place)
    point_id = w.watch_point_id
    communes.remove_window(w, by=current_user)
    db.session.commit()
    flash(_("Time window removed."))
    return redirect_to("places.point", point_id=point_id)


# --- Tip categories ---------------------------------------------------------------------------------


def categories_page(form: NewCategoryForm | None = None, bad: tuple[int, CategoryForm] | None = None,
                    status: int = 200, bad_limit: tuple[int, LimitForm] | None = None):
    rows = communes.categories_of(current_user.commune_id)
    forms = {c.id: CategoryForm(formdata=None, obj=c, prefix=f"c{c.id}") for c in rows}
    if bad is not None:
        forms[bad[0]] = bad[1]
    # How long each category's tips may take (zaloan.deadlines), with a form each.
    limits = deadlines.limits_of(rows)
    limit_forms = {c.id: LimitForm(formdata=None, prefix=f"l{c.id}", data={"crime": limits[c.id].crime,
                                                                             "days": limits[c.id].days}) for c in rows}
    if bad_limit is not None:
        limit_forms[bad_limit[0]] = bad_limit[1]
    return render("places/categories.html", categories=rows, forms=forms, form=form or NewCategoryForm(formdata=None),
                  status=status, limits=limits, limit_forms=limit_forms)


@bp.route("/categories", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def categories():
    """List the commune's tip categories and add one (never deleted: old tips keep theirs)."""
    if request.method == "GET":
        return categories_page()
    form = NewCategoryForm()
    if form.validate_on_submit():
        try:
            communes.add_category(current_user.commune, name=form.name.data, emoji=form.emoji.data or "",
                                  by=current_user, client_key=form.client_key.data)
        except PlaceError:
            form.name.errors.append(_("A category with this name already exists."))
        except KeyReused as exc:
            renew_key(form, exc)
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Category added."))
            return redirect_to("places.categories")
    return categories_page(form=form, status=422)


@bp.post("/categories/<int:category_id>")
@allow(Role.COMMANDER)
def category(category_id: int):
    """Rename a category, change its emoji, or take it out of use (or back)."""
    c = get_or_404(Category, category_id, can_run_commune)
    form = CategoryForm(prefix=f"c{c.id}")
    if form.validate_on_submit():
        try:
            communes.edit_category(c, name=form.name.data, emoji=form.emoji.data or "", active=form.active.data,
                                   by=current_user)
        except PlaceError:
            form.name.errors.append(_("A category with this name already exists."))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect_to("places.categories")
    return categories_page(bad=(c.id, form), status=422)


@bp.post("/categories/<int:category_id>/move")
@allow(Role.COMMANDER)
def move_category(category_id: int):
    """Move a category up or down the list people choose from."""
    c = get_or_404(Category, category_id, can_run_commune)
    step = {"up": -1, "down": 1}.get(request.form.get("to", ""))
    if step is None:
        return categories_page(status=422)
    communes.move_category(c, step, by=current_user)
    db.session.commit()
    return redirect_to("places.categories")


@bp.post("/categories/<int:category_id>/limit")
@allow(Role.COMMANDER)
def category_limit(category_id: int):
    """Set how long tips of a category may take: a crime report (20 days by law) or the commune's own days."""
    c = get_or_404(Category, category_id, can_run_commune)
    form = LimitForm(prefix=f"l{c.id}")
    if form.validate_on_submit():
        try:
            changed = deadlines.set_limit(c, crime=form.crime.data, days=form.days.data, by=current_user)
        except deadlines.DeadlineError as exc:
            form.days.errors = [*form.days.errors, exc.message]
        else:
            if changed:
                db.session.commit()
            flash(_("Saved. Tips received from now on follow it.") if changed else _("Nothing was changed."))
            return redirect_to("places.categories")
    return categories_page(bad_limit=(c.id, form), status=422)
