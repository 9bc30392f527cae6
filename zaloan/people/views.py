"""Account pages: list, create with a one-time activation code, lock, lost phone, place, identity, handover.

The commander manages every account of the commune; an officer only the
informants they handle and the verifiers of their villages. Informants
appear by alias in every list and page; their name and phone are shown only
through the audited "show identity" action (zaloan.secrecy).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from .. import accounts, retention, secrecy, takeover
from ..db_setup import reads_only
from ..extensions import db
from ..kept import answer_once, drawn_once
from ..labels import ROLES, VERIFIER_TITLES, WATCH_POINT_EMOJI
from ..models import (
    Informant,
    InformantPost,
    Role,
    TimeWindow,
    Unit,
    UnitKind,
    User,
    VerifierTitle,
    WatchPoint,
)
from ..inputs import arg_int
from ..permissions import (
    allow,
    can_create_role,
    can_decide_erasure,
    can_request_erasure,
    can_hand_over,
    can_manage_user,
    get_user_or_404,
    people_for,
    sees_whole_commune,
    villages_for,
)
from ..formkit import create_account_once
from ..phones import normalize_phone
from ..web import external_url, redirect_to, render, render_drawn
from . import bp
from .forms import (
    ErasureDecisionForm,
    ErasureRequestForm,
    HandlerForm,
    HandoverForm,
    InformantPostForm,
    OfficerVillagesForm,
    PersonForm,
    RevealForm,
    TakeoverForm,
    VerifierPlaceForm,
)

MANAGERS = (Role.OFFICER, Role.COMMANDER)


# --- What the current user may choose from ---------------------------------------------------


def usable_villages() -> list[Unit]:
    """The villages the current user may place people in: all for the commander, their own for an officer."""
    return list(db.session.scalars(select(Unit).where(villages_for(current_user)).order_by(Unit.name)))


def active_officers(but: User | None = None) -> list[User]:
    q = select(User).where(User.commune_id == current_user.commune_id, User.role == Role.OFFICER,
                           User.active.is_(True))
    if but is not None:
        q = q.where(User.id != but.id)
    return list(db.session.scalars(q.order_by(User.full_name)))


def post_value(point_id: int, window_id: int | None) -> str:
    return f"{point_id}:{window_id or ''}"


def post_choices(villages: list[Unit], also: list[InformantPost] = ()) -> list[tuple[str, str]]:
    """Watch points of `villages` with their time windows, as 'point:window' values.

    A point with time windows is offered once per window; a point without any,
    once for any time. Posts the informant already has stay offered.
    """
    village_ids = {v.id for v in villages}
    points = list(db.session.scalars(
        select(WatchPoint).where(WatchPoint.village_id.in_(village_ids), WatchPoint.active.is_(True))
    ))
    points += [p.watch_point for p in also if p.watch_point.village_id in village_ids and p.watch_point not in points]
    out = []
    any_time = _("any time")
    for p in sorted(points, key=lambda p: (p.village.name, p.name)):
        head = f"{WATCH_POINT_EMOJI.get(p.kind, '')} {p.name} ({p.village.name})"
        if p.windows:
            out.extend((post_value(p.id, w.id), f"{head} · {w}{' ' + w.label if w.label else ''}") for w in p.windows)
        else:
            out.append((post_value(p.id, None), f"{head} · {any_time}"))
    for post in also:
        value = post_value(post.watch_point_id, post.time_window_id)
        if post.watch_point.village_id in village_ids and value not in dict(out):
            out.append((value, f"{post.watch_point.name} ({post.watch_point.village.name})"))
    return out


def parse_posts(values: list[str]) -> list[tuple[WatchPoint, TimeWindow | None]]:
    """Return the watch points and windows of already validated 'point:window' values."""
    out = []
    for value in values:
        point_id, _sep, window_id = value.partition(":")
        point = db.session.get(WatchPoint, int(point_id))
        window = db.session.get(TimeWindow, int(window_id)) if window_id else None
        out.append((point, window))
    return out


def role_choices() -> list[tuple[str, str]]:
    return [(r, ROLES[r]) for r in Role.ALL if can_create_role(current_user, r)]


def title_choices() -> list[tuple[str, str]]:
    return [(t, VERIFIER_TITLES[t]) for t in VerifierTitle.ALL]


# --- List ------------------------------------------------------------------------------------


def scoped_people():
    """Select everyone the current user may manage; the commander's list also holds their own account."""
    scope = people_for(current_user)
    if sees_whole_commune(current_user):
        scope = or_(scope, User.id == current_user.id)
    return select(User).where(scope)


