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
        "by_role": {r: by_role.get(r, 0) for r in Role.ALL},
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
