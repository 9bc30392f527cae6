"""Building the model, village by village (seed II.5), and how well the watch points are covered.

The three steps of the seed: (1) list the watch points, their time windows and
the responsible people of each village; (2) recruit informants for each point
and window; (3) form the village's verification group (trưởng thôn, công an
viên bán chuyên trách, trưởng ban công tác mặt trận).

The coverage grid counts, for each watch point × time window, the informants
posted there and the tips sent from that place at that time of day in a
period. Every figure comes from a SQL GROUP BY; Python only places a handful
of (point, HH:MM, count) groups into the windows they fall in, never a tip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Interval, and_, func, literal_column, or_, select
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import (
    Informant,
    InformantPost,
    Role,
    TimeWindow,
    Tip,
    Unit,
    User,
    VerifierTitle,
    WatchPoint,
    utcnow,
)
from .permissions import informants_for

# Periods offered by the grid's form, in days; the default is the last 90.
PERIODS = (30, 90, 180, 365)
DEFAULT_DAYS = 90
# Vietnam keeps UTC+7 all year (no summer time): tips are stored in UTC, windows in local time.
LOCAL_OFFSET = timedelta(hours=7)


def in_window(window: TimeWindow, at: time) -> bool:
    """Whether a local time of day falls in the window (a window may cross midnight)."""
    if window.starts <= window.ends:
        return window.starts <= at < window.ends
    return at >= window.starts or at < window.ends


def _local_hhmm(column):
    """SQL for the local time of day (HH:MM) of a stored UTC time."""
    if db.session.get_bind().dialect.name == "postgresql":
        shifted = column + literal_column("interval '7 hours'", type_=Interval)
        # The pattern written in the SQL, not bound: PostgreSQL must see the SELECT's and the GROUP BY's
        # expressions as the same one.
        return func.to_char(shifted, literal_column("'HH24:MI'"))
    return func.strftime("%H:%M", column, "+7 hours")


@dataclass
class Cell:
    """One watch point × time window (window None: the hours outside every window of the point)."""

    point: WatchPoint
    window: TimeWindow | None
    informants: int = 0
    tips: int = 0
    aliases: list[str] = field(default_factory=list)  # the viewer's own informants only

    @property
    def tips_without_informant(self) -> bool:
        return self.tips > 0 and self.informants == 0

    @property
    def informant_without_tips(self) -> bool:
        return self.window is not None and self.informants > 0 and self.tips == 0

    @property
    def shared(self) -> bool:
        """Two or more informants cover this window, each on a separate channel (intended)."""
        return self.informants >= 2


@dataclass
class VillageCoverage:
    village: Unit
    cells: list[Cell]
    verifiers: list[User]

    @property
    def points(self) -> list[WatchPoint]:
        seen: dict[int, WatchPoint] = {}
        for c in self.cells:
            seen.setdefault(c.point.id, c.point)
        return list(seen.values())

    @property
    def windows(self) -> list[Cell]:
        return [c for c in self.cells if c.window is not None]

    @property
    def points_without_window(self) -> list[WatchPoint]:
        return [p for p in self.points if not p.windows]

    @property
    def uncovered(self) -> list[Cell]:
        return [c for c in self.windows if c.informants == 0]

    @property
    def titles(self) -> set[str]:
        return {v.title for v in self.verifiers if v.title}

    @property
    def missing_titles(self) -> list[str]:
        return [t for t in VerifierTitle.ALL if t not in self.titles]

    # The three steps, done or not.
    @property
    def step1_done(self) -> bool:
        return bool(self.points) and not self.points_without_window and self.village.officer_id is not None

    @property
    def step2_done(self) -> bool:
        return bool(self.windows) and not self.uncovered

    @property
    def step3_done(self) -> bool:
        return not self.missing_titles

    @property
    def steps_done(self) -> int:
        return sum((self.step1_done, self.step2_done, self.step3_done))

    @property
    def holes(self) -> int:
        """How many holes the grid marks (a village without a verifier counts as one)."""
        cells = sum(1 for c in self.cells if c.tips_without_informant or c.informant_without_tips)
        return cells + (0 if self.verifiers else 1)


def coverage(villages: list[Unit], viewer: User, days: int = DEFAULT_DAYS,
             now: datetime | None = None, names: bool = False) -> list[VillageCoverage]:
    """Return the build-up and coverage of each village, in a fixed number of queries.

    Informants count when their account is active; a post without a time window
    covers every window of its point. Tips count once per incident (a tip joined
    to an earlier one as its duplicate is not counted again), by when it happened.
    """
    ids = [v.id for v in villages]
    since = (now or utcnow()) - timedelta(days=days)
    points = list(db.session.scalars(
        select(WatchPoint).where(WatchPoint.village_id.in_(ids), WatchPoint.active.is_(True))
        .options(selectinload(WatchPoint.windows)).order_by(WatchPoint.name, WatchPoint.id)
    )) if ids else []
    point_ids = [p.id for p in points]
    active = and_(Informant.user_id == User.id, User.active.is_(True))

    per_window = dict(db.session.execute(
        select(TimeWindow.id, func.count(func.distinct(InformantPost.informant_id)))
        .join(InformantPost, and_(InformantPost.watch_point_id == TimeWindow.watch_point_id,
                                  or_(InformantPost.time_window_id == TimeWindow.id,
                                      InformantPost.time_window_id.is_(None))))
        .join(Informant, Informant.id == InformantPost.informant_id).join(User, active)
        .where(TimeWindow.watch_point_id.in_(point_ids)).group_by(TimeWindow.id)
    ).all()) if point_ids else {}
    per_point = dict(db.session.execute(
        select(InformantPost.watch_point_id, func.count(func.distinct(InformantPost.informant_id)))
        .join(Informant, Informant.id == InformantPost.informant_id).join(User, active)
        .where(InformantPost.watch_point_id.in_(point_ids)).group_by(InformantPost.watch_point_id)
    ).all()) if point_ids else {}
    hhmm = _local_hhmm(Tip.occurred_at)
    tip_groups = db.session.execute(
        select(Tip.watch_point_id, hhmm, func.count(Tip.id))
        .where(Tip.watch_point_id.in_(point_ids), Tip.occurred_at >= since, Tip.duplicate_of_id.is_(None))
        .group_by(Tip.watch_point_id, hhmm)
    ).all() if point_ids else []
    own: dict[tuple[int, int | None], list[str]] = {}
    if names and point_ids:
        for wp, tw, alias in db.session.execute(
            select(InformantPost.watch_point_id, InformantPost.time_window_id, Informant.alias)
            .join(Informant, Informant.id == InformantPost.informant_id).join(User, active)
            .where(InformantPost.watch_point_id.in_(point_ids), informants_for(viewer))
            .order_by(Informant.alias)
        ):
            own.setdefault((wp, tw), []).append(alias)

    cells: dict[int, list[Cell]] = {}
    by_point: dict[int, dict[int | None, Cell]] = {}
    for p in points:
        row = {}
        for w in p.windows:
            aliases = sorted(set(own.get((p.id, w.id), []) + own.get((p.id, None), [])))
            row[w.id] = Cell(p, w, informants=per_window.get(w.id, 0), aliases=aliases)
        row[None] = Cell(p, None, informants=per_point.get(p.id, 0) if not p.windows else 0,
                         aliases=sorted({a for (wp, _tw), al in own.items() if wp == p.id for a in al})
                         if not p.windows else [])
        by_point[p.id] = row
    for wp, at, count in tip_groups:
        local = time(int(at[:2]), int(at[3:5]))
        row = by_point[wp]
        matched = [w for w in row.values() if w.window is not None and in_window(w.window, local)]
        for c in matched or [row[None]]:
            c.tips += count
    for p in points:
        row = by_point[p.id]
        shown = [c for key, c in row.items() if key is not None]
        if not p.windows or row[None].tips:
            shown.append(row[None])  # a point without windows, or tips outside every window
        cells.setdefault(p.village_id, []).extend(shown)

    verifiers: dict[int, list[User]] = {}
    for v in db.session.scalars(
        select(User).where(User.role == Role.VERIFIER, User.active.is_(True), User.village_id.in_(ids))
        .order_by(User.full_name)
    ) if ids else []:
        verifiers.setdefault(v.village_id, []).append(v)
    return [VillageCoverage(v, cells.get(v.id, []), verifiers.get(v.id, [])) for v in villages]


def read_days(raw) -> int:
    """Return the period of the grid's form: one of PERIODS, the default for anything else."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_DAYS
    return value if value in PERIODS else DEFAULT_DAYS


def figures(villages: list[Unit], viewer: User, days: int = DEFAULT_DAYS, now: datetime | None = None) -> list[dict]:
    """Return the build-up and coverage as an observer may see them: counts only, small ones hidden.

    Every count of a watch point × time window (informants, tips) goes through
    the small-number rule (1 or 2 shows as "< 3", and the number never reaches
    the page); no alias, no name, no verifier; and nothing says how many share
    a window (with "< 3" it would give the number away).
    """
    from .reports import small_cell

    out = []
    for row in coverage(villages, viewer, days=days, now=now):
        out.append({
            "village": row.village.name,
            "steps": (row.step1_done, row.step2_done, row.step3_done),
            "covered": len(row.windows) - len(row.uncovered), "windows": len(row.windows),
            "has_verifier": bool(row.verifiers),
            "cells": [{"point": c.point.name, "kind": c.point.kind,
                       "window": str(c.window) if c.window else None, "point_has_windows": bool(c.point.windows),
                       "informants": small_cell(c.informants), "tips": small_cell(c.tips),
                       "tips_without_informant": c.tips_without_informant,
                       "informant_without_tips": c.informant_without_tips} for c in row.cells],
        })
    return out
