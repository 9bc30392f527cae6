"""The yearly review document (báo cáo sơ kết) of a commune: figures from the report, judgement by the commander.

Section I (results) is read from `reports.figures` and the commune's counts, never
stored and never recomputed here. Sections II (strengths, shortcomings, causes)
and III (directions) are written by the commander and saved as versions: every
save is a new row with who saved it and when; the newest is the one shown.
No tip text, code or identity goes into the document: informants of a
commendation are named by alias only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from . import audit, surveys
from .cases import CaseError, _once, content_hash
from .commendations import KIND_LABELS
from .extensions import db
from .models import (
    Commendation,
    CommendationKind,
    CommendationStatus,
    ReviewDraft,
    Unit,
    User,
    VillageSurvey,
    utcnow,
)
from .reports import Period, Report, build_report, commune_summary

# The judgement sections, in the document's order: (field, heading).
SECTIONS = ("strengths", "weaknesses", "causes", "directions")
MAX_TEXT = 8000  # one section: a few pages of the printed review


def section_heading(name: str) -> str:
    return {"strengths": _("Strengths"), "weaknesses": _("Shortcomings"), "causes": _("Causes"),
            "directions": _("III. Directions for the next period")}[name]


@dataclass
class Review:
    """Everything the review document shows for one commune and period."""

    report: Report
    commune: Unit
    figures: object  # reports.Figures of the commune for the period
    members: dict  # {role: count of active accounts}
    commended: list  # [(kind label, who: alias, village or collective name, reward)]
    baseline: list  # [(village name, survey incidents, tips in the period)]
    survey_period: str | None
    draft: ReviewDraft | None
    history: list = field(default_factory=list)
    earlier: ReviewDraft | None = None  # the newest draft of another period, to start from when this one has none

    @property
    def period(self) -> Period:
        return self.report.period


def commended_in(commune: Unit, period: Period) -> list[tuple[str, str, str]]:
    """Return the commendations approved in the period: kind, alias/village/collective (never a name), reward."""
    first, after = period.bounds()
    rows = db.session.scalars(
        select(Commendation).where(Commendation.commune_id == commune.id,
                                   Commendation.status == CommendationStatus.APPROVED,
                                   Commendation.decided_at >= first, Commendation.decided_at < after)
        .options(selectinload(Commendation.informant), selectinload(Commendation.village))
        .order_by(Commendation.decided_at, Commendation.id))
    out = []
    for c in rows:
        if c.kind == CommendationKind.INFORMANT:
            who = c.informant.alias if c.informant else ""
        elif c.kind == CommendationKind.VILLAGE_GROUP:
            who = c.village.name if c.village else ""
        elif c.kind == CommendationKind.COLLECTIVE:
            who = c.collective_name
        else:  # a verifier: counted, not named, in a document that leaves the police station
            who = ""
        out.append((str(KIND_LABELS.get(c.kind, c.kind)), who, c.reward))
    return out


def baseline(commune: Unit, period: Period, fig) -> tuple[list, str | None]:
    """Return the villages' survey incidents beside the period's tips, from the newest survey of the period's year.

    A village without a survey of that year is left out; no survey at all gives an empty table.
    """
    year = period.end.year
    rows = list(db.session.scalars(
        select(VillageSurvey).where(VillageSurvey.commune_id == commune.id, VillageSurvey.year == year)
        .options(selectinload(VillageSurvey.village))
        .order_by(VillageSurvey.updated_at.desc(), VillageSurvey.id.desc())))
    newest: dict[int, VillageSurvey] = {}
    for row in rows:
        newest.setdefault(row.village_id, row)
    if not newest:
        return [], None
    tips = dict(fig.by_village)
    keys = [k for k, _label in surveys.INCIDENTS]
    table = sorted(((s.village.name, sum(int((s.counts or {}).get(k) or 0) for k in keys), tips.get(s.village.name, 0))
                    for s in newest.values()), key=lambda r: r[0])
    periods = {s.period for s in newest.values()}
    return table, surveys.period_label(periods.pop()) if len(periods) == 1 else str(year)


def latest_draft(commune: Unit, period: Period) -> ReviewDraft | None:
    return db.session.scalar(select(ReviewDraft).where(*_same(commune, period))
                             .order_by(ReviewDraft.version.desc()).limit(1))


def drafts(commune: Unit, period: Period) -> list[ReviewDraft]:
    """Return every saved version of the period's judgement, newest first."""
    return list(db.session.scalars(select(ReviewDraft).where(*_same(commune, period))
                                   .options(selectinload(ReviewDraft.updated_by))
                                   .order_by(ReviewDraft.version.desc())))


def _same(commune: Unit, period: Period):
    return (ReviewDraft.commune_id == commune.id, ReviewDraft.period_start == period.start,
            ReviewDraft.period_end == period.end)


