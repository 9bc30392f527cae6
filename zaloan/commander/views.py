"""Commander pages."""
from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import communes, deadlines, faults, qr, retention, twofactor
from ..db_setup import reads_only
from ..deadline_forms import DeadlineSettingsForm
from ..extensions import db
from ..models import CommuneSettings, Role, Urgency, utcnow
from ..permissions import allow
from ..reports import commune_summary
from ..web import external_url, redirect_to, render
from . import bp
from .forms import ReportSettingsForm, RequireTwoStepForm, SettingsForm


@bp.get("/")
@allow(Role.COMMANDER)
@reads_only
def home():
    """Show the commune at a glance: villages, officers, people, tips."""
    commune = current_user.commune
    now = utcnow()
    return render("commander/home.html", commune=commune, summary=commune_summary(commune),
                  late=deadlines.late_in(commune.id, now=now), now=now,
                  erasures=retention.pending_erasures(commune.id),
                  storage_alert=faults.storage_alert(commune.id))


@bp.get("/poster")
@allow(Role.COMMANDER, Role.OFFICER)
def poster():
    """A page to print for the commune hall and the markets: the commune's own address for tips, as a QR code."""
    commune = current_user.commune
    address = external_url("public.new", slug=commune.slug) if commune.slug else external_url("public.new")
    return render("commander/poster.html", commune=commune, address=address,
                  qr=qr.drawing(address),
                  duty=communes.duty_phone(commune.id), back=url_for("auth.index"))


@bp.route("/settings", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def settings():
    """Set the on-duty number, how long verifiers have by urgency, and how long closed tips' content is kept."""
    current = CommuneSettings.of(current_user.commune_id)
    form = SettingsForm(obj=current) if request.method == "POST" else SettingsForm(formdata=None, obj=current)
    if form.validate_on_submit():
        hours = {u: getattr(form, communes.DUE_COLUMNS[u]).data for u in Urgency.ALL}
        if communes.save_settings(current_user.commune, by=current_user, duty_phone=form.duty_phone.data,
                                  due_hours=hours, retention_months=form.retention_months.data):
            db.session.commit()
            flash(_("Saved."))
        else:
            flash(_("Nothing was changed."))
        return redirect_to("commander.settings")
    status = 422 if form.errors else 200
    return render("commander/settings.html", form=form, settings=current, status=status,
                  report_form=ReportSettingsForm(formdata=None, obj=current))


@bp.post("/settings/two-step")
@allow(Role.COMMANDER)
def require_two_step():
    """Turn on or off: officers and the commander must use two-step login."""
    user = current_user._get_current_object()
    form = RequireTwoStepForm()
    on = bool(form.require.data)
    if on and not user.two_step_on:
        # The page offers the box only once the commander's own account has it: a stale or forged form.
        current = CommuneSettings.of(user.commune_id)
        return render("commander/settings.html", form=SettingsForm(formdata=None, obj=current), settings=current,
                      report_form=ReportSettingsForm(formdata=None, obj=current), two_step_error=_("Turn on two-step login for your own account first; then you can "
                                       "require it."), status=409)
    if twofactor.set_required(user.commune_id, on, by=user):
        db.session.commit()
        flash(_("Officers and the commander must now use two-step login.") if on
              else _("Two-step login is no longer required."))
    else:
        flash(_("Nothing was changed."))
    return redirect_to("commander.settings")


@bp.route("/deadlines", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def deadline_settings():
    """Set when late work is escalated: minutes an emergency may wait unread, hours a verifier has to accept."""
    current = CommuneSettings.of(current_user.commune_id)
    data = {"emergency_unread_minutes": deadlines.emergency_minutes(current_user.commune_id),
            "accept_hours": deadlines.accept_hours(current_user.commune_id)}
    form = DeadlineSettingsForm() if request.method == "POST" else DeadlineSettingsForm(formdata=None, data=data)
    if form.validate_on_submit():
        try:
            changed = deadlines.save_settings(current_user.commune_id, by=current_user,
                                              minutes=form.emergency_unread_minutes.data, hours=form.accept_hours.data)
        except deadlines.DeadlineError as exc:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        else:
            if changed:
                db.session.commit()
            flash(_("Saved.") if changed else _("Nothing was changed."))
            return redirect_to("commander.deadline_settings")
    return render("commander/deadlines.html", form=form, settings=current,
                  status=422 if form.errors else 200)


@bp.post("/settings/report")
@allow(Role.COMMANDER)
def report_settings():
    """Set the day the model started in the commune and when an open tip counts as old, for the report."""
    current = CommuneSettings.of(current_user.commune_id)
    form = ReportSettingsForm()
    if form.validate_on_submit():
        if communes.save_report_settings(current_user.commune, by=current_user, launched_on=form.launched_on.data,
                                         old_open_days=form.old_open_days.data):
            db.session.commit()
            flash(_("Saved."))
        else:
            flash(_("Nothing was changed."))
        return redirect_to("commander.settings")
    return render("commander/settings.html", form=SettingsForm(formdata=None, obj=current), settings=current,
                  report_form=form, status=422)