def in_village(village_id: int):
    """Condition: the verifiers of a village, the informants posted there, its officer."""
    posted = (
        select(Informant.user_id)
        .join(InformantPost, InformantPost.informant_id == Informant.id)
        .join(WatchPoint, WatchPoint.id == InformantPost.watch_point_id)
        .where(WatchPoint.village_id == village_id)
    )
    officer = exists().where(Unit.id == village_id, Unit.officer_id == User.id)
    return or_(
        (User.role == Role.VERIFIER) & (User.village_id == village_id),
        (User.role == Role.INFORMANT) & User.id.in_(posted),
        (User.role == Role.OFFICER) & officer,
    )


# What the list shows of each person, loaded in a fixed number of queries whatever the number of rows.
PEOPLE_LIST = (
    selectinload(User.village),
    selectinload(User.informant).selectinload(Informant.handler),
    selectinload(User.informant).selectinload(Informant.posts).selectinload(InformantPost.watch_point),
)


@bp.get("/")
@allow(*MANAGERS)
@reads_only
def index():
    """List the accounts the current user manages; informants by alias only, never name or phone.

    Drawn once while nothing of the commune changes (`kept.drawn_once`): the
    list is opened again and again (back from a person's page, the filters
    set back), and reads only rows the commune's clock watches.
    """

    def draw() -> str:
        roles = Role.COMMUNE if current_user.role == Role.COMMANDER else Role.OFFICER_MANAGES
        role = request.args.get("role", "")
        role = role if role in roles else ""
        villages = usable_villages()
        wanted = arg_int("village")
        village = next((v for v in villages if v.id == wanted), None)
        q = scoped_people()
        if role:
            q = q.where(User.role == role)
        if village is not None:
            q = q.where(in_village(village.id))
        people = list(db.session.scalars(q.options(*PEOPLE_LIST)))
        # The officers' villages in one query, not one a row.
        areas: dict[int, list[Unit]] = {}
        officer_ids = [p.id for p in people if p.role == Role.OFFICER]
        if officer_ids:
            for unit in db.session.scalars(select(Unit).where(Unit.officer_id.in_(officer_ids),
                                                              Unit.kind == UnitKind.VILLAGE).order_by(Unit.name)):
                areas.setdefault(unit.officer_id, []).append(unit)
        # Informants by alias, everyone else by name; the list never sorts by an informant's name.
        order = {r: n for n, r in enumerate(Role.ALL)}
        people.sort(key=lambda p: (order.get(p.role, 9), p.informant.alias if p.informant else p.full_name))
        return render_template("people/_index.html", people=people, roles=roles, role=role, villages=villages,
                               village=village, creatable=role_choices(), areas=areas)

    asked = (request.args.get("role", ""), arg_int("village"))
    return answer_once("people_answers", current_user, current_app.config["PAGE_PARTS_KEPT"],
                       lambda: render_drawn(drawn_once("people_lists", current_user, asked, draw, minute=False)))


# --- Create ----------------------------------------------------------------------------------


