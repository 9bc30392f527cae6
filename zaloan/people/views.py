"""Account pages: list, create with a one-time activation code, lock, lost phone, place, identity, handover.

Informants appear by alias in every list; their name and phone are shown
only through the audited "show identity" action (zaloan.secrecy).
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, secrecy
from ..extensions import db
from ..labels import ROLES, VERIFIER_TITLES
from ..models import Informant, Role, TimeWindow, Unit, User, VerifierTitle, WatchPoint
from ..permissions import can_create_role, can_manage_user, can_use_village, get_user_or_404
from ..permissions import allow
from ..phones import PhoneError
from ..web import redirect_to, render
from . import bp
from .forms import HandoverForm, InformantPostForm, OfficerVillagesForm, PersonForm, RevealForm, VerifierPlaceForm

MANAGERS = (Role.OFFICER, Role.COMMANDER)


def usable_villages() -> list[Unit]:
    return [v for v in current_user.commune.villages() if can_use_village(current_user, v)]


def officers() -> list[User]:
    return db.session.scalars(
        select(User).where(User.commune_id == current_user.commune_id, User.role == Role.OFFICER,
                           User.active.is_(True)).order_by(User.full_name)
    ).all()


def post_choices(villages: list[Unit]) -> list[tuple[str, str]]:
    """Watch points of these villages with their time windows, as 'point:window' values."""
    out = [("", _("None"))]
    points = db.session.scalars(
        select(WatchPoint).where(WatchPoint.village_id.in_([v.id for v in villages]), WatchPoint.active.is_(True))
        .order_by(WatchPoint.name)
    ).all()
    for p in points:
        out.append((f"{p.id}:", p.name))
        out.extend((f"{p.id}:{w.id}", f"{p.name} ({w})") for w in p.windows)
    return out


def parse_post(value: str, villages: list[Unit]) -> tuple[WatchPoint | None, TimeWindow | None]:
    """Return the watch point and window of a 'point:window' value, only in `villages`; else raise ValueError."""
    if not value:
        return None, None
    point_id, _sep, window_id = value.partition(":")
    point = db.session.get(WatchPoint, int(point_id)) if point_id.isdigit() else None
    if point is None or point.village_id not in {v.id for v in villages}:
        raise ValueError
    window = None
    if window_id:
        window = db.session.get(TimeWindow, int(window_id)) if window_id.isdigit() else None
        if window is None or window.watch_point_id != point.id:
            raise ValueError
    return point, window


def scoped_people():
    """Everyone the current user manages."""
    q = select(User).where(User.commune_id == current_user.commune_id, User.id != current_user.id)
    if current_user.role == Role.OFFICER:
        village_ids = [v.id for v in current_user.areas()]
        handled = select(Informant.user_id).where(Informant.handler_id == current_user.id)
        q = q.where(
            ((User.role == Role.VERIFIER) & User.village_id.in_(village_ids))
            | ((User.role == Role.INFORMANT) & User.id.in_(handled))
        )
    return q


@bp.get("/")
@allow(*MANAGERS)
def index():
    """List the people the current user manages; informants by alias only."""
    role = request.args.get("role", "")
    q = scoped_people()
    if role in Role.ALL:
        q = q.where(User.role == role)
    people = db.session.scalars(q.order_by(User.role, User.full_name)).all()
    roles = Role.ALL if current_user.role == Role.COMMANDER else Role.OFFICER_MANAGES
    return render("people/index.html", people=people, role=role, roles=roles)


def person_form() -> PersonForm:
    form = PersonForm()
    roles = [r for r in Role.ALL if can_create_role(current_user, r)]
    form.role.choices = [(r, ROLES[r]) for r in roles]
    villages = usable_villages()
    form.village_id.choices = [(0, "—")] + [(v.id, v.name) for v in villages]
    form.title.choices = [("", "—")] + [(t, VERIFIER_TITLES[t]) for t in VerifierTitle.ALL]
    form.watch_point.choices = post_choices(villages)
    form.handler_id.choices = [(0, "—")] + [(o.id, o.full_name) for o in officers()]
    return form


@bp.route("/new", methods=["GET", "POST"])
@allow(*MANAGERS)
def new():
    """Create an account; the person sets their own password with a one-time code."""
    form = person_form()
    if request.method == "GET" and request.args.get("role") in dict(form.role.choices):
        form.role.data = request.args["role"]
    if form.validate_on_submit():
        role = form.role.data
        villages = usable_villages()
        village = next((v for v in villages if v.id == form.village_id.data), None)
        handler = current_user if current_user.role == Role.OFFICER else None
        ok = True
        if role == Role.VERIFIER:
            if village is None:
                form.village_id.errors.append(_("Please choose the verifier's village."))
                ok = False
            if form.title.data not in VerifierTitle.ALL:
                form.title.errors.append(_("Please choose the verifier's title."))
                ok = False
        if role == Role.INFORMANT and current_user.role == Role.COMMANDER:
            handler = next((o for o in officers() if o.id == form.handler_id.data), None)
            if handler is None:
                form.handler_id.errors.append(_("Please choose the handler officer."))
                ok = False
        try:
            point, window = parse_post(form.watch_point.data or "", villages)
        except ValueError:
            form.watch_point.errors.append(_("Please choose a watch point of your villages."))
            ok = False
        if ok:
            try:
                person = accounts.create_user(
                    by=current_user, phone=form.phone.data, full_name=form.full_name.data, role=role,
                    commune=current_user.commune, village=village, title=form.title.data or None,
                    position=form.position.data or "", handler=handler,
                )
            except accounts.AccountError:
                form.phone.errors.append(_("This phone number already has an account."))
            except PhoneError:
                form.phone.errors.append(_("This is not a valid Vietnamese phone number."))
            else:
                if role == Role.INFORMANT and point is not None:
                    accounts.set_informant_post(person.informant, handler=None, watch_point=point,
                                                time_window=window, by=current_user)
                code = accounts.issue_activation(person, by=current_user)
                db.session.commit()
                return show_person(person, code=code)
    return render("people/new.html", form=form, status=422 if form.errors else 200)


def show_person(person: User, code: str | None = None, identity=None, forms: dict | None = None,
                status: int = 200):
    villages = usable_villages()
    place = VerifierPlaceForm(village_id=person.village_id, title=person.title)
    place.village_id.choices = [(v.id, v.name) for v in villages]
    place.title.choices = [(t, VERIFIER_TITLES[t]) for t in VerifierTitle.ALL]
    post = InformantPostForm()
    post.watch_point.choices = post_choices(villages)
    post.handler_id.choices = [(o.id, o.full_name) for o in officers()]
    if person.informant:
        first = person.informant.posts[0] if person.informant.posts else None
        post.watch_point.data = f"{first.watch_point_id}:{first.time_window_id or ''}" if first else ""
        post.handler_id.data = person.informant.handler_id
    areas = OfficerVillagesForm(village_ids=[v.id for v in person.areas()] if person.role == Role.OFFICER else [])
    areas.village_ids.choices = [(v.id, v.name) for v in current_user.commune.villages()]
    handover = HandoverForm()
    handover.to_id.choices = [(o.id, o.full_name) for o in officers() if o.id != person.id]
    all_forms = {"place": place, "post": post, "reveal": RevealForm(), "areas": areas, "handover": handover}
    all_forms.update(forms or {})
    link = url_for("auth.activate", code=code, _external=True) if code else None
    return render("people/person.html", person=person, code=code, link=link, identity=identity,
                  forms=all_forms, status=status)


def managed(user_id: int) -> User:
    return get_user_or_404(user_id, can_manage_user)


@bp.get("/<int:user_id>")
@allow(*MANAGERS)
def person(user_id: int):
    """Show one account and what can be done with it."""
    return show_person(managed(user_id))


@bp.post("/<int:user_id>/disable")
@allow(*MANAGERS)
def disable(user_id: int):
    """Lock the account; every session of it ends now."""
    p = managed(user_id)
    accounts.disable(p, by=current_user)
    db.session.commit()
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/enable")
@allow(*MANAGERS)
def enable(user_id: int):
    """Unlock the account."""
    p = managed(user_id)
    accounts.enable(p, by=current_user)
    db.session.commit()
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/lost-phone")
@allow(*MANAGERS)
def lost_phone(user_id: int):
    """End every session and the old password; give a new activation code for the new phone."""
    p = managed(user_id)
    code = accounts.lost_phone(p, by=current_user)
    db.session.commit()
    return show_person(p, code=code)


@bp.post("/<int:user_id>/code")
@allow(*MANAGERS)
def new_code(user_id: int):
    """Give a new one-time activation code (the old one stops working)."""
    p = managed(user_id)
    if not p.active:
        return show_person(p, status=409)
    code = accounts.issue_activation(p, by=current_user)
    db.session.commit()
    return show_person(p, code=code)


@bp.post("/<int:user_id>/place")
@allow(*MANAGERS)
def place(user_id: int):
    """Change a verifier's village and title."""
    p = managed(user_id)
    if p.role != Role.VERIFIER:
        abort(404)
    form = VerifierPlaceForm()
    form.village_id.choices = [(v.id, v.name) for v in usable_villages()]
    form.title.choices = [(t, VERIFIER_TITLES[t]) for t in VerifierTitle.ALL]
    if not form.validate_on_submit():
        return show_person(p, forms={"place": form}, status=422)
    village = db.session.get(Unit, form.village_id.data)
    accounts.set_verifier_place(p, village=village, title=form.title.data, by=current_user)
    db.session.commit()
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/post")
@allow(*MANAGERS)
def post(user_id: int):
    """Change an informant's watch point (and, for the commander, their handler)."""
    p = managed(user_id)
    if p.informant is None:
        abort(404)
    form = InformantPostForm()
    villages = usable_villages()
    form.watch_point.choices = post_choices(villages)
    form.handler_id.choices = [(o.id, o.full_name) for o in officers()]
    if not form.validate_on_submit():
        return show_person(p, forms={"post": form}, status=422)
    handler = None
    if current_user.role == Role.COMMANDER:
        handler = next((o for o in officers() if o.id == form.handler_id.data), None)
    try:
        point, window = parse_post(form.watch_point.data or "", villages)
    except ValueError:
        form.watch_point.errors.append(_("Please choose a watch point of your villages."))
        return show_person(p, forms={"post": form}, status=422)
    accounts.set_informant_post(p.informant, handler=handler, watch_point=point, time_window=window, by=current_user)
    db.session.commit()
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/reveal")
@allow(*MANAGERS)
def reveal(user_id: int):
    """Show an informant's name and phone, for a stated reason; the view is audited."""
    p = managed(user_id)
    if p.informant is None:
        abort(404)
    form = RevealForm()
    if not form.validate_on_submit():
        return show_person(p, forms={"reveal": form}, status=422)
    try:
        identity = secrecy.reveal_identity(current_user, p.informant, form.reason.data)
    except secrecy.NotAllowed:
        abort(404)
    db.session.commit()
    return show_person(p, identity=identity)


