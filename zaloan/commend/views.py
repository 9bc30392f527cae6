"""Commendation pages: who helped most (counted), proposals, a commander's decision, signed decisions, print.

Officers propose for the people of their area, the commander for anyone of the
commune; a commander who did not propose decides. Informants appear by alias;
a decision's printed list names them, each name an audited reveal
(zaloan.commendations). Observers get counts only.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import commendations as cm
from ..cases import CaseError, KeyReused
from ..extensions import db
from ..formkit import local_now, renew_key
from ..inputs import to_int
from ..models import (
    Commendation,
    CommendationDecision,
    CommendationKind,
    CommendationStatus,
    Informant,
    Role,
    Unit,
)
from ..permissions import (
    allow,
    can_see_commendation,
    can_see_decision,
    commendations_for,
    decisions_for,
    figures_for,
    get_or_404,
)
from ..secrecy import NotAllowed
from ..web import redirect_to, render
from . import bp
from .forms import DecideForm, DecisionForm, ProposeForm

PROPOSERS = (Role.OFFICER, Role.COMMANDER)


@bp.app_template_filter("wait_time")
def wait_time(seconds) -> str:
    """Show an average wait in hours and minutes ("3 giờ 5 phút"), or a dash when there was none."""
    if seconds is None:
        return "—"
    minutes = max(0, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return _("%(days)s days %(hours)s h", days=hours // 24, hours=hours % 24)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


def tip_label(tip) -> str:
    category = f"{tip.category.emoji} {tip.category.name}".strip() if tip.category else _("No category yet")
    return f"{tip.code} · {category} · {cm.Period.local_day(tip.created_at)}"


# --- Lists ---------------------------------------------------------------------------------------


@bp.get("/")
@allow(*PROPOSERS)
def index():
    """List the proposals the current user may see: waiting first, then decided."""
    rows = list(db.session.scalars(select(Commendation).where(commendations_for(current_user))
                                   .options(*cm.LIST_LOAD).order_by(Commendation.id.desc())))
    groups = {s: [c for c in rows if c.status == s] for s in CommendationStatus.ALL}
    return render("commend/index.html", groups=groups)


@bp.get("/candidates")
@allow(*PROPOSERS)
def candidates():
    """Show everyone the current user may propose, with what they did in the chosen period."""
    period, problem = cm.Period.parse(request.args.get("start"), request.args.get("end"))
    return render("commend/candidates.html", period=period, problem=problem,
                  groups=cm.candidates(current_user, period), status=422 if problem else 200)


# --- Proposing -----------------------------------------------------------------------------------


def proposal_form(kind: str, candidate, period: cm.Period) -> tuple[ProposeForm, list]:
    form = ProposeForm()
    tips = cm.tips_to_name(current_user, kind, candidate, period)
    form.tip_ids.choices = [(str(t.id), tip_label(t)) for t in tips]
    if request.method == "GET":
        form.kind.data, form.candidate.data = kind, str(candidate.id) if candidate is not None else ""
        form.start.data, form.end.data = period.start.isoformat(), period.end.isoformat()
    return form, tips


@bp.route("/propose", methods=["GET", "POST"])
@allow(*PROPOSERS)
def propose():
    """Propose a commendation for one candidate of the current user's scope (404 for anyone else's)."""
    kind = request.values.get("kind", "")
    if request.method == "GET" and not kind:
        return redirect(url_for("commend.candidates"), 303)
    if kind not in CommendationKind.ALL:
        abort(404)
    candidate = cm.find_candidate(current_user, kind, to_int(request.values.get("candidate")))
    if kind != CommendationKind.COLLECTIVE and candidate is None:
        abort(404)
    period, problem = cm.Period.parse(request.values.get("start"), request.values.get("end"))
    form, tips = proposal_form(kind, candidate, period)

    def again(status=422, error=None):
        return render("commend/propose.html", form=form, kind=kind, candidate=candidate, period=period,
                      contribution=cm.contribution_of(current_user, kind, candidate, period), error=error,
                      suggestions=[str(s) for s in cm.REWARD_SUGGESTIONS], status=status)

    if request.method == "GET":
        return again(200, problem)
    if problem:
        return again(error=problem)
    ok = form.validate_on_submit()
    if kind == CommendationKind.COLLECTIVE and not form.collective_name.data:
        form.collective_name.errors.append(_("Please write the name of the collective."))
        ok = False
    chosen = set(form.tip_ids.data or [])
    if len(chosen) > cm.MAX_TIPS:
        form.tip_ids.errors.append(_("At most %(n)s tips.", n=cm.MAX_TIPS))
        ok = False
    if not ok:
        return again()
    try:
        c, _created = cm.propose(current_user, kind=kind, candidate=candidate,
                                 collective_name=form.collective_name.data or "", reason=form.reason.data,
                                 reward=form.reward.data, period=period,
                                 tips=[t for t in tips if str(t.id) in chosen], client_key=form.client_key.data)
    except KeyReused as exc:
        db.session.rollback()
        renew_key(form, exc)
        return again(409, exc.message)
    db.session.commit()
    flash(_("The proposal is saved. A commander will approve or decline it."))
    return redirect_to("commend.show", commendation_id=c.id)


# --- One proposal and its decision ---------------------------------------------------------------


def show_commendation(c: Commendation, form: DecideForm | None = None, error: str | None = None, status=200):
    period = cm.Period(c.period_start, c.period_end)
    kind_candidate = {CommendationKind.INFORMANT: c.informant_id, CommendationKind.VERIFIER: c.verifier_id,
                      CommendationKind.VILLAGE_GROUP: c.village_id}.get(c.kind)
    candidate = cm.find_candidate(current_user, c.kind, kind_candidate)
    contribution = cm.contribution_of(current_user, c.kind, candidate, period) if candidate is not None else None
    own = c.proposed_by_id == current_user.id
    return render("commend/show.html", c=c, form=form or DecideForm(formdata=None), error=error, status=status,
                  contribution=contribution, period=period, own=own,
                  alone=own and c.status == CommendationStatus.PROPOSED and cm.only_commander(current_user))


@bp.get("/<int:commendation_id>")
@allow(*PROPOSERS)
def show(commendation_id: int):
    """Show a proposal: who, for what, the tips, the contribution; the commander's decision form."""
    return show_commendation(get_or_404(Commendation, commendation_id, can_see_commendation, options=cm.LIST_LOAD))