def person_form() -> PersonForm:
    form = PersonForm()
    villages = usable_villages()
    form.role.choices = role_choices()
    form.village_id.choices = [(str(v.id), v.name) for v in villages]
    form.title.choices = title_choices()
    form.posts.choices = post_choices(villages)
    if current_user.role == Role.COMMANDER:
        form.handler_id.choices = [(str(o.id), o.full_name) for o in active_officers()]
    else:
        # An officer's informants are their own: the only handler on offer is themselves.
        form.handler_id.choices = [(str(current_user.id), current_user.full_name)]
        form.handler_id.invalid_choice_message = _("The informants you add are handled by you.")
        if request.method == "POST" and "handler_id" not in request.form:
            form.handler_id.data = str(current_user.id)
    return form


def taken_phone_message() -> str:
    """Say a phone number that already has an account cannot be used, the same words whoever has it."""
    if current_user.role == Role.COMMANDER:
        return _("This phone number cannot be used. Please check it; the audit log says why.")
    return _("This phone number cannot be used. Please check it, or ask the commune police chief.")


@bp.route("/new", methods=["GET", "POST"])
@allow(*MANAGERS)
def new():
    """Create an account; the person sets their own password with a one-time code on their own phone."""
    form = person_form()
    if request.method == "GET":
        wanted = request.args.get("role", "")
        form.role.data = wanted if wanted in dict(form.role.choices) else None
        if form.role.data is None and len(form.role.choices) == 1:
            form.role.data = form.role.choices[0][0]
    elif form.validate_on_submit():
        role = form.role.data
        village = db.session.get(Unit, int(form.village_id.data)) if role == Role.VERIFIER else None
        handler = db.session.get(User, int(form.handler_id.data)) if role == Role.INFORMANT else None

        def create() -> User:
            person = accounts.create_user(
                by=current_user, phone=form.phone.data, full_name=form.full_name.data, role=role,
                commune=current_user.commune, village=village,
                title=form.title.data if role == Role.VERIFIER else None,
                position=(form.position.data or "") if role not in (Role.INFORMANT, Role.VERIFIER) else "",
                handler=handler, client_key=form.client_key.data,
            )
            if role == Role.INFORMANT:
                accounts.set_informant_posts(person.informant, parse_posts(form.posts.data), by=current_user)
            return person

        def same(person: User) -> bool:
            return (person.phone, person.role) == (normalize_phone(form.phone.data), role) \
                and can_manage_user(current_user, person)

        person, code = create_account_once(form, same=same, create=create, taken_message=taken_phone_message())
        if person is not None:
            # Without a code: a retry of a send whose answer was lost. Say the account exists and offer
            # "New activation code", a deliberate, audited step that says the earlier code stops working.
            return render("people/created.html", person=person, again=code is None, **code_context(code))
    return render("people/new.html", form=form, status=422 if request.method == "POST" else 200)


def code_context(code: str | None) -> dict:
    """What the page needs to show a one-time code: the code, its link, how long it lasts."""
    if not code:
        return {"code": None}
    return {
        "code": code,
        "link": external_url("auth.activate", code=code),
        "hours": current_app.config["ACTIVATION_HOURS"],
    }


# --- One person -------------------------------------------------------------------------------


def managed(user_id) -> User:
    return get_user_or_404(user_id, can_manage_user)


def bound(cls, formdata, data: dict):
    """Return a form of `cls`: from the posted `formdata` when given, else filled with `data`."""
    return cls(formdata=formdata) if formdata is not None else cls(formdata=None, data=data)