@bp.post("/<int:user_id>/areas")
@allow(Role.COMMANDER)
def areas(user_id: int):
    """Set the villages an officer is in charge of."""
    p = managed(user_id)
    if p.role != Role.OFFICER:
        abort(404)
    form = OfficerVillagesForm()
    villages = current_user.commune.villages()
    form.village_ids.choices = [(v.id, v.name) for v in villages]
    if not form.validate_on_submit():
        return show_person(p, forms={"areas": form}, status=422)
    chosen = set(form.village_ids.data or [])
    for v in villages:
        if v.id in chosen and v.officer_id != p.id:
            accounts.set_village_officer(v, p, by=current_user)
        elif v.id not in chosen and v.officer_id == p.id:
            accounts.set_village_officer(v, None, by=current_user)
    db.session.commit()
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/handover")
@allow(Role.COMMANDER)
def handover(user_id: int):
    """Move an officer's villages, informants and open tips to another officer in one step."""
    p = managed(user_id)
    if p.role != Role.OFFICER:
        abort(404)
    form = HandoverForm()
    form.to_id.choices = [(o.id, o.full_name) for o in officers() if o.id != p.id]
    if not form.validate_on_submit():
        return show_person(p, forms={"handover": form}, status=422)
    to = db.session.get(User, form.to_id.data)
    try:
        counts = accounts.handover(p, to, by=current_user, disable_leaving=form.disable.data)
    except accounts.AccountError:
        form.to_id.errors.append(_("Choose another active officer of the commune."))
        return show_person(p, forms={"handover": form}, status=422)
    db.session.commit()
    from flask import flash

    flash(_("Handed over: %(v)s villages, %(i)s informants, %(t)s open tips.", v=counts["villages"],
            i=counts["informants"], t=counts["open_tips"]))
    return redirect_to("people.person", user_id=p.id)
