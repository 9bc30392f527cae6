"""Aggregate figures of a commune: counts only, never identities or tip text."""
from __future__ import annotations

from sqlalchemy import func, select

from .extensions import db
from .models import Category, Role, Tip, TipStatus, Unit, User


def commune_summary(commune: Unit) -> dict:
    """Return counts of villages, people by role and tips by status, village and category."""
    villages = commune.villages()
    by_role = dict(
        db.session.execute(
            select(User.role, func.count(User.id))
            .where(User.commune_id == commune.id, User.active.is_(True))
            .group_by(User.role)
        ).all()
    )
    by_status = dict(
        db.session.execute(
            select(Tip.status, func.count(Tip.id)).where(Tip.commune_id == commune.id).group_by(Tip.status)
        ).all()
    )
    by_village = dict(
        db.session.execute(
            select(Unit.name, func.count(Tip.id))
            .join(Tip, Tip.village_id == Unit.id)
            .where(Tip.commune_id == commune.id)
            .group_by(Unit.name)
        ).all()
    )
    by_category = dict(
        db.session.execute(
            select(Category.name, func.count(Tip.id))
            .join(Tip, Tip.category_id == Category.id)
            .where(Tip.commune_id == commune.id)
            .group_by(Category.name)
        ).all()
    )
    return {
        "villages": len(villages),
        "by_role": {r: by_role.get(r, 0) for r in Role.COMMUNE},
        "by_status": {s: by_status.get(s, 0) for s in TipStatus.ALL},
        "by_village": by_village,
        "by_category": by_category,
        "tips": sum(by_status.values()),
        # On the printed page too: the audit log's latest checkpoint, to compare with the log later.
        "checkpoint": latest_checkpoint(commune.id),
    }


def latest_checkpoint(commune_id: int):
    """Return the newest checkpoint of the commune's audit chain (rows, code of the last row, time), or None."""
    from .audit import latest_checkpoints

    found = latest_checkpoints(1, commune_id)
    return found[0] if found else None


# --- Several communes side by side (an observer of a district or the province) ---------------------

# The small-number rule: in a small village a count of 1 or 2 in a village × category cell can point
# to a person, so such a cell is shown as "< 3" (and is never put in a page or a file as its number).
# Totals (a commune's, a village's, a status's, a category's across a commune) stay exact.
SMALL_CELL = "< 3"


def small_cell(n: int):
    """Return what a village × category cell shows: 0 and 3 or more as they are, 1 and 2 as "< 3"."""
    return SMALL_CELL if 1 <= n <= 2 else n


def communes_summary(actor) -> dict:
    """Return the counts of every commune the observer sees and their sum, in four queries whatever their number.

    Counts only: no tip, code, alias or name leaves this function; village ×
    category cells go through `small_cell`.
    """
    from .models import UnitKind
    from .permissions import figures_for

    communes = list(db.session.scalars(select(Unit).where(figures_for(actor)).order_by(Unit.name)))
    ids = [c.id for c in communes]
    rows, villages, categories = [], {}, {}
    if ids:
        rows = db.session.execute(
            select(Tip.commune_id, Tip.village_id, Tip.category_id, Tip.status, func.count(Tip.id))
            .where(Tip.commune_id.in_(ids))
            .group_by(Tip.commune_id, Tip.village_id, Tip.category_id, Tip.status)
        ).all()
        villages = {vid: name for vid, name in db.session.execute(
            select(Unit.id, Unit.name).where(Unit.parent_id.in_(ids), Unit.kind == UnitKind.VILLAGE))}
        categories = {cid: name for cid, name in db.session.execute(
            select(Category.id, Category.name).where(Category.commune_id.in_(ids)))}

    def empty() -> dict:
        return {"tips": 0, "by_status": {s: 0 for s in TipStatus.ALL}, "by_category": {}, "village_cells": {}}

    per = {i: empty() for i in ids}
    total = empty()
    for commune_id, village_id, category_id, status, n in rows:
        category = categories.get(category_id, "?") if category_id else None
        for figures in (per[commune_id], total):
            figures["tips"] += n
            figures["by_status"][status] = figures["by_status"].get(status, 0) + n
            if category is not None:
                figures["by_category"][category] = figures["by_category"].get(category, 0) + n
        village = villages.get(village_id) if village_id else None
        cells = per[commune_id]["village_cells"].setdefault(village, {"tips": 0, "cells": {}})
        cells["tips"] += n
        if category is not None:
            cells["cells"][category] = cells["cells"].get(category, 0) + n

    out = []
    for c in communes:
        figures = per[c.id]
        figures["villages"] = [
            {"name": name, "tips": v["tips"],
             "cells": {cat: small_cell(k) for cat, k in sorted(v["cells"].items())}}
            for name, v in sorted(figures.pop("village_cells").items(), key=lambda item: (item[0] is None, item[0] or ""))
        ]
        out.append({"commune": c, **figures})
    total.pop("village_cells")
    return {"communes": out, "total": total}