@bp.post("/<int:commendation_id>/decide")
@allow(Role.COMMANDER)
def decide(commendation_id: int):
    """Approve or decline a proposal, with a note; never one's own proposal."""
    c = get_or_404(Commendation, commendation_id, can_see_commendation)
    form = DecideForm()
    if not form.validate_on_submit():
        return show_commendation(c, form, status=422)
    try:
        cm.decide(current_user, c, approve=form.verdict.data == "approve", note=form.note.data or "")
    except CaseError as exc:
        db.session.rollback()
        if exc.field == "note":
            form.note.errors.append(exc.message)
            return show_commendation(c, form, status=exc.status)
        return show_commendation(c, form, error=exc.message, status=exc.status)
    db.session.commit()
    flash(_("Approved.") if c.status == CommendationStatus.APPROVED else _("Declined."))
    return redirect_to("commend.show", commendation_id=c.id)


# --- Decisions -----------------------------------------------------------------------------------


@bp.get("/decisions")
@allow(Role.COMMANDER)
def decisions():
    """List the commune's commendation decisions; say how many approved ones wait for one."""
    rows = list(db.session.scalars(select(CommendationDecision).where(decisions_for(current_user))
                                   .order_by(CommendationDecision.signed_on.desc(), CommendationDecision.id.desc())))
    return render("commend/decisions.html", decisions=rows, waiting=len(cm.undecided_approved(current_user)))


