"""Commendations of the yearly review (khen thưởng): contributions, proposals, decisions, printed lists.

The seed asks the commune to commend the people and groups who helped most.
An officer proposes for someone of their own area (the commander for anyone
of the commune); a commander who did not propose it approves or declines;
approved ones are grouped into a signed decision with a printable list.

Secrecy: an informant is named by alias in every proposal, list and audit
row. Their real name appears only on a decision's printed list, after
approval, each time as an audited identity reveal whose reason is the
decision itself (zaloan.secrecy). Each change writes its audit row with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, exists, extract, func, select
from sqlalchemy.orm import aliased, selectinload

from . import audit, secrecy
from .cases import CaseError, _once, content_hash
from .extensions import db
from .formkit import LOCAL, to_utc
from .inputs import MAX_YEAR, MIN_YEAR
from .models import (
    Commendation,
    CommendationDecision,
    CommendationKind,
    CommendationStatus,
    Finding,
    Informant,
    Message,
    Outcome,
    Role,
    TaskAssignment,
    Tip,
    Unit,
    User,
    VerificationTask,
    utcnow,
)
from .permissions import (
    can_decide_commendation,
    can_see_decision,
    informants_for,
    people_for,
    tips_for,
    villages_for,
)

# A verification "confirms" a tip when it found what was reported, wholly or in part.
CONFIRMING = (Finding.CONFIRMED, Finding.PARTLY)
# A tip "leads to an outcome" when the police acted on it (not: nothing wrong, duplicate, false).
ACTED = (Outcome.COMMUNE_POLICE, Outcome.HIGHER_POLICE, Outcome.MEDIATED, Outcome.SANCTION)

REWARD_SUGGESTIONS = (_l("Certificate of merit"), _l("Letter of commendation"), _l("Cash reward"),
                      _l("Certificate of merit and cash reward"))

KIND_LABELS = {
    CommendationKind.INFORMANT: _l("An informant"),
    CommendationKind.VERIFIER: _l("A verifier"),
    CommendationKind.VILLAGE_GROUP: _l("A village's verification group"),
    CommendationKind.COLLECTIVE: _l("A collective"),
}
KIND_PLURALS = {
    CommendationKind.INFORMANT: _l("Informants"),
    CommendationKind.VERIFIER: _l("Verifiers"),
    CommendationKind.VILLAGE_GROUP: _l("Villages' verification groups"),
    CommendationKind.COLLECTIVE: _l("Collectives"),
}
STATUS_LABELS = {
    CommendationStatus.PROPOSED: _l("Waiting for approval"),
    CommendationStatus.APPROVED: _l("Approved"),
    CommendationStatus.DECLINED: _l("Declined"),
}
MAX_TIPS = 50  # tips named on one proposal


# --- The period looked at -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local dates, both included (the review's year by default)."""

    start: date
    end: date

    @classmethod
    def default(cls) -> Period:
        today = datetime.now(LOCAL).date()
        return cls(today - timedelta(days=364), today)

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> tuple[Period, str | None]:
        """Return the period two ISO dates name, or the default with a message saying why it was not used."""
        if not start and not end:
            return cls.default(), None
        try:
            a, b = date.fromisoformat(start or ""), date.fromisoformat(end or "")
        except ValueError:
            return cls.default(), _("Please choose the dates again (day/month/year).")
        if not (MIN_YEAR <= a.year <= MAX_YEAR and MIN_YEAR <= b.year <= MAX_YEAR):
            return cls.default(), _("This date is not possible. Please check the year.")
        if a > b:
            return cls.default(), _("The first day must come before the last day.")
        return cls(a, b), None

    @property
    def since(self) -> datetime:
        return to_utc(datetime.combine(self.start, time()))

    @property
    def until(self) -> datetime:
        return to_utc(datetime.combine(self.end + timedelta(days=1), time()))

    @staticmethod
    def local_day(value: datetime) -> str:
        """Return the local day of a stored UTC time, as 28/11/2026."""
        return value.replace(tzinfo=timezone.utc).astimezone(LOCAL).strftime("%d/%m/%Y")

    def holds(self, column):
        return and_(column >= self.since, column < self.until)