def person_forms(person: User, formdata=None) -> dict:
    """The forms of a person's page: filled with what the person has now, or with what was posted."""
    villages = usable_villages()
    forms: dict = {"reveal": RevealForm(formdata=formdata), "takeover": TakeoverForm(formdata=formdata),
                   "erasure": ErasureRequestForm(formdata=formdata), "erasure_decision": ErasureDecisionForm(formdata=formdata)}
    if person.role == Role.VERIFIER:
        f = bound(VerifierPlaceForm, formdata, {"village_id": str(person.village_id), "title": person.title})
        f.village_id.choices = [(str(v.id), v.name) for v in villages]
        f.title.choices = title_choices()
        forms["place"] = f
    if person.informant is not None:
        inf = person.informant
        f = bound(InformantPostForm, formdata,
                  {"posts": [post_value(p.watch_point_id, p.time_window_id) for p in inf.posts]})
        f.posts.choices = post_choices(villages, inf.posts)
        forms["post"] = f
        h = bound(HandlerForm, formdata, {"handler_id": str(inf.handler_id)})
        h.handler_id.choices = [(str(o.id), o.full_name) for o in active_officers()]
        forms["handler"] = h
    if person.role == Role.OFFICER:
        f = bound(OfficerVillagesForm, formdata, {"village_ids": [str(v.id) for v in person.areas()]})
        f.village_ids.choices = [(str(v.id), officer_village_label(v, person)) for v in current_user.commune.villages()]
        forms["areas"] = f
    return forms


def officer_village_label(village: Unit, officer: User) -> str:
    if village.officer is not None and village.officer_id != officer.id:
        return f"{village.name} ({village.officer.full_name})"
    return village.name


def show_person(person: User, *, code: str | None = None, identity=None, forms: dict | None = None,
                error: str | None = None, status: int = 200):
    """Render a person's page; `forms` replaces the blank forms by ones with errors."""
    all_forms = person_forms(person)
    all_forms.update(forms or {})
    return render("people/person.html", person=person, identity=identity, forms=all_forms, error=error,
                  status=status, in_use=accounts.has_been_used(person), takeovers=takeover.history(person),
                  takeover_reason=takeover.reason_label,
                  erasure=retention.pending_erasure(person.informant) if person.informant else None,
                  **code_context(code))


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
    try:
        accounts.disable(p, by=current_user)
    except accounts.AccountError:
        abort(404)
    db.session.commit()
    flash(_("The account is locked. It can no longer be used."))
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/enable")
@allow(*MANAGERS)
def enable(user_id: int):
    """Unlock the account."""
    p = managed(user_id)
    if p.erased_at is not None:
        return show_person(p, error=_("This informant's identity was erased: the account cannot be opened again. "
                                      "Create a new account if the person comes back."), status=409)
    accounts.enable(p, by=current_user)
    db.session.commit()
    flash(_("The account is unlocked."))
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/lost-phone")
@allow(*MANAGERS)
def lost_phone(user_id: int):
    """End every session and the old password for a stated reason; show a new activation code for the new phone."""
    return reissue_code(managed(user_id), lost_phone=True)


@bp.post("/<int:user_id>/code")
@allow(*MANAGERS)
def new_code(user_id: int):
    """Show a new one-time activation code (the earlier one stops working); for an account in use, for a reason."""
    return reissue_code(managed(user_id), lost_phone=False)


def reissue_code(p: User, *, lost_phone: bool):
    """Give `p` a new activation code; an account already in use only for a stated reason (a take-over).

    Whoever holds a new code gets into the account and reads what its holder
    sent, so for an account in use (any role) the code is audited with the
    reason, every session ends now and the person is told (zaloan.takeover).
    An account still waiting for its first activation just gets its code again.
    """
    if not p.active:
        return show_person(p, error=_("Unlock the account first."), status=409)
    if not accounts.has_been_used(p):
        code = accounts.lost_phone(p, by=current_user) if lost_phone else accounts.issue_activation(p, by=current_user)
        db.session.commit()
        return show_person(p, code=code)
    form = TakeoverForm()
    if not form.validate_on_submit():
        return show_person(p, forms={"takeover": form}, status=422)
    try:
        code = accounts.take_over(p, by=current_user, kind=form.kind.data, reason=form.reason.data,
                                  lost_phone=lost_phone)
    except accounts.AccountError:
        db.session.rollback()
        form.reason.errors.append(_("Please write the reason in 10 to 300 letters."))
        return show_person(p, forms={"takeover": form}, status=422)
    db.session.commit()
    return show_person(p, code=code)


