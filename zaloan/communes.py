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
