"""Setting up a commune: its place in the unit tree and its default tip categories."""
from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import Category, Unit, UnitKind

# The commune's starting list; the commander edits it later.
DEFAULT_CATEGORIES = (
    ("drugs", "Ma túy", "💊"),
    ("theft", "Trộm cắp", "🕵️"),
    ("gambling", "Cờ bạc", "🎲"),
    ("disorder", "Gây rối trật tự", "📢"),
    ("dispute", "Mâu thuẫn, tranh chấp", "🤝"),
    ("social_evils", "Tệ nạn xã hội", "⚠️"),
    ("weapons", "Vũ khí, vật liệu nổ", "💣"),
    ("suspicious", "Người khả nghi", "👤"),
    ("traffic", "Giao thông", "🛵"),
    ("other", "Việc khác", "📝"),
)


def get_or_create_unit(name: str, kind: str, parent: Unit | None) -> Unit:
    unit = db.session.scalar(
        select(Unit).where(Unit.name == name, Unit.kind == kind, Unit.parent_id == (parent.id if parent else None))
    )
    if unit is None:
        unit = Unit(name=name, kind=kind, parent=parent)
        db.session.add(unit)
        db.session.flush()
    return unit


def create_commune(name: str, province: str, district: str | None = None) -> Unit:
    """Return the commune `name` under `province` (and `district`, for pre-2025 trees), made if missing."""
    parent = get_or_create_unit(province, UnitKind.PROVINCE, None)
    if district:
        parent = get_or_create_unit(district, UnitKind.DISTRICT, parent)
    commune = get_or_create_unit(name, UnitKind.COMMUNE, parent)
    if not db.session.scalar(select(Category.id).where(Category.commune_id == commune.id)):
        for i, (code, label, emoji) in enumerate(DEFAULT_CATEGORIES):
            db.session.add(Category(commune_id=commune.id, code=code, name=label, emoji=emoji, position=i))
    db.session.flush()
    return commune


# --- Changes by the commander and officers (each audited) --------------------------------------


def add_village(commune: Unit, name: str, *, by) -> Unit:
    from . import audit

    village = Unit(name=name.strip(), kind=UnitKind.VILLAGE, parent=commune)
    db.session.add(village)
    db.session.flush()
    audit.record("village.add", actor=by, target=village)
    return village


def rename_unit(unit: Unit, name: str, *, by) -> None:
    from . import audit

    unit.name = name.strip()
    audit.record("village.rename", actor=by, target=unit)


def save_watch_point(point, *, village: Unit, name: str, kind: str, note: str, active: bool, by):
    """Create (point is None) or change a watch point of `village`."""
    from . import audit
    from .models import WatchPoint

    created = point is None
    if created:
        point = WatchPoint(village_id=village.id)
        db.session.add(point)
    point.name, point.kind, point.note, point.active = name.strip(), kind, note.strip(), active
    db.session.flush()
    audit.record("watch_point.add" if created else "watch_point.edit", actor=by, target=point)
    return point


def add_window(point, *, starts, ends, label: str, by):
    from . import audit
    from .models import TimeWindow

    window = TimeWindow(watch_point_id=point.id, starts=starts, ends=ends, label=label.strip())
    db.session.add(window)
    db.session.flush()
    audit.record("time_window.add", actor=by, target=window)
    return window


def remove_window(window, *, by) -> None:
    """Remove a time window; informants posted to it keep their watch point."""
    from . import audit
    from .models import InformantPost

    for post in db.session.scalars(select(InformantPost).where(InformantPost.time_window_id == window.id)):
        post.time_window_id = None
    audit.record("time_window.remove", actor=by, target=window)
    db.session.delete(window)


def save_category(category, *, commune: Unit, name: str, emoji: str, position: int, active: bool, by):
    from . import audit
    import re as _re

    created = category is None
    if created:
        code = _re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:20] or "cat"
        category = Category(commune_id=commune.id, code=f"{code}_{commune.id}_{position}")
        db.session.add(category)
    category.name, category.emoji, category.position, category.active = name.strip(), emoji.strip(), position, active
    db.session.flush()
    audit.record("category.add" if created else "category.edit", actor=by, target=category)
    return category
