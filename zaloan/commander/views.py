"""Commander pages."""
from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import communes, qr
from ..extensions import db
from ..models import CommuneSettings, Role, Urgency
from ..permissions import allow
from ..reports import commune_summary
from ..web import external_url, redirect_to, render
from . import bp
from .forms import SettingsForm


@bp.get("/")
@allow(Role.COMMANDER)
def home():
    """Show the commune at a glance: villages, officers, people, tips."""
    commune = current_user.commune
    return render("commander/home.html", commune=commune, summary=commune_summary(commune))


@bp.get("/poster")
@allow(Role.COMMANDER, Role.OFFICER)
def poster():
    """A page to print for the commune hall and the markets: the commune's own address for tips, as a QR code."""
    commune = current_user.commune
    address = external_url("public.new", slug=commune.slug) if commune.slug else external_url("public.new")
    return render("commander/poster.html", commune=commune, address=address,
                  code=qr.svg(address, title=_("QR code of the address %(url)s", url=address)),
                  duty=communes.duty_phone(commune.id), back=url_for("auth.index"))


@bp.route("/settings", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def settings():
    """Set the commune police's on-duty number and how long verifiers have, by urgency."""
    current = CommuneSettings.of(current_user.commune_id)
    form = SettingsForm(obj=current) if request.method == "POST" else SettingsForm(formdata=None, obj=current)
    if form.validate_on_submit():
        hours = {u: getattr(form, communes.DUE_COLUMNS[u]).data for u in Urgency.ALL}
        if communes.save_settings(current_user.commune, by=current_user, duty_phone=form.duty_phone.data,
                                  due_hours=hours):
            db.session.commit()
            flash(_("Saved."))
        else:
            flash(_("Nothing was changed."))
        return redirect_to("commander.settings")
    status = 422 if form.errors else 200
    return render("commander/settings.html", form=form, settings=current, status=status)