# --- The commune report: figures of a period ---------------------------------------------------------
#
# One function, `figures(scope, period)`, computes every figure of the report as SQL aggregates
# (GROUP BY); the page, its charts, the exports and the print view all read the dataclass it
# returns. What an observer is shown goes through `for_observer` (the small-number rule).

import calendar  # noqa: E402
import math  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

from flask_babel import gettext as _  # noqa: E402
from sqlalchemy import Time, and_, case, cast, distinct, literal_column, or_, text  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

from .inputs import MAX_YEAR, MIN_YEAR  # noqa: E402
from .models import (  # noqa: E402
    CommuneSettings,
    Finding,
    Outcome,
    TaskAssignment,
    TimeWindow,
    TipEvent,
    Urgency,
    UnitKind,
    VerificationTask,
    WatchPoint,
    utcnow,
)

# Vietnam keeps one offset all year (no summer time): a day of the report is a day in Hà Nội.
LOCAL_OFFSET = timedelta(hours=7)
OPEN = "open"  # the bucket of tips without an outcome yet, beside Outcome.ALL
BUCKETS = (OPEN,) + Outcome.ALL
SPEED_STEPS = ("read", "triage", "task", "outcome")
MAX_PERIOD_DAYS = 366 * 20
PERIOD_KINDS = ("month", "quarter", "year", "launch", "custom")


class PeriodError(ValueError):
    """A period the report cannot show; `args[0]` is the sentence to show."""


def local_today() -> date:
    return (utcnow() + LOCAL_OFFSET).date()


def parse_day(raw: str | None) -> date | None:
    """Return the day written as 28/11/2026 (how people write it) or 2026-11-28 (the date picker), else None."""
    text_ = (raw or "").strip()
    if not text_ or len(text_) > 10:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            day = datetime.strptime(text_, fmt).date()
        except ValueError:
            continue
        return day if MIN_YEAR <= day.year <= MAX_YEAR else None
    return None


