"""The survey of a village's security situation (khảo sát, đánh giá tình hình ANTT; seed II.1).

Per village and period (a year or a half-year): incidents by type, the core
forces present, the groups under management, as counts and short notes,
never names; then a free assessment (ưu điểm, tồn tại). It is the baseline
the yearly review compares against. Every save is a new version, kept with
who saved it and when; the newest one is the survey.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from . import audit
from .cases import _once, content_hash
from .extensions import db
from .models import Unit, User, VillageSurvey, utcnow

# The counted fields, in the form's order, grouped as the seed lists them. Keys are stored in JSON.
INCIDENTS = (
    ("theft", _l("Theft of property")),
    ("drugs", _l("Drug offences")),
    ("gambling", _l("Gambling")),
    ("disorder", _l("Public disorder, fights")),
    ("other_crime", _l("Other crimes")),
    ("social_evils", _l("Other social evils (prostitution, superstition...)")),
    ("disputes", _l("Disputes among residents")),
)
FORCES = (
    ("security_team", _l("Members of the grassroots security team")),
    ("self_managed", _l("Self-managed security groups")),
    ("militia", _l("Militia members")),
    ("volunteers", _l("Other volunteers (youth, veterans, women's union...)")),
)
MANAGED = (
    ("released", _l("People back from prison")),
    ("early_release", _l("People released early on conditions")),
    ("weapons", _l("Weapons and explosives collected")),
    ("decree_120", _l("People under education at the commune (Decree 120)")),
)
GROUPS = (
    ("incidents", _l("Incidents in the period"), INCIDENTS),
    ("forces", _l("Core security forces present"), FORCES),
    ("managed", _l("Groups under management"), MANAGED),
)
KEYS = tuple(key for _g, _l2, fields in GROUPS for key, _label in fields)
# A village of a few hundred households: a count above this is a typing mistake, not a figure.
MAX_COUNT = 9999


def periods(today=None) -> list[tuple[str, str]]:
    """Return the periods offered: each of this year and the two before, whole and by halves, newest first."""
    year = (today or utcnow().date()).year
    out = []
    for y in range(year, year - 3, -1):
        out += [(str(y), str(_l("Year %(year)s", year=y))),
                (f"{y}-H2", str(_l("Second half of %(year)s", year=y))),
                (f"{y}-H1", str(_l("First half of %(year)s", year=y)))]
    return out


def period_label(period: str) -> str:
    year, _sep, half = period.partition("-")
    if half == "H1":
        return str(_l("First half of %(year)s", year=year))
    if half == "H2":
        return str(_l("Second half of %(year)s", year=year))
    return str(_l("Year %(year)s", year=year))


def latest(village: Unit) -> VillageSurvey | None:
    """Return the newest saved version of the village's survey, of any period."""
    return db.session.scalar(select(VillageSurvey).where(VillageSurvey.village_id == village.id)
                             .order_by(VillageSurvey.updated_at.desc(), VillageSurvey.id.desc()).limit(1))


def history(village: Unit) -> list[VillageSurvey]:
    """Return every saved version of the village's survey, newest first."""
    return list(db.session.scalars(select(VillageSurvey).where(VillageSurvey.village_id == village.id)
                                   .options(selectinload(VillageSurvey.updated_by))
                                   .order_by(VillageSurvey.updated_at.desc(), VillageSurvey.id.desc())))


def save(village: Unit, *, by: User, period: str, counts: dict[str, int], notes: str, strengths: str,
         weaknesses: str, client_key: str | None) -> tuple[VillageSurvey, bool]:
    """Save a new version of the village's survey for `period` (once per form key) and audit it."""
    counts = {k: int(counts.get(k) or 0) for k in KEYS}
    digest = content_hash(village=village.id, period=period, counts=counts, notes=notes, strengths=strengths,
                          weaknesses=weaknesses)

    def create() -> VillageSurvey:
        version = (db.session.scalar(select(func.max(VillageSurvey.version)).where(
            VillageSurvey.village_id == village.id, VillageSurvey.period == period)) or 0) + 1
        row = VillageSurvey(village_id=village.id, commune_id=village.parent_id, year=int(period[:4]),
                            period=period, version=version, counts=counts, notes=notes, strengths=strengths,
                            weaknesses=weaknesses, updated_by_id=by.id, updated_at=utcnow(),
                            client_key=client_key, content_hash=digest)
        db.session.add(row)
        return row

    row, created = _once(VillageSurvey, client_key, digest, create)
    if created:
        audit.record("survey.save", actor=by, target=row, village=village.name, period=period,
                     version=row.version)
    return row, created