@bp.post("/<int:user_id>/place")
@allow(*MANAGERS)
def place(user_id: int):
    """Change a verifier's village and title."""
    p = managed(user_id)
    if p.role != Role.VERIFIER:
        abort(404)
    form = person_forms(p, request.form)["place"]
    if not form.validate_on_submit():
        return show_person(p, forms={"place": form}, status=422)
    try:
        accounts.set_verifier_place(p, village=db.session.get(Unit, int(form.village_id.data)),
                                    title=form.title.data, by=current_user)
    except accounts.AccountError:
        form.village_id.errors.append(_("Please choose one of your villages."))
        return show_person(p, forms={"place": form}, status=422)
    db.session.commit()
    flash(_("Saved."))
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/post")
@allow(*MANAGERS)
def post(user_id: int):
    """Change an informant's watch points and time windows (and, for the commander, their handler)."""
    p = managed(user_id)
    if p.informant is None:
        abort(404)
    inf = p.informant
    forms = person_forms(p, request.form)
    form, handler_form = forms["post"], forms["handler"]
    changes_handler = current_user.role == Role.COMMANDER and "handler_id" in request.form
    ok = form.validate_on_submit()
    if "handler_id" in request.form and current_user.role != Role.COMMANDER:
        # Only the commander gives an informant to another officer.
        form.posts.errors.append(_("Only the commander can change the handler officer."))
        ok = False
    if changes_handler and not handler_form.validate():
        ok = False
    if not ok:
        return show_person(p, forms={"post": form, "handler": handler_form}, status=422)
    usable = {v.id for v in usable_villages()}
    # Posts in villages the current user does not run are kept as they are.
    kept = [(x.watch_point, x.time_window) for x in inf.posts if x.watch_point.village_id not in usable]
    try:
        if changes_handler:
            accounts.set_informant_handler(inf, db.session.get(User, int(handler_form.handler_id.data)),
                                           by=current_user)
        accounts.set_informant_posts(inf, parse_posts(form.posts.data) + kept, by=current_user)
    except accounts.AccountError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_("Saved."))
    if not can_manage_user(current_user, p):
        return redirect_to("people.index")
    return redirect_to("people.person", user_id=p.id)


@bp.post("/<int:user_id>/reveal")
@allow(*MANAGERS)
def reveal(user_id: int):
    """Show an informant's name and phone for a stated reason, in this response only; the view is audited."""
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
    except ValueError:
        form.reason.errors.append(_("Please state the reason in a few words."))
        return show_person(p, forms={"reveal": form}, status=422)
    db.session.commit()
    return show_person(p, identity=identity)


@bp.get("/<int:user_id>/reveal")
@bp.get("/<int:user_id>/code")
@bp.get("/<int:user_id>/lost-phone")
@allow(*MANAGERS)
def shown_once(user_id: int):
    """Show the person's page again after a reload or Back on a page shown once (identity, a new code).

    Those pages answer a POST, and the browser's address bar keeps its URL.
    A GET there never shows the identity or a code again (each view of the
    identity needs its own reason, each code its own press); it changes nothing.
    """
    # A plain redirect, also for htmx: its request follows it and gets the page (history restore too).
    return redirect(url_for("people.person", user_id=managed(user_id).id), 303)


@bp.post("/<int:user_id>/areas")
@allow(Role.COMMANDER)
def areas(user_id: int):
    """Set the villages an officer is in charge of."""
    p = managed(user_id)
    if p.role != Role.OFFICER:
        abort(404)
    form = person_forms(p, request.form)["areas"]
    if not form.validate_on_submit():
        return show_person(p, forms={"areas": form}, status=422)
    chosen = [v for v in current_user.commune.villages() if str(v.id) in set(form.village_ids.data or [])]
    accounts.set_officer_villages(p, chosen, by=current_user)
    db.session.commit()
    flash(_("Saved."))
    return redirect_to("people.person", user_id=p.id)


