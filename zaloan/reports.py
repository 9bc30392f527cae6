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