@bp.route("/decisions/new", methods=["GET", "POST"])
@allow(Role.COMMANDER)
def new_decision():
    """Make a decision (number, date, signer) grouping approved commendations."""
    waiting = cm.undecided_approved(current_user)
    form = DecisionForm()
    # A retried send finds its commendations in the decision it made the first time: offer them again,
    # so the retry answers with that decision rather than "not offered".
    offered = waiting + cm.sent_before(current_user, request.form.get("client_key"))
    form.commendation_ids.choices = [(str(c.id), commendation_line(c)) for c in offered]
    if request.method == "GET":
        form.signer.data = current_user.full_name
        form.signed_on.data = local_now().date()
        form.commendation_ids.data = [str(c.id) for c in waiting]
        return render("commend/decision_new.html", form=form, waiting=waiting)
    error = None
    if form.validate_on_submit():
        chosen = [c for c in offered if str(c.id) in set(form.commendation_ids.data)]
        try:
            d, _created = cm.create_decision(current_user, number=form.number.data, signed_on=form.signed_on.data,
                                             signer=form.signer.data, commendations=chosen,
                                             client_key=form.client_key.data)
        except KeyReused as exc:
            db.session.rollback()
            renew_key(form, exc)
            error = exc.message
        except CaseError as exc:
            db.session.rollback()
            getattr(form, exc.field or "number").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("The decision is saved."))
            return redirect_to("commend.decision", decision_id=d.id)
    return render("commend/decision_new.html", form=form, waiting=waiting, error=error, status=422)


def commendation_line(c: Commendation) -> str:
    """One line for a commendation in a choice: who (an informant by alias), the reward."""
    return f"{candidate_name(c)} · {c.reward}"


def candidate_name(c: Commendation, identities: dict | None = None) -> str:
    if c.kind == CommendationKind.INFORMANT:
        found = (identities or {}).get(c.informant_id)
        return found.name if found else (c.informant.alias if c.informant else "NT-?")
    if c.kind == CommendationKind.VERIFIER:
        return c.verifier.full_name if c.verifier else "—"
    if c.kind == CommendationKind.VILLAGE_GROUP:
        return _("Verification group of %(village)s", village=c.village.name if c.village else "—")
    return c.collective_name


bp.app_template_global("commended_name")(candidate_name)


def load_decision(decision_id) -> CommendationDecision:
    """Load a decision the commander may see, with what its list shows, in a fixed number of queries."""
    inside = selectinload(CommendationDecision.commendations)
    return get_or_404(CommendationDecision, decision_id, can_see_decision,
                      options=(inside.selectinload(Commendation.informant).selectinload(Informant.user),
                               inside.selectinload(Commendation.verifier), inside.selectinload(Commendation.village)))


@bp.get("/decisions/<int:decision_id>")
@allow(Role.COMMANDER)
def decision(decision_id: int):
    """Show a decision's list with informants by alias; names only on the printed list, each view audited."""
    d = load_decision(decision_id)
    return render("commend/decision.html", d=d, identities=None)


@bp.post("/decisions/<int:decision_id>/print")
@allow(Role.COMMANDER)
def print_decision(decision_id: int):
    """Show the decision's A4 list to print, informants by name; each name is an audited reveal."""
    d = load_decision(decision_id)
    try:
        identities = cm.reveal_for_print(current_user, d)
    except NotAllowed:
        abort(404)
    db.session.commit()
    return render("commend/print.html", d=d, identities=identities)


@bp.get("/decisions/<int:decision_id>/print")
@allow(Role.COMMANDER)
def print_again(decision_id: int):
    """After a reload of the printed list: back to the decision (each print with names needs its own press)."""
    return redirect(url_for("commend.decision", decision_id=load_decision(decision_id).id), 303)


# --- Observers: counts only ---------------------------------------------------------------------


@bp.get("/figures")
@allow(Role.OBSERVER)
def figures():
    """Show how many commendations were proposed, approved and declined, by kind: counts, never a name."""
    ids = list(db.session.scalars(select(Unit.id).where(figures_for(current_user))))
    return render("commend/figures.html", counts=cm.figures(ids))


@bp.context_processor
def words():
    """The commendation pages' words for kinds and states."""
    return {"labels_status": cm.STATUS_LABELS, "labels_kind": cm.KIND_LABELS, "labels_kind_plural": cm.KIND_PLURALS}