# --- Handover ---------------------------------------------------------------------------------


@bp.route("/<int:user_id>/handover", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def handover(user_id: int):
    """Show what an officer would hand over, then move it all to another officer in one step."""
    leaving = get_user_or_404(user_id, can_hand_over)
    form = HandoverForm()
    form.to_id.choices = [(str(o.id), o.full_name) for o in active_officers(but=leaving)]
    plan = accounts.handover_plan(leaving)
    if form.validate_on_submit():
        receiving = db.session.get(User, int(form.to_id.data))
        try:
            counts = accounts.handover(leaving, receiving, by=current_user, disable_leaving=form.disable.data)
        except accounts.AccountError:
            form.to_id.errors.append(_("Choose another active officer of the commune."))
        else:
            db.session.commit()
            flash(_("Handed over to %(name)s: %(v)s villages, %(i)s informants, %(t)s open tips.",
                    name=receiving.full_name, v=counts["villages"], i=counts["informants"], t=counts["open_tips"]))
            return redirect_to("people.person", user_id=receiving.id)
    return render("people/handover.html", leaving=leaving, plan=plan, form=form,
                  status=422 if request.method == "POST" else 200)


# --- An informant's identity erased on request: the officer asks, the commander confirms ---------


@bp.post("/<int:user_id>/erasure")
@allow(*MANAGERS)
def request_erasure(user_id: int):
    """Ask to erase an informant's name and phone, with who asked and how; the commander confirms."""
    p = managed(user_id)
    if not can_request_erasure(current_user, p):
        abort(404)
    form = ErasureRequestForm()
    if not form.validate_on_submit():
        return show_person(p, forms={"erasure": form}, status=422)
    try:
        retention.request_identity_erasure(p.informant, by=current_user, reason=form.reason.data)
    except retention.ErasureError as exc:
        db.session.rollback()
        return show_person(p, error=exc.message, status=exc.status)
    db.session.commit()
    flash(_("The request is recorded. Nothing is erased until the commander confirms it."))
    return redirect_to("people.person", user_id=p.id, _anchor="erasure")


@bp.post("/<int:user_id>/erasure/confirm")
@allow(Role.COMMANDER)
def confirm_erasure(user_id: int):
    """Confirm a waiting request: the informant's name and phone are erased now (the alias and tips stay)."""
    return decide_erasure(user_id, confirm=True)


@bp.post("/<int:user_id>/erasure/refuse")
@allow(Role.COMMANDER)
def refuse_erasure(user_id: int):
    """Refuse a waiting request; nothing of the informant changes."""
    return decide_erasure(user_id, confirm=False)


def decide_erasure(user_id: int, *, confirm: bool):
    p = managed(user_id)
    row = retention.pending_erasure(p.informant) if p.informant is not None else None
    if row is None:
        abort(404)
    if not can_decide_erasure(current_user, row):
        return show_person(p, error=_("Another person must confirm: the one who asks for an erasure cannot also "
                                      "confirm it. Ask another commander of the commune."), status=409)
    form = ErasureDecisionForm()
    if confirm and not form.sure.data:
        form.sure.errors = [_("Tick the box to confirm.")]
        return show_person(p, forms={"erasure_decision": form}, status=422)
    try:
        if confirm:
            retention.confirm_identity_erasure(row, by=current_user)
        else:
            retention.refuse_identity_erasure(row, by=current_user)
    except retention.ErasureError as exc:
        db.session.rollback()
        return show_person(p, error=exc.message, status=exc.status)
    db.session.commit()
    flash(_("The name and phone number are erased. The alias and the tips stay.") if confirm
          else _("The request is refused. Nothing was erased."))
    return redirect_to("people.person", user_id=p.id)
