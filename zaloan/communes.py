"""Setting up a commune: its place in the unit tree and its default tip categories."""
from __future__ import annotations

import re
import unicodedata
from datetime import time

from sqlalchemy import select

from . import audit, cases
from .extensions import db
from .models import Category, CommuneSettings, InformantPost, Role, TimeWindow, Unit, UnitKind, User, WatchPoint, WatchPointKind

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


def slug_for(name: str) -> str:
    """Return the address part of a commune's name: "Xã Yên Thường" -> "yen-thuong" (no accents, no "Xã")."""
    text = re.sub(r"^\s*(xã|phường|thị trấn|đặc khu)\s+", "", name.strip(), flags=re.I)
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48] or "xa"


def free_slug(name: str) -> str:
    """Return `slug_for(name)`, with -2, -3... when another commune has it (two provinces may share a name)."""
    base = slug_for(name)
    slug, n = base, 2
    while db.session.scalar(select(Unit.id).where(Unit.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def by_slug(slug: str) -> Unit | None:
    """Return the commune with this address part, or None."""
    if not slug or len(slug) > 64:
        return None
    return db.session.scalar(select(Unit).where(Unit.slug == slug, Unit.kind == UnitKind.COMMUNE))


def create_commune(name: str, province: str, district: str | None = None) -> Unit:
    """Return the commune `name` under `province` (and `district`, for pre-2025 trees), made if missing."""
    parent = get_or_create_unit(province, UnitKind.PROVINCE, None)
    if district:
        parent = get_or_create_unit(district, UnitKind.DISTRICT, parent)
    commune = get_or_create_unit(name, UnitKind.COMMUNE, parent)
    if not commune.slug:
        commune.slug = free_slug(name)
    if not db.session.scalar(select(Category.id).where(Category.commune_id == commune.id)):
        for i, (code, label, emoji) in enumerate(DEFAULT_CATEGORIES):
            db.session.add(Category(commune_id=commune.id, code=code, name=label, emoji=emoji, position=i))
    db.session.flush()
    return commune


# --- The province administrator's communes (audited; the caller commits) ---------------------------


def add_commune(province: Unit, name: str, *, district: Unit | None, by, client_key: str | None = None) -> Unit:
    """Add a commune to the province (under `district` for a tree that still has districts), with its address.

    A name the parent already has (ignoring case and spaces) is refused with
    `PlaceError("name")`; a retried send of the same form (`client_key`) lands
    on the commune it made. The "commune.create" row opens the new commune's
    own audit chain, so its commander reads how the commune began.
    """
    name = " ".join(name.split())
    parent = district or province

    def create() -> Unit:
        if _same_name(select(Unit.name).where(Unit.parent_id == parent.id, Unit.kind == UnitKind.COMMUNE), name):
            raise PlaceError("name")
        commune = Unit(name=name, kind=UnitKind.COMMUNE, parent=parent, slug=free_slug(name), client_key=client_key)
        db.session.add(commune)
        db.session.flush()
        for i, (code, label, emoji) in enumerate(DEFAULT_CATEGORIES):
            db.session.add(Category(commune_id=commune.id, code=code, name=label, emoji=emoji, position=i))
        audit.record("commune.create", actor=by, target=commune, commune_id=commune.id, parent=parent.id,
                     slug=commune.slug)
        return commune

    return once(Unit, client_key, lambda u: u.parent_id == parent.id and _fold(u.name) == _fold(name), create)


# --- Changes by the commander and officers (each audited; the caller commits) ------------------


class PlaceError(ValueError):
    """A refused change of a place or category; `args[0]` names the field at fault."""


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _same_name(query, name: str) -> bool:
    """Return True if a row of `query` already has `name` (ignoring case and spaces)."""
    wanted = _fold(name)
    return any(_fold(n) == wanted for n in db.session.scalars(query))


def once(model, client_key: str | None, same, create):
    """Return the row an earlier send of this form made (`client_key`), or a new one from `create()`.

    A retried POST (a lost answer on 2G, a double tap) lands on the first row
    instead of a duplicate or a "name already exists" error. The same key
    with other content (`same(row)` is False: the form was changed and sent
    again) is refused with `cases.KeyReused`, so nothing is silently dropped.
    """
    # Serialise creators first, so a second tap waiting here finds the first one's row by its key.
    audit.lock_writers()
    row, _created = cases._once(model, client_key, "", create)
    if not _created and not same(row):
        raise cases.KeyReused()
    return row


def add_village(commune: Unit, name: str, *, by) -> Unit:
    """Add a village (thôn, bản, khu phố, tổ dân phố) to the commune."""
    name = " ".join(name.split())
    if _same_name(select(Unit.name).where(Unit.parent_id == commune.id, Unit.kind == UnitKind.VILLAGE), name):
        raise PlaceError("name")
    village = Unit(name=name, kind=UnitKind.VILLAGE, parent=commune)
    db.session.add(village)
    db.session.flush()
    audit.record("village.add", actor=by, target=village, commune_id=commune.id)
    return village


def save_report_settings(commune: Unit, *, by, launched_on, old_open_days: int) -> bool:
    """Save the day the model started in the commune and the age of an old open tip; return True if anything changed.

    Both go into the commune report (zaloan.reports). Nothing changed writes nothing, not even an audit row.
    """
    settings = CommuneSettings.of(commune.id)
    if settings.launched_on == launched_on and settings.old_open_days == old_open_days:
        return False
    settings.launched_on = launched_on
    settings.old_open_days = old_open_days
    settings.updated_by_id = by.id if by else None
    db.session.add(settings)
    audit.record("commune.report_settings", actor=by, commune_id=commune.id,
                 launched_on=launched_on.isoformat() if launched_on else None, old_open_days=old_open_days)
    return True


def rename_village(village: Unit, name: str, *, by) -> None:
    name = " ".join(name.split())
    if name == village.name:
        return
    siblings = select(Unit.name).where(Unit.parent_id == village.parent_id, Unit.kind == UnitKind.VILLAGE,
                                       Unit.id != village.id)
    if _same_name(siblings, name):
        raise PlaceError("name")
    village.name = name
    audit.record("village.rename", actor=by, target=village)


def set_village_officer(village: Unit, officer: User | None, *, by) -> None:
    """Put `officer` (or nobody) in charge of a village; its tips and verifiers go with it."""
    if officer is not None and (officer.role != Role.OFFICER or not officer.active
                                or officer.commune_id != village.commune().id):
        raise PlaceError("officer_id")
    if village.officer_id == (officer.id if officer else None):
        return
    was = village.officer_id
    village.officer_id = officer.id if officer else None
    audit.record("village.officer", actor=by, target=village, officer=village.officer_id, was=was)


def save_watch_point(point: WatchPoint | None, *, village: Unit, name: str, kind: str, note: str, active: bool,
                     by, client_key: str | None = None) -> WatchPoint:
    """Create (point is None; once per `client_key`) or change a watch point of `village`."""
    if kind not in WatchPointKind.ALL:
        raise PlaceError("kind")
    name = " ".join(name.split())
    if point is None:
        return once(WatchPoint, client_key, lambda p: p.village_id == village.id and _fold(p.name) == _fold(name),
                    lambda: _write_point(None, village=village, name=name, kind=kind, note=note, active=active,
                                         by=by, client_key=client_key))
    return _write_point(point, village=village, name=name, kind=kind, note=note, active=active, by=by)


def _write_point(point: WatchPoint | None, *, village: Unit, name: str, kind: str, note: str, active: bool, by,
                 client_key: str | None = None) -> WatchPoint:
    others = select(WatchPoint.name).where(WatchPoint.village_id == village.id)
    if point is not None:
        others = others.where(WatchPoint.id != point.id)
    if _same_name(others, name):
        raise PlaceError("name")
    created = point is None
    if created:
        point = WatchPoint(village_id=village.id, client_key=client_key or None)
        db.session.add(point)
    point.name, point.kind, point.note, point.active = name, kind, note.strip(), active
    db.session.flush()
    audit.record("watch_point.add" if created else "watch_point.edit", actor=by, target=point,
                 village=village.id, active=active)
    return point


def save_window(window: TimeWindow | None, *, point: WatchPoint | None = None, starts: time, ends: time,
                label: str, by, client_key: str | None = None) -> TimeWindow:
    """Create (window is None, on `point`, once per `client_key`) or change a time window.

    A window may cross midnight (20:00–02:00).
    """
    if starts == ends:
        raise PlaceError("ends")
    label = " ".join(label.split())
    if window is None:
        return once(TimeWindow, client_key,
                    lambda w: (w.watch_point_id, w.starts, w.ends, w.label) == (point.id, starts, ends, label),
                    lambda: _write_window(TimeWindow(watch_point_id=point.id, client_key=client_key or None),
                                          starts=starts, ends=ends, label=label, by=by, created=True))
    return _write_window(window, starts=starts, ends=ends, label=label, by=by, created=False)


def _write_window(window: TimeWindow, *, starts: time, ends: time, label: str, by, created: bool) -> TimeWindow:
    if created:
        db.session.add(window)
    window.starts, window.ends, window.label = starts, ends, label
    db.session.flush()
    audit.record("time_window.add" if created else "time_window.edit", actor=by, target=window,
                 watch_point=window.watch_point_id, starts=f"{starts:%H:%M}", ends=f"{ends:%H:%M}")
    return window


def remove_window(window: TimeWindow, *, by) -> None:
    """Remove a time window; informants posted to it keep their watch point (at any time)."""
    posts = list(db.session.scalars(select(InformantPost).where(InformantPost.time_window_id == window.id)))
    for post in posts:
        twin = db.session.scalar(select(InformantPost.id).where(
            InformantPost.informant_id == post.informant_id, InformantPost.watch_point_id == post.watch_point_id,
            InformantPost.time_window_id.is_(None)))
        if twin is not None:
            db.session.delete(post)  # already posted there at any time
        else:
            post.time_window_id = None
    audit.record("time_window.remove", actor=by, target=window, watch_point=window.watch_point_id)
    db.session.delete(window)


# --- Tip categories: never deleted, old tips keep theirs ------------------------------------------


def categories_of(commune_id: int) -> list[Category]:
    return list(db.session.scalars(
        select(Category).where(Category.commune_id == commune_id).order_by(Category.position, Category.id)
    ))


def _new_code(commune_id: int, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
                  .encode("ascii", "ignore").decode().lower()).strip("_")[:24] or "category"
    taken = set(db.session.scalars(select(Category.code).where(Category.commune_id == commune_id)))
    code, n = base, 2
    while code in taken:
        code, n = f"{base[:24]}_{n}", n + 1
    return code


def add_category(commune: Unit, *, name: str, emoji: str, by, client_key: str | None = None) -> Category:
    """Add a category at the end of the commune's list (once per `client_key`)."""
    name = " ".join(name.split())
    return once(Category, client_key, lambda c: c.commune_id == commune.id and _fold(c.name) == _fold(name),
                lambda: _new_category(commune, name=name, emoji=emoji, by=by, client_key=client_key))


def _new_category(commune: Unit, *, name: str, emoji: str, by, client_key: str | None) -> Category:
    if _same_name(select(Category.name).where(Category.commune_id == commune.id), name):
        raise PlaceError("name")
    last = max((c.position for c in categories_of(commune.id)), default=-1)
    category = Category(commune_id=commune.id, code=_new_code(commune.id, name), name=name, emoji=emoji.strip(),
                        position=last + 1, active=True, client_key=client_key or None)
    db.session.add(category)
    db.session.flush()
    audit.record("category.add", actor=by, target=category, commune_id=commune.id)
    return category


def edit_category(category: Category, *, name: str, emoji: str, active: bool, by) -> None:
    """Rename a category or take it out of use (or back); its tips keep it either way."""
    name = " ".join(name.split())
    others = select(Category.name).where(Category.commune_id == category.commune_id, Category.id != category.id)
    if _same_name(others, name):
        raise PlaceError("name")
    changed = {k: True for k, old, new in (("renamed", category.name, name), ("emoji", category.emoji, emoji.strip()))
               if old != new}
    if category.active != active:
        changed["active"] = active
    if not changed:
        return
    category.name, category.emoji, category.active = name, emoji.strip(), active
    audit.record("category.edit", actor=by, target=category, **changed)


def move_category(category: Category, step: int, *, by) -> None:
    """Move a category one place up (step -1) or down (+1) in the list people choose from."""
    rows = categories_of(category.commune_id)
    i = next(n for n, c in enumerate(rows) if c.id == category.id)
    j = i + (1 if step > 0 else -1)
    if not 0 <= j < len(rows):
        return
    rows[i], rows[j] = rows[j], rows[i]
    for n, c in enumerate(rows):
        c.position = n
    audit.record("category.move", actor=by, target=category, position=j)


def duty_phone(commune_id: int) -> str:
    """Return the commune police's on-duty number as set by the commander; empty when none is set."""
    return CommuneSettings.of(commune_id).duty_phone or ""


# The settings' columns of the default due hours, by urgency (Urgency.LOW .. EMERGENCY).
DUE_COLUMNS = {1: "due_hours_low", 2: "due_hours_normal", 3: "due_hours_high", 4: "due_hours_emergency"}


def save_settings(commune: Unit, *, by, duty_phone: str, due_hours: dict[int, int],
                  retention_months: int | None = None) -> bool:
    """Save the commune's on-duty number, default task due hours by urgency and retention time; True if changed.

    Nothing changed writes nothing, not even an audit row. A new retention time is its own audit row.
    """
    settings = CommuneSettings.of(commune.id)
    new = {"duty_phone": duty_phone.strip()}
    new.update({DUE_COLUMNS[u]: hours for u, hours in due_hours.items()})
    changed = {k: v for k, v in new.items() if getattr(settings, k) != v}
    was_months = settings.retention_months
    months_changed = retention_months is not None and retention_months != was_months
    if not changed and not months_changed:
        return False
    for k, v in changed.items():
        setattr(settings, k, v)
    if months_changed:
        settings.retention_months = retention_months
    settings.updated_by_id = by.id if by else None
    db.session.add(settings)
    if changed:
        audit.record("commune.settings", actor=by, commune_id=commune.id, **changed)
    if months_changed:
        audit.record("commune.retention", actor=by, commune_id=commune.id, months=retention_months,
                     was=was_months)
    return True
