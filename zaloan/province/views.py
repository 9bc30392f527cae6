"""The province administrator's pages: the unit tree of the province, new communes, their commanders, observers.

The administrator works on communes as a whole: their names, addresses and
how many accounts they have. Nothing inside a commune (a tip, an informant, a
name of an informant, a place) is read here.

Audit: "commune.create" and the accounts of one commune (its commander, its
observer) are written to that commune's own chain, so its commander reads
how the commune began; an observer of a district or the province, and the
administrator's own sign-ins, go to the province's chain.
"""
from __future__ import annotations

from flask import current_app, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import accounts, communes
from ..cases import KeyReused
from ..communes import PlaceError
from ..extensions import db
from ..formkit import create_account_once, renew_key
from ..models import Role, Unit, UnitKind, User
from ..permissions import allow, can_help_commander, can_run_province, get_or_404, province_communes_for
from ..phones import normalize_phone
from ..web import external_url, redirect_to, render
from . import bp
from .forms import AccountForm, CommuneForm, ObserverForm

POSITION = "Trưởng Công an xã"


def province() -> Unit:
    return current_user.commune


def districts() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.parent_id == province().id,
                                                      Unit.kind == UnitKind.DISTRICT).order_by(Unit.name)))


def province_communes() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(province_communes_for(current_user)).order_by(Unit.name)))


def account_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    """Return {commune id: {role: active accounts}} in one query; counts only, never who."""
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for commune_id, role, n in db.session.execute(
                select(User.commune_id, User.role, func.count(User.id))
                .where(User.commune_id.in_(ids), User.active.is_(True)).group_by(User.commune_id, User.role)):
            out[commune_id][role] = n
    return out


@bp.get("/")
@allow(Role.PROVINCE_ADMIN)
def index():
    """The province's districts and communes: each commune's address and how many accounts it has."""
    rows = province_communes()
    counts = account_counts([c.id for c in rows])
    groups = [(None, [c for c in rows if c.parent_id == province().id])]
    groups += [(d, [c for c in rows if c.parent_id == d.id]) for d in districts()]
    return render("province/index.html", province=province(), groups=groups, counts=counts)


# --- A new commune ---------------------------------------------------------------------------------


def commune_form() -> CommuneForm:
    form = CommuneForm()
    form.district_id.choices = [("", _("No district (right under the province)"))] + [
        (str(d.id), d.name) for d in districts()]
    if request.method == "POST" and "district_id" not in request.form:
        form.district_id.data = ""
    if form.district_id.data is None:
        form.district_id.data = ""
    return form


@bp.route("/communes/new", methods=["GET", "POST"])
@allow(Role.PROVINCE_ADMIN)
def new_commune():
    """Add a commune to the province (with or without a district); it gets its own address for tips."""
    form = commune_form()
    if request.method == "POST" and form.validate_on_submit():
        district = db.session.get(Unit, int(form.district_id.data)) if form.district_id.data else None
        try:
            commune = communes.add_commune(province(), form.name.data, district=district, by=current_user,
                                           client_key=form.client_key.data)
        except PlaceError:
            db.session.rollback()
            form.name.errors.append(_("This province or district already has a commune with this name."))
        except KeyReused as exc:
            db.session.rollback()
            renew_key(form, exc)
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Commune created. Now create its commander's account."))
            return redirect_to("province.commune", unit_id=commune.id)
    return render("province/new_commune.html", form=form, status=422 if request.method == "POST" else 200)


# --- One commune: its address, its accounts, its commander -------------------------------------------


def run_commune(unit_id) -> Unit:
    return get_or_404(Unit, unit_id, can_run_province)


def commune_page(commune: Unit, form: AccountForm | None = None, status: int = 200):
    commanders = list(db.session.scalars(select(User).where(User.commune_id == commune.id,
                                                            User.role == Role.COMMANDER).order_by(User.id)))
    return render("province/commune.html", commune=commune, counts=account_counts([commune.id])[commune.id],
                  commanders=commanders, roles=Role.COMMUNE, address=external_url("public.new", slug=commune.slug),
                  form=form or AccountForm(formdata=None), status=status)


@bp.get("/communes/<int:unit_id>")
@allow(Role.PROVINCE_ADMIN)
def commune(unit_id: int):
    """A commune of the province: its address for tips, its commanders and how many accounts it has."""
    return commune_page(run_commune(unit_id))


def taken_phone_message() -> str:
    """Say a phone number that already has an account cannot be used, the same words whoever has it."""
    return _("This phone number cannot be used. Please check it.")


def create_account(form: AccountForm, *, role: str, unit: Unit, position: str = ""):
    """Create the account the form describes in `unit`; return the page that shows its code, or None."""
    def create() -> User:
        return accounts.create_user(by=current_user, phone=form.phone.data, full_name=form.full_name.data,
                                    role=role, commune=unit, position=position, client_key=form.client_key.data)

    def same(person: User) -> bool:
        return (person.phone, person.role, person.commune_id) == (normalize_phone(form.phone.data), role, unit.id)

    person, code = create_account_once(form, same=same, create=create, taken_message=taken_phone_message())
    if person is None:
        return None
    if code is None:
        # A retry whose first answer was lost: the code was in that answer; say the account exists.
        return render("province/created.html", person=person, unit=unit, code=None, again=True)
    return render("province/created.html", person=person, unit=unit, code=code, again=False,
                  link=external_url("auth.activate", code=code), hours=current_app.config["ACTIVATION_HOURS"])


@bp.post("/communes/<int:unit_id>/commander")
@allow(Role.PROVINCE_ADMIN)
def new_commander(unit_id: int):
    """Create the commune's commander; their one-time activation code is shown once."""
    unit = run_commune(unit_id)
    form = AccountForm()
    if form.validate_on_submit():
        done = create_account(form, role=Role.COMMANDER, unit=unit, position=POSITION)
        if done is not None:
            return done
    return commune_page(unit, form, status=422)


@bp.post("/commanders/<int:user_id>/code")
@allow(Role.PROVINCE_ADMIN)
def commander_code(user_id: int):
    """A new one-time code for a commander who has not used their account yet (the first code was lost).

    An account already in use is not taken over from here: its commander
    still has it, and a lost phone is a matter for the command line.
    """
    person = get_or_404(User, user_id, can_help_commander)
    if not person.active or accounts.has_been_used(person):
        db.session.rollback()
        flash(_("This commander has already activated the account: no new code is needed."))
        return commune_page(person.commune, status=409)
    code = accounts.issue_activation(person, by=current_user)
    db.session.commit()
    return render("province/created.html", person=person, unit=person.commune, code=code, again=False,
                  link=external_url("auth.activate", code=code), hours=current_app.config["ACTIVATION_HOURS"])


# --- Observers of a commune, a district or the province ---------------------------------------------


def observer_units() -> list[Unit]:
    return [province()] + districts() + province_communes()


@bp.route("/observers/new", methods=["GET", "POST"])
@allow(Role.PROVINCE_ADMIN)
def new_observer():
    """Create an observer who sees the figures (counts only) of a commune, a district or the whole province."""
    form = ObserverForm()
    units = {str(u.id): u for u in observer_units()}
    form.unit_id.choices = [(key, f"{u.name}") for key, u in units.items()]
    if request.method == "GET" and request.args.get("unit") in units:
        form.unit_id.data = request.args["unit"]
    if request.method == "POST" and form.validate_on_submit():
        done = create_account(form, role=Role.OBSERVER, unit=units[form.unit_id.data])
        if done is not None:
            return done
    return render("province/new_observer.html", form=form, status=422 if request.method == "POST" else 200)