def build(actor: User, args) -> Review:
    """Return the review of the commander's commune for the period the form asks for (reports.PeriodError if none)."""
    report = build_report(actor, args)
    commune, fig, _before = report.parts[0]
    table, survey_period = baseline(commune, report.period, fig)
    return Review(report=report, commune=commune, figures=fig, members=commune_summary(commune)["by_role"],
                  commended=commended_in(commune, report.period), baseline=table, survey_period=survey_period,
                  draft=latest_draft(commune, report.period), history=drafts(commune, report.period),
                  earlier=earlier_draft(commune, report.period))


def earlier_draft(commune: Unit, period: Period) -> ReviewDraft | None:
    """Return the commune's newest draft of another period.

    "The last 12 months" moves every day: without this, what the commander wrote yesterday would be
    gone from today's form. The form starts from it; saving keeps a version for the period shown.
    """
    return db.session.scalar(
        select(ReviewDraft).where(ReviewDraft.commune_id == commune.id,
                                  (ReviewDraft.period_start != period.start) | (ReviewDraft.period_end != period.end))
        .order_by(ReviewDraft.updated_at.desc(), ReviewDraft.id.desc()).limit(1))


def save(actor: User, period: Period, texts: dict, client_key: str | None) -> tuple[ReviewDraft, bool]:
    """Save a new version of the period's judgement (once per form key) and audit it; CaseError for bad input."""
    clean = {k: (texts.get(k) or "").replace("\r\n", "\n").strip() for k in SECTIONS}
    for k, v in clean.items():
        if len(v) > MAX_TEXT:
            raise CaseError(_("This part is too long: at most %(n)s characters.", n=MAX_TEXT), 400, field=k)
    if not any(clean.values()):
        raise CaseError(_("Please write at least one part before saving."), 400, field="strengths")
    if client_key is not None and (len(client_key) > 64 or not client_key.isascii()):
        raise CaseError(_("The form has expired. Please open the page again."), 400)
    commune = actor.commune
    digest = content_hash(commune=commune.id, start=period.start, end=period.end, **clean)

    def create() -> ReviewDraft:
        version = (db.session.scalar(select(func.max(ReviewDraft.version)).where(*_same(commune, period))) or 0) + 1
        row = ReviewDraft(commune_id=commune.id, period_start=period.start, period_end=period.end, version=version,
                          updated_by_id=actor.id, updated_at=utcnow(), client_key=client_key or None,
                          content_hash=digest, **clean)
        db.session.add(row)
        return row

    row, created = _once(ReviewDraft, client_key or None, digest, create)
    if created:
        audit.record("review.save", actor=actor, target=row, version=row.version,
                     start=period.start.strftime("%d/%m/%Y"), end=period.end.strftime("%d/%m/%Y"))
    return row, created


def saved_when(row: ReviewDraft) -> datetime:
    from .reports import LOCAL_OFFSET
    return row.updated_at + LOCAL_OFFSET


# --- Section I as blocks: the page, the printed page and the .docx all show these same words --------


def results(doc: Review) -> list[tuple[str, object]]:
    """Return section I as ("h", heading), ("p", sentence) and ("table", rows with a header row) blocks."""
    from . import labels
    from .exports import bucket_words
    from .models import Role

    f, m = doc.figures, doc.members
    out: list[tuple[str, object]] = []
    out.append(("h", _("1. The model's members")))
    out.append(("p", _("Informants: %(i)s; verifiers: %(v)s; commune police officers: %(o)s.",
                       i=m.get(Role.INFORMANT, 0), v=m.get(Role.VERIFIER, 0), o=m.get(Role.OFFICER, 0))))
    with_tips, without = f.watch_points
    out.append(("h", _("2. Watch points")))
    out.append(("p", _("Watch points: %(n)s; with tips in the period: %(w)s; without tips: %(wo)s.",
                       n=with_tips + without, w=with_tips, wo=without)))
    out.append(("h", _("3. Tips and outcomes")))
    out.append(("p", _("Tips received: %(n)s (from informants: %(i)s, without a name: %(a)s); handled: %(c)s.",
                       n=f.tips, i=f.informant_tips, a=f.anonymous_tips, c=f.closed)))
    out.append(("table", [[_("Outcome"), _("Tips")]] + [[bucket_words(b), n] for b, n in f.outcomes.items()]))
    out.append(("h", _("4. Verification")))
    out.append(("p", _("Verification reports: %(n)s, of which confirmed wholly or in part: %(c)s; verifiers who "
                       "reported: %(v)s.", n=sum(f.findings.values()), c=f.confirmed, v=f.verifiers_active)))
    out.append(("table", [[_("Finding"), _("Reports")]] +
                [[str(labels.FINDINGS.get(k, k)), n] for k, n in f.findings.items()]))
    out.append(("h", _("5. Commendations")))
    if doc.commended:
        out.append(("table", [[_("Commended as"), _("Name or alias"), _("Reward")]] + [list(r) for r in doc.commended]))
    else:
        out.append(("p", _("No commendation was approved in the period.")))
    if doc.baseline:
        out.append(("h", _("6. Compared with the village survey (%(period)s)", period=doc.survey_period)))
        out.append(("table", [[_("Village"), _("Incidents in the survey"), _("Tips in the period")]] +
                    [list(r) for r in doc.baseline]))
    return out