def _add_months(day: date, months: int) -> date:
    """Return the first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Days of Vietnam's calendar, both ends included."""

    start: date
    end: date
    kind: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """Return the period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, "previous")

    def bounds(self) -> tuple[datetime, datetime]:
        """Return the stored (UTC) times of the first moment and of the moment after the last day."""
        first = datetime.combine(self.start, datetime.min.time()) - LOCAL_OFFSET
        after = datetime.combine(self.end + timedelta(days=1), datetime.min.time()) - LOCAL_OFFSET
        return first, after

    def months(self) -> list[str]:
        """Return every month the period touches, as "2026-11"."""
        out, month = [], date(self.start.year, self.start.month, 1)
        while month <= self.end:
            out.append(f"{month.year:04d}-{month.month:02d}")
            month = _add_months(month, 1)
        return out


def quarter_of(day: date) -> str:
    return f"{day.year}-{(day.month - 1) // 3 + 1}"


def recent_quarters(today: date, count: int = 8) -> list[str]:
    """Return the last `count` quarters, this one first ("2026-4")."""
    first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return [quarter_of(_add_months(first, -3 * i)) for i in range(count)]


def choose_period(args, *, today: date, launched_on: date | None) -> Period:
    """Return the period the report's form asks for; PeriodError with a sentence for anything it cannot show.

    The form is a plain GET form: `period` is one of PERIOD_KINDS; `quarter` ("2026-4") goes with
    "quarter"; `start` and `end` (28/11/2026 or 2026-11-28) with "custom". Nothing at all means the
    last 12 months.
    """
    kind = (args.get("period") or "year").strip()
    if kind not in PERIOD_KINDS:
        raise PeriodError(_("Please choose a period from the list."))
    if kind == "month":
        return Period(date(today.year, today.month, 1), today, kind)
    if kind == "year":
        return Period(_add_months(today, -11), today, kind)
    if kind == "launch":
        if launched_on is None:
            raise PeriodError(_("The day the model started in the commune is not set yet. The commander sets "
                                "it on the commune settings page."))
        if launched_on > today:
            raise PeriodError(_("The day the model started is still to come."))
        return Period(launched_on, today, kind)
    if kind == "quarter":
        raw = (args.get("quarter") or quarter_of(today)).strip()
        year, _sep, q = raw.partition("-")
        if not (year.isascii() and year.isdigit() and len(year) == 4 and q in ("1", "2", "3", "4")) \
                or not MIN_YEAR <= int(year) <= MAX_YEAR:
            raise PeriodError(_("Please choose a quarter from the list."))
        start = date(int(year), (int(q) - 1) * 3 + 1, 1)
        if start > today:
            raise PeriodError(_("This quarter is still to come."))
        end = _add_months(start, 3) - timedelta(days=1)
        return Period(start, min(end, today), kind)
    start, end = parse_day(args.get("start")), parse_day(args.get("end"))
    if start is None or end is None:
        raise PeriodError(_("Please write both days as day/month/year, for example 01/01/2026 and 31/12/2026."))
    if end < start:
        raise PeriodError(_("The first day comes after the last day. Please swap them."))
    if start > today:
        raise PeriodError(_("The first day is still to come."))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise PeriodError(_("The period is too long: at most 20 years."))
    return Period(start, end, kind)


@dataclass(frozen=True)
class Scope:
    """What a report counts: tips (a condition on Tip), villages (a condition on Unit), from the permission scopes."""

    tips: object
    villages: object
    commune_ids: tuple[int, ...]
    old_open_days: int = 20
    several: bool = False  # villages of several communes: a village is named with its commune


def _speed(values: list[float]) -> dict:
    """Return how many, the median and the 90th percentile (linear, as percentile_cont) of sorted seconds."""
    def pick(p: float) -> float | None:
        if not values:
            return None
        pos = p * (len(values) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    return {"n": len(values), "median": pick(0.5), "p90": pick(0.9)}


@dataclass
class Figures:
    """Every figure of one scope and period. Plain data: the page, the charts and the files read it."""

    period: Period
    tips: int = 0
    informant_tips: int = 0
    anonymous_tips: int = 0
    informants_active: int = 0
    verifiers_active: int = 0
    old_open: int = 0
    old_open_days: int = 20
    past_deadline: int = 0  # open tips received in the period whose handling deadline has passed (zaloan.deadlines)
    by_month: list = field(default_factory=list)  # [(month "2026-11", {bucket: n})]
    outcomes: dict = field(default_factory=dict)  # {bucket: n}
    by_village: list = field(default_factory=list)  # [(name or None, n)]
    by_category: list = field(default_factory=list)  # [(name or None, n)]
    by_urgency: dict = field(default_factory=dict)  # {urgency: n}
    findings: dict = field(default_factory=dict)  # {finding: n}: verification reports made in the period
    speed: dict = field(default_factory=dict)  # {step: {"n", "median", "p90"}} in seconds
    watch_points: tuple = (0, 0)  # (with tips in the period, without)
    time_windows: tuple = (0, 0)
    cells: list = field(default_factory=list)  # [(village name or None, {category name or None: n or "< 3"})]
    masked: bool = False  # for an observer: cells of 1 or 2 are "< 3"

    @property
    def closed(self) -> int:
        return self.tips - self.outcomes.get(OPEN, 0)

    @property
    def confirmed(self) -> int:
        return self.findings.get(Finding.CONFIRMED, 0) + self.findings.get(Finding.PARTLY, 0)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _month_of(column):
    """The local month of a stored time, as "2026-11".

    Constants are written into the SQL, not bound: the expression is both selected and grouped by, and
    PostgreSQL takes two differently bound copies for two different expressions.
    """
    if _dialect() == "postgresql":
        return func.to_char(column + text("interval '7 hours'"), literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column("'+7 hours'"))


def _seconds(later, earlier):
    """Seconds between two stored times."""
    if _dialect() == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _in_window(moment):
    """Whether the local time of day of `moment` falls in a time window (which may cross midnight)."""
    if _dialect() == "postgresql":
        t = cast(moment + text("interval '7 hours'"), Time)
        s, e = TimeWindow.starts, TimeWindow.ends
    else:  # SQLite keeps times as "21:00:00.000000"
        t = func.strftime("%H:%M:%S", moment, "+7 hours")
        s, e = func.substr(TimeWindow.starts, 1, 8), func.substr(TimeWindow.ends, 1, 8)
    return or_(and_(s <= e, t >= s, t < e), and_(s > e, or_(t >= s, t < e)))


def figures(scope: Scope, period: Period, *, full: bool = True) -> Figures:
    """Return every figure of the report for the tips of `scope` received in `period`.

    Eleven queries whatever the number of tips, each an aggregate; only the
    durations of "how fast" come back as one column of numbers, so the median
    and the 90th percentile are computed the same way on SQLite and PostgreSQL.
    With `full=False` (the period a report compares with) "how fast", watch
    points and time windows are left out: eight queries.
    """
    # Core rows, not ORM ones: thousands of durations come back, and the ORM's row handling would cost more
    # than the query.
    conn = db.session.connection()
    run, run_scalar = conn.execute, conn.scalar
    first, after = period.bounds()
    in_period = and_(scope.tips, Tip.created_at >= first, Tip.created_at < after)
    now = utcnow()
    cutoff = now - timedelta(days=scope.old_open_days)
    out = Figures(period=period, old_open_days=scope.old_open_days)

    head = run(select(
        func.count(Tip.id),
        func.count(distinct(Tip.informant_id)),
        func.coalesce(func.sum(case((Tip.informant_id.is_(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(Tip.status.in_(TipStatus.OPEN), Tip.created_at < cutoff), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(Tip.status.in_(TipStatus.OPEN), Tip.deadline_at < now), 1), else_=0)), 0),
    ).where(in_period)).one()
    (out.tips, out.informants_active, out.anonymous_tips, out.old_open,
     out.past_deadline) = (int(v or 0) for v in head)
    out.informant_tips = out.tips - out.anonymous_tips

    # Tips by month, stacked by outcome (a tip without one is "open").
    month = _month_of(Tip.created_at).label("month")
    bucket = case((Tip.status == literal_column(f"'{TipStatus.CLOSED}'"), Tip.outcome),
                  else_=literal_column(f"'{OPEN}'")).label("bucket")
    months = {m: {b: 0 for b in BUCKETS} for m in period.months()}
    for m, b, n in run(select(month, bucket, func.count(Tip.id)).where(in_period)
                                      .group_by(month, bucket)):
        months.setdefault(m, {k: 0 for k in BUCKETS})[b if b in BUCKETS else OPEN] += n
    out.by_month = sorted(months.items())
    out.outcomes = {b: sum(row[b] for row in months.values()) for b in BUCKETS}

    # Villages and categories: the village × category cells, summed into each.
    village = aliased(Unit)
    commune = aliased(Unit)
    village_names = {vid: (f"{name} · {parent}" if scope.several else name) for vid, name, parent in
                     run(select(village.id, village.name, commune.name)
                                        .join(commune, commune.id == village.parent_id)
                                        .where(village.id.in_(select(Unit.id).where(scope.villages))))}
    category_names = {cid: name for cid, name in run(
        select(Category.id, Category.name).where(Category.commune_id.in_(scope.commune_ids))
        .order_by(Category.position, Category.name))}
    cells: dict = {}
    for vid, cid, n in run(select(Tip.village_id, Tip.category_id, func.count(Tip.id))
                                          .where(in_period).group_by(Tip.village_id, Tip.category_id)):
        v = village_names.get(vid) if vid is not None else None
        c = category_names.get(cid) if cid is not None else None
        row = cells.setdefault(v, {})
        row[c] = row.get(c, 0) + n
    by_village = {name: 0 for name in village_names.values()}
    for v, row in cells.items():
        by_village[v] = by_village.get(v, 0) + sum(row.values())
    out.by_village = sorted(by_village.items(), key=lambda item: (item[0] is None, item[0] or ""))
    order = {name: i for i, name in enumerate(dict.fromkeys(category_names.values()))}
    by_category: dict = {}
    for row in cells.values():
        for c, n in row.items():
            by_category[c] = by_category.get(c, 0) + n
    out.by_category = sorted(by_category.items(), key=lambda item: (item[0] is None, order.get(item[0], 0)))
    out.cells = [(v, dict(sorted(row.items(), key=lambda item: (item[0] is None, order.get(item[0], 0)))))
                 for v, row in sorted(cells.items(), key=lambda item: (item[0] is None, item[0] or ""))]

    out.by_urgency = {u: 0 for u in Urgency.ALL}
    for u, n in run(select(Tip.urgency, func.count(Tip.id)).where(in_period).group_by(Tip.urgency)):
        out.by_urgency[u] = out.by_urgency.get(u, 0) + n

    # Verification: reports made in the period on tips of the scope, and who made them.
    reported = and_(scope.tips, TaskAssignment.reported_at >= first, TaskAssignment.reported_at < after)
    out.findings = {f: 0 for f in Finding.ALL}
    for f, n in run(
            select(TaskAssignment.finding, func.count(TaskAssignment.id))
            .join(VerificationTask, VerificationTask.id == TaskAssignment.task_id).join(Tip, Tip.id == VerificationTask.tip_id)
            .where(reported, TaskAssignment.finding.is_not(None)).group_by(TaskAssignment.finding)):
        out.findings[f] = out.findings.get(f, 0) + n
    out.verifiers_active = run_scalar(
        select(func.count(distinct(TaskAssignment.verifier_id)))
        .join(VerificationTask, VerificationTask.id == TaskAssignment.task_id).join(Tip, Tip.id == VerificationTask.tip_id)
        .where(reported)) or 0

    if not full:
        return out
    # How fast: seconds from receipt to the first read, the first triage, the first task, the outcome. The firsts
    # are looked up per tip through the indexes on tip_id, not grouped over every event of the database.
    triaged = (select(func.min(TipEvent.created_at)).where(TipEvent.tip_id == Tip.id, TipEvent.kind == "triaged")
               .correlate(Tip).scalar_subquery())
    tasked = (select(func.min(VerificationTask.created_at)).where(VerificationTask.tip_id == Tip.id)
              .correlate(Tip).scalar_subquery())
    rows = run(
        select(_seconds(Tip.first_read_at, Tip.created_at), _seconds(triaged, Tip.created_at),
               _seconds(tasked, Tip.created_at),
               case((Tip.status == TipStatus.CLOSED, _seconds(Tip.closed_at, Tip.created_at)), else_=None))
        .where(in_period)).all()
    for i, step in enumerate(SPEED_STEPS):
        out.speed[step] = _speed(sorted(max(float(r[i]), 0.0) for r in rows if r[i] is not None))

    # Watch points and time windows of the villages in scope, with and without a tip in the period.
    points = select(WatchPoint.id).where(WatchPoint.active.is_(True),
                                         WatchPoint.village_id.in_(select(Unit.id).where(scope.villages)))
    all_points, with_points = run(select(
        select(func.count()).select_from(points.subquery()).scalar_subquery(),
        select(func.count(distinct(Tip.watch_point_id))).where(in_period, Tip.watch_point_id.in_(points))
        .scalar_subquery())).one()
    out.watch_points = (with_points or 0, (all_points or 0) - (with_points or 0))
    all_windows, with_windows = run(select(
        select(func.count(TimeWindow.id)).where(TimeWindow.watch_point_id.in_(points)).scalar_subquery(),
        select(func.count(distinct(TimeWindow.id))).join(Tip, Tip.watch_point_id == TimeWindow.watch_point_id)
        .where(in_period, TimeWindow.watch_point_id.in_(points), _in_window(Tip.occurred_at)).scalar_subquery())).one()
    out.time_windows = (with_windows or 0, (all_windows or 0) - (with_windows or 0))
    return out


def for_observer(fig: Figures) -> Figures:
    """Return the figures an observer is shown: every village × category cell of 1 or 2 as "< 3"; totals exact."""
    return replace(fig, masked=True,
                   cells=[(v, {c: small_cell(n) for c, n in row.items()}) for v, row in fig.cells])


def add_up(parts: list[Figures], period: Period) -> Figures:
    """Return the sum of several communes' counts (an observer's "all together").

    Counts add up; medians do not, so "how fast" of the sum is left out, and
    villages and cells stay with their own commune.
    """
    total = Figures(period=period, masked=True)
    for f in parts:
        for name in ("tips", "informant_tips", "anonymous_tips", "informants_active", "verifiers_active", "old_open",
                     "past_deadline"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
        total.watch_points = tuple(a + b for a, b in zip(total.watch_points, f.watch_points))
        total.time_windows = tuple(a + b for a, b in zip(total.time_windows, f.time_windows))
        for target, source in ((total.outcomes, f.outcomes), (total.by_urgency, f.by_urgency),
                               (total.findings, f.findings)):
            for k, n in source.items():
                target[k] = target.get(k, 0) + n
        months = dict(total.by_month)
        for m, row in f.by_month:
            mine = months.setdefault(m, {b: 0 for b in BUCKETS})
            for b, n in row.items():
                mine[b] = mine.get(b, 0) + n
        total.by_month = sorted(months.items())
        categories = dict(total.by_category)
        for c, n in f.by_category:
            categories[c] = categories.get(c, 0) + n
        total.by_category = list(categories.items())
    days = {f.old_open_days for f in parts}
    total.old_open_days = days.pop() if len(days) == 1 else 0
    return total


@dataclass
class Report:
    """The report a person asked for: the period, the one before it, and the figures of each commune they see."""

    period: Period
    previous: Period
    parts: list  # [(commune, Figures, Figures of the previous period)]
    total: tuple | None  # (Figures, Figures of the previous period) of several communes together
    masked: bool  # an observer's: small cells hidden, no tip list
    launched_on: date | None


def report_scopes(actor) -> list[tuple[Unit, Scope, CommuneSettings]]:
    """Return the communes whose figures `actor` reads, each with its scope (from zaloan.permissions)."""
    from .permissions import figures_for, report_tips_for, report_villages_for

    tips, villages = report_tips_for(actor), report_villages_for(actor)
    if actor.role == Role.OBSERVER:
        communes = list(db.session.scalars(select(Unit).where(figures_for(actor)).order_by(Unit.name)))
    else:
        communes = [actor.commune]
    ids = [c.id for c in communes]
    stored = {s.commune_id: s for s in db.session.scalars(
        select(CommuneSettings).where(CommuneSettings.commune_id.in_(ids)))} if ids else {}
    out = []
    for c in communes:
        settings = stored.get(c.id) or CommuneSettings.of(c.id)
        out.append((c, Scope(and_(tips, Tip.commune_id == c.id), and_(villages, Unit.parent_id == c.id), (c.id,),
                             settings.old_open_days or 20), settings))
    return out


def build_report(actor, args, *, today: date | None = None) -> Report:
    """Return the report `actor` asked for with the form's `args`; PeriodError for a period it cannot show."""
    scopes = report_scopes(actor)
    launched = [s.launched_on for _c, _scope, s in scopes if s.launched_on]
    launched_on = min(launched) if launched else None
    period = choose_period(args, today=today or local_today(), launched_on=launched_on)
    previous = period.previous()
    masked = actor.role == Role.OBSERVER
    parts = []
    for commune, scope, _settings in scopes:
        now, before = figures(scope, period), figures(scope, previous, full=False)
        if masked:
            now, before = for_observer(now), for_observer(before)
        parts.append((commune, now, before))
    total = None
    if len(parts) > 1:
        total = (add_up([p[1] for p in parts], period), add_up([p[2] for p in parts], previous))
    return Report(period, previous, parts, total, masked, launched_on)


def duration_words(seconds: float | None) -> str:
    """Say a duration the way people do: "45 phút", "3 giờ 20 phút", "2 ngày 4 giờ"."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return _("%(n)s min", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min", h=hours, m=minutes) if minutes else _("%(h)s h", h=hours)
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h", d=days, h=hours) if hours else _("%(d)s d", d=days)


def tip_rows(actor, period: Period):
    """Return the tips of the period in `actor`'s scope as plain rows: code, days, village, category, urgency,
    status, outcome. Never the text, the place written by the sender, the sender or a photo.

    For police only (zaloan.permissions.may_list_tips); an observer gets no row.
    """
    from .permissions import may_list_tips, report_tips_for

    if not may_list_tips(actor):
        return []
    first, after = period.bounds()
    return db.session.execute(
        select(Tip.code, Tip.created_at, Tip.closed_at, Unit.name, Category.name, Tip.urgency, Tip.status, Tip.outcome)
        .outerjoin(Unit, Unit.id == Tip.village_id).outerjoin(Category, Category.id == Tip.category_id)
        .where(report_tips_for(actor), Tip.created_at >= first, Tip.created_at < after)
        .order_by(Tip.created_at, Tip.id)).all()
