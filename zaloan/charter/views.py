"""The operating rules: read and agree (informants, verifiers, officers); write, history, who agreed (the commander)."""
from __future__ import annotations

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import cases, rules
from ..extensions import db
from ..formkit import renew_key
from ..inputs import to_int
from ..models import Role, RulesVersion
from ..permissions import MEMBER_ROLES, allow, get_or_404
from ..web import redirect_to, render
from . import bp
from .forms import AckForm, RulesForm


def own_commune(actor, version: RulesVersion) -> bool:
    return actor is not None and version is not None and version.commune_id == actor.commune_id


@bp.get("/")
@allow(*MEMBER_ROLES, Role.COMMANDER)
def show():
    """Show the rules in force; a member who has not agreed yet is asked to."""
    version = rules.current(current_user.commune_id)
    mine = rules.acked(version, current_user) if version is not None else None
    return render("charter/show.html", version=version, blocks=rules.blocks(version.body) if version else [],
                  mine=mine, form=AckForm(formdata=None, version_id=version.id if version else ""))


@bp.post("/ack")
@allow(*MEMBER_ROLES)
def ack():
    """Agree to the rules in force ("Tôi đã đọc và đồng ý"); a newer version than the one read asks again."""
    version = rules.current(current_user.commune_id)
    form = AckForm()
    if version is None or to_int(form.version_id.data) != version.id:
        # The page read was of an older version (or none): never agree to a text not shown.
        return render("charter/show.html", version=version, blocks=rules.blocks(version.body) if version else [],
                      mine=None, form=AckForm(formdata=None, version_id=version.id if version else ""),
                      error=_("The rules changed since this page was opened. Please read this version."),
                      status=409)
    if rules.acknowledge(version, current_user):
        db.session.commit()
        flash(_("Thank you. You have agreed to the operating rules."))
    return redirect_to("charter.show")


@bp.route("/edit", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def edit():
    """Write a new version of the rules; every member is asked to read it again."""
    version = rules.current(current_user.commune_id)
    form = RulesForm()
    if request.method == "GET" and version is not None:
        form.body.data = version.body
    if form.validate_on_submit():
        try:
            rules.publish(current_user.commune_id, by=current_user, body=form.body.data, note=form.note.data,
                          client_key=form.client_key.data)
        except cases.CaseError as exc:
            db.session.rollback()
            renew_key(form, exc)
            form.body.errors = list(form.body.errors) + [exc.message]
        else:
            db.session.commit()
            flash(_("The new version is in force. Every member will be asked to read it."))
            return redirect_to("charter.show")
    return render("charter/edit.html", form=form, version=version, status=422 if form.errors else 200)


@bp.get("/history")
@allow(Role.COMMANDER)
def history():
    """List every version: its number, who published it, when, and what changed in their words."""
    versions = rules.history(current_user.commune_id)
    return render("charter/history.html", versions=versions)


@bp.get("/versions/<int:version_id>")
@allow(Role.COMMANDER)
def version(version_id: int):
    """Show one version and, line by line, what it changed from the one before."""
    v = get_or_404(RulesVersion, version_id, own_commune)
    before = rules.previous(v)
    return render("charter/version.html", version=v, before=before,
                  diff=rules.compact(rules.line_diff(before.body, v.body)) if before else
                  [(" ", line) for line in v.body.split("\n")])


@bp.get("/acks")
@allow(Role.COMMANDER)
def acks():
    """Who has agreed to the rules in force: counts; officers and verifiers by name, informants by alias."""
    version = rules.current(current_user.commune_id)
    if version is None:
        abort(404)
    return render("charter/acks.html", version=version, who=rules.acknowledgements(version))


@bp.app_template_global()
def rules_due(user):
    """The version a member still has to agree to (the reminder on every page but the tip form), or None."""
    if request.endpoint in NO_REMINDER:
        return None
    return rules.due(user)


# The tip form stays as it is: nothing stands between a member and a tip. The rules' own pages need no reminder.
NO_REMINDER = {"informant.new_tip", "charter.show", "charter.ack"}


# Asked on the home page (the first view after a new version): informants and verifiers. An officer's home
# is the queue of tips, which nothing stands in front of: the reminder on every page asks them.
ASKED_AT_HOME = (Role.INFORMANT, Role.VERIFIER)


@bp.before_app_request
def ask_after_a_new_version():
    """Open the rules once, instead of the home page, for a member who agreed to an earlier version.

    Asked once per version (the session remembers it); after that the reminder
    stays on every page until they agree. A new member, who has agreed to no
    version yet, gets the reminder only. The tip form is never in the way.
    """
    from flask import session

    from .. import roles

    if request.method != "GET" or not getattr(current_user, "is_authenticated", False) \
            or current_user.role not in ASKED_AT_HOME or request.endpoint != roles.REGISTRY[current_user.role].home:
        return None
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return None
    version = rules.due(current_user)
    if version is None or session.get("rules_asked") == version.id or not rules.agreed_before(version,
                                                                                              current_user):
        return None
    session["rules_asked"] = version.id
    return redirect_to("charter.show")