# --- Contributions, counted in SQL ----------------------------------------------------------------


@dataclass
class Contribution:
    """What a candidate did in the period.

    work: tips sent (an informant) or verification tasks given (a verifier, a village's group);
    confirmed: tips a verification confirmed, wholly or in part; outcomes: tips the police acted on;
    answered: the officer's questions the informant answered, or the reports a verifier sent;
    avg_seconds: the average time to answer a question, or to report on a task.
    """

    work: int = 0
    confirmed: int = 0
    outcomes: int = 0
    answered: int = 0
    avg_seconds: float | None = None


def seconds_between(a, b):
    """SQL: the seconds from time `a` to time `b` (NULL when either is NULL), on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(b) - func.julianday(a)) * 86400.0
    return extract("epoch", b - a)


def _avg(value) -> float | None:
    return float(value) if value is not None else None


def informant_contributions(actor: User, period: Period) -> dict[int, Contribution]:
    """Return {informant id: contribution} for the informants `actor` may propose, from their tips of the period."""
    ids = select(Informant.id).where(informants_for(actor))
    mine = and_(Tip.commune_id == actor.commune_id, Tip.informant_id.in_(ids), period.holds(Tip.created_at))
    confirmed = exists().where(VerificationTask.tip_id == Tip.id, TaskAssignment.task_id == VerificationTask.id,
                               TaskAssignment.finding.in_(CONFIRMING))
    out: dict[int, Contribution] = {}
    rows = db.session.execute(
        select(Tip.informant_id, func.count(Tip.id), func.sum(case((confirmed, 1), else_=0)),
               func.sum(case((Tip.outcome.in_(ACTED), 1), else_=0)))
        .where(mine).group_by(Tip.informant_id))
    for informant_id, n, conf, acted in rows:
        out[informant_id] = Contribution(work=n, confirmed=conf or 0, outcomes=acted or 0)
    # A question is answered when the informant wrote in the thread after it; the wait is to their first reply.
    question, reply = aliased(Message), aliased(Message)
    first_reply = (select(func.min(reply.created_at))
                   .where(reply.tip_id == question.tip_id, reply.from_police.is_(False),
                          reply.created_at > question.created_at)
                   .scalar_subquery())
    asked = (select(Tip.informant_id.label("informant_id"), question.created_at.label("asked"),
                    first_reply.label("replied"))
             .join(Tip, Tip.id == question.tip_id).where(question.from_police.is_(True), mine).subquery())
    rows = db.session.execute(
        select(asked.c.informant_id, func.count(asked.c.replied),
               func.avg(seconds_between(asked.c.asked, asked.c.replied)))
        .group_by(asked.c.informant_id))
    for informant_id, answered, wait in rows:
        c = out.setdefault(informant_id, Contribution())
        c.answered, c.avg_seconds = answered or 0, _avg(wait)
    return out


def _task_figures(group, scope, period: Period) -> dict[int, Contribution]:
    """Return {group value: contribution} over verification tasks of the period, grouped by `group`."""
    reported = TaskAssignment.reported_at.is_not(None)
    rows = db.session.execute(
        select(group, func.count(distinct(TaskAssignment.task_id)), func.count(TaskAssignment.reported_at),
               func.count(distinct(case((TaskAssignment.finding.in_(CONFIRMING), VerificationTask.tip_id)))),
               func.count(distinct(case((and_(reported, Tip.outcome.in_(ACTED)), Tip.id)))),
               func.avg(seconds_between(VerificationTask.created_at, TaskAssignment.reported_at)))
        .select_from(TaskAssignment)
        .join(VerificationTask, VerificationTask.id == TaskAssignment.task_id)
        .join(Tip, Tip.id == VerificationTask.tip_id)
        .where(scope, period.holds(VerificationTask.created_at))
        .group_by(group))
    return {key: Contribution(work=n, answered=rep, confirmed=conf, outcomes=acted, avg_seconds=_avg(wait))
            for key, n, rep, conf, acted, wait in rows}


def verifier_contributions(actor: User, period: Period) -> dict[int, Contribution]:
    """Return {verifier's account id: contribution} for the verifiers `actor` may propose."""
    ids = select(User.id).where(people_for(actor), User.role == Role.VERIFIER)
    return _task_figures(TaskAssignment.verifier_id, TaskAssignment.verifier_id.in_(ids), period)


def village_contributions(actor: User, period: Period) -> dict[int, Contribution]:
    """Return {village id: contribution} of the verification group of each village `actor` may propose."""
    ids = select(Unit.id).where(villages_for(actor))
    return _task_figures(VerificationTask.village_id, VerificationTask.village_id.in_(ids), period)


@dataclass
class Candidate:
    kind: str
    id: int | None
    label: str
    contribution: Contribution | None


def candidates(actor: User, period: Period) -> dict[str, list[Candidate]]:
    """Return everyone `actor` may propose, by kind, with their contribution; most work first."""
    inf = informant_contributions(actor, period)
    ver = verifier_contributions(actor, period)
    vil = village_contributions(actor, period)
    informants = db.session.scalars(select(Informant).where(informants_for(actor)).order_by(Informant.alias))
    verifiers = db.session.scalars(select(User).where(people_for(actor), User.role == Role.VERIFIER,
                                                      User.active.is_(True)).order_by(User.full_name))
    villages = db.session.scalars(select(Unit).where(villages_for(actor)).order_by(Unit.name))

    def ranked(items):
        return sorted(items, key=lambda c: -(c.contribution.work if c.contribution else 0))

    return {
        CommendationKind.INFORMANT: ranked(Candidate(CommendationKind.INFORMANT, i.id, i.alias,
                                                     inf.get(i.id, Contribution())) for i in informants),
        CommendationKind.VERIFIER: ranked(Candidate(CommendationKind.VERIFIER, u.id, u.full_name,
                                                    ver.get(u.id, Contribution())) for u in verifiers),
        CommendationKind.VILLAGE_GROUP: ranked(Candidate(CommendationKind.VILLAGE_GROUP, v.id, v.name,
                                                         vil.get(v.id, Contribution())) for v in villages),
    }


def find_candidate(actor: User, kind: str, ident: int | None):
    """Return the informant, verifier or village `actor` may propose, or None (a collective has none)."""
    if ident is None:
        return None
    if kind == CommendationKind.INFORMANT:
        return db.session.scalar(select(Informant).where(informants_for(actor), Informant.id == ident))
    if kind == CommendationKind.VERIFIER:
        return db.session.scalar(select(User).where(people_for(actor), User.role == Role.VERIFIER,
                                                    User.id == ident))
    if kind == CommendationKind.VILLAGE_GROUP:
        return db.session.scalar(select(Unit).where(villages_for(actor), Unit.id == ident))
    return None


def contribution_of(actor: User, kind: str, candidate, period: Period) -> Contribution | None:
    if kind == CommendationKind.INFORMANT:
        return informant_contributions(actor, period).get(candidate.id, Contribution())
    if kind == CommendationKind.VERIFIER:
        return verifier_contributions(actor, period).get(candidate.id, Contribution())
    if kind == CommendationKind.VILLAGE_GROUP:
        return village_contributions(actor, period).get(candidate.id, Contribution())
    return None


def tips_to_name(actor: User, kind: str, candidate, period: Period) -> list[Tip]:
    """Return the tips of the period a proposal may name: in `actor`'s scope, and the candidate's own work."""
    q = select(Tip).where(tips_for(actor), period.holds(Tip.created_at))
    if kind == CommendationKind.INFORMANT:
        q = q.where(Tip.informant_id == candidate.id)
    elif kind == CommendationKind.VERIFIER:
        q = q.where(Tip.id.in_(select(VerificationTask.tip_id).join(TaskAssignment)
                               .where(TaskAssignment.verifier_id == candidate.id)))
    elif kind == CommendationKind.VILLAGE_GROUP:
        q = q.where(Tip.id.in_(select(VerificationTask.tip_id).where(VerificationTask.village_id == candidate.id)))
    return list(db.session.scalars(q.options(selectinload(Tip.category)).order_by(Tip.created_at.desc())
                                   .limit(200)))


# --- Proposing, deciding, grouping into decisions -------------------------------------------------


def propose(actor: User, *, kind: str, candidate, collective_name: str, reason: str, reward: str,
            period: Period, tips: list[Tip], client_key: str | None) -> tuple[Commendation, bool]:
    """Record a proposal (once per form key); return (proposal, created). The caller commits."""
    digest = content_hash(kind=kind, candidate=getattr(candidate, "id", None), name=collective_name,
                          reason=reason, reward=reward, start=period.start, end=period.end,
                          tips=sorted(t.id for t in tips))

    def create():
        c = Commendation(commune_id=actor.commune_id, kind=kind, reason=reason, reward=reward,
                         collective_name=collective_name if kind == CommendationKind.COLLECTIVE else "",
                         period_start=period.start, period_end=period.end, status=CommendationStatus.PROPOSED,
                         proposed_by_id=actor.id, proposed_at=utcnow(), client_key=client_key, content_hash=digest)
        if kind == CommendationKind.INFORMANT:
            c.informant_id = candidate.id
        elif kind == CommendationKind.VERIFIER:
            c.verifier_id = candidate.id
        elif kind == CommendationKind.VILLAGE_GROUP:
            c.village_id = candidate.id
        c.tips = list(tips)
        db.session.add(c)
        db.session.flush()
        audit.record("commendation.propose", actor=actor, target=c, **audit_facts(c))
        return c

    return _once(Commendation, client_key, digest, create)


def audit_facts(c: Commendation) -> dict:
    """What an audit row says of a commendation: its candidate by id (an informant by alias), its reward."""
    return {"kind": c.kind, "alias": c.informant.alias if c.informant_id else None,
            "verifier": c.verifier_id, "village": c.village_id, "name": c.collective_name or None,
            "reward": c.reward}


def only_commander(actor: User) -> bool:
    """Is `actor` the only active commander of their commune (so nobody can decide on their own proposals)?"""
    others = db.session.scalar(select(func.count(User.id)).where(
        User.commune_id == actor.commune_id, User.role == Role.COMMANDER, User.active.is_(True),
        User.id != actor.id))
    return not others


def decide(actor: User, commendation: Commendation, *, approve: bool, note: str) -> bool:
    """Approve or decline a proposal: a commander who did not make it, once; return whether it changed.

    The same decision sent again by the same commander changes nothing and is no error. The caller commits.
    """
    audit.lock_writers(actor.commune_id)
    db.session.refresh(commendation)
    if commendation.proposed_by_id == actor.id:
        raise CaseError(_("You made this proposal: another commander must approve or decline it."), status=403)
    wanted = CommendationStatus.APPROVED if approve else CommendationStatus.DECLINED
    if commendation.status == wanted and commendation.decided_by_id == actor.id:
        return False  # the same press again (a double tap, a retry after a lost answer): nothing more to do
    if commendation.status != CommendationStatus.PROPOSED:
        raise CaseError(_("This proposal has already been decided."))
    if not can_decide_commendation(actor, commendation):
        raise CaseError(_("You may not decide on this proposal."), status=403)
    if not approve and not note:
        raise CaseError(_("Please say in a few words why it is declined."), status=422, field="note")
    commendation.status = wanted
    commendation.decided_by_id, commendation.decided_at, commendation.decision_note = actor.id, utcnow(), note
    audit.record("commendation.approve" if approve else "commendation.decline", actor=actor, target=commendation,
                 note=note[:500] or None, **audit_facts(commendation))
    return True


def undecided_approved(actor: User) -> list[Commendation]:
    """Return the approved commendations of the commune that no decision holds yet."""
    return list(db.session.scalars(
        select(Commendation).where(Commendation.commune_id == actor.commune_id,
                                   Commendation.status == CommendationStatus.APPROVED,
                                   Commendation.decision_id.is_(None))
        .options(*LIST_LOAD).order_by(Commendation.id)))


def sent_before(actor: User, client_key: str | None) -> list[Commendation]:
    """Return the commendations of the decision this form key already made in `actor`'s commune (a retry)."""
    if not client_key or actor.role != Role.COMMANDER:
        return []
    found = db.session.scalar(select(CommendationDecision).where(
        CommendationDecision.client_key == client_key, CommendationDecision.commune_id == actor.commune_id))
    return list(found.commendations) if found else []


def create_decision(actor: User, *, number: str, signed_on: date, signer: str, commendations: list[Commendation],
                    client_key: str | None) -> tuple[CommendationDecision, bool]:
    """Group approved commendations into a signed decision (once per form key). The caller commits."""
    digest = content_hash(number=number, signed_on=signed_on, signer=signer,
                          ids=sorted(c.id for c in commendations))

    def create():
        audit.lock_writers(actor.commune_id)
        if db.session.scalar(select(CommendationDecision.id).where(
                CommendationDecision.commune_id == actor.commune_id, CommendationDecision.number == number)):
            raise CaseError(_("A decision with this number already exists."), status=422, field="number")
        for c in commendations:
            db.session.refresh(c)
            if c.status != CommendationStatus.APPROVED or c.decision_id is not None \
                    or c.commune_id != actor.commune_id:
                raise CaseError(_("Only approved commendations not yet in a decision can be chosen."),
                                status=422, field="commendation_ids")
        d = CommendationDecision(commune_id=actor.commune_id, number=number, signed_on=signed_on, signer=signer,
                                 created_by_id=actor.id, created_at=utcnow(), client_key=client_key,
                                 content_hash=digest)
        db.session.add(d)
        db.session.flush()
        for c in commendations:
            c.decision_id = d.id
        audit.record("commendation.decision", actor=actor, target=d, number=number,
                     commendations=[c.id for c in commendations])
        return d

    return _once(CommendationDecision, client_key, digest, create)


def decision_reason(decision: CommendationDecision) -> str:
    """The reason an informant's name is shown on a decision's printed list: the decision itself."""
    return _("Commendation decision no. %(number)s of %(date)s", number=decision.number,
             date=decision.signed_on.strftime("%d/%m/%Y"))


def reveal_for_print(actor: User, decision: CommendationDecision) -> dict[int, secrecy.Identity]:
    """Return {informant id: identity} of the approved informants of a decision; each reveal is audited."""
    if not can_see_decision(actor, decision):
        raise secrecy.NotAllowed()
    reason = decision_reason(decision)
    out = {}
    for c in decision.commendations:
        if c.kind == CommendationKind.INFORMANT and c.status == CommendationStatus.APPROVED and c.informant:
            out[c.informant_id] = secrecy.reveal_identity(actor, c.informant, reason, decision=decision.id)
    return out


LIST_LOAD = (selectinload(Commendation.informant), selectinload(Commendation.verifier),
             selectinload(Commendation.village), selectinload(Commendation.proposed_by),
             selectinload(Commendation.decided_by), selectinload(Commendation.decision))


def recognitions_of(user: User) -> list[Commendation]:
    """Return an informant's own approved commendations (for their home page; nobody else's)."""
    if user is None or user.role != Role.INFORMANT:
        return []
    mine = select(Informant.id).where(Informant.user_id == user.id)
    return list(db.session.scalars(
        select(Commendation).where(Commendation.informant_id.in_(mine),
                                   Commendation.status == CommendationStatus.APPROVED)
        .options(selectinload(Commendation.decision)).order_by(Commendation.decided_at.desc())))


def figures(commune_ids) -> dict[str, dict[str, int]]:
    """Return {status: {kind: count}} over the communes: counts only (an observer's view)."""
    out: dict[str, dict[str, int]] = {s: {k: 0 for k in CommendationKind.ALL} for s in CommendationStatus.ALL}
    rows = db.session.execute(select(Commendation.status, Commendation.kind, func.count(Commendation.id))
                              .where(Commendation.commune_id.in_(commune_ids))
                              .group_by(Commendation.status, Commendation.kind))
    for status, kind, n in rows:
        if status in out and kind in out[status]:
            out[status][kind] = n
    return out
