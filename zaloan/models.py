"""All tables of zaloan.

Times are stored as naive UTC datetimes (`utcnow()`), shown in Asia/Ho_Chi_Minh.

Informant identity (name, phone) lives only on the informant's `User` row.
Everything an informant sends (tips, messages, photos) points at the
`Informant` record, which carries nothing but an alias (NT-0007), so a page
that renders a tip cannot show who sent it by accident: reaching the name
takes an explicit join that only `zaloan.secrecy` performs.
"""
from __future__ import annotations

import functools
import secrets
from datetime import date, datetime, time, timezone

from flask import g, has_request_context
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (the stored form)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- Roles and fixed vocabularies -------------------------------------------


class Role:
    INFORMANT = "informant"
    VERIFIER = "verifier"
    OFFICER = "officer"
    COMMANDER = "commander"
    OBSERVER = "observer"
    # Công an tỉnh (PV05): sets up the province's communes, their commanders and observers; sees no tip.
    PROVINCE_ADMIN = "province_admin"
    # The roles of a commune's own accounts: what a commander may create.
    COMMUNE = (INFORMANT, VERIFIER, OFFICER, COMMANDER, OBSERVER)
    ALL = COMMUNE + (PROVINCE_ADMIN,)
    # Who an officer may create; the commander may create every role.
    OFFICER_MANAGES = (INFORMANT, VERIFIER)


class UnitKind:
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    VILLAGE = "village"
    ALL = (PROVINCE, DISTRICT, COMMUNE, VILLAGE)


class VerifierTitle:
    VILLAGE_HEAD = "village_head"  # trưởng thôn
    PART_TIME_POLICE = "part_time_police"  # công an viên bán chuyên trách
    FRONT_HEAD = "front_head"  # trưởng ban công tác mặt trận
    ALL = (VILLAGE_HEAD, PART_TIME_POLICE, FRONT_HEAD)


class WatchPointKind:
    MARKET = "market"
    EATERY = "eatery"
    KARAOKE = "karaoke"
    CROSSROADS = "crossroads"
    OTHER = "other"
    ALL = (MARKET, EATERY, KARAOKE, CROSSROADS, OTHER)


class TipStatus:
    NEW = "new"  # received, not yet looked at
    TRIAGED = "triaged"  # category and urgency set by the officer
    VERIFYING = "verifying"  # at least one verification task is open
    CLOSED = "closed"  # outcome recorded
    ALL = (NEW, TRIAGED, VERIFYING, CLOSED)
    OPEN = (NEW, TRIAGED, VERIFYING)


class Urgency:
    LOW = 1
    NORMAL = 2
    HIGH = 3
    EMERGENCY = 4
    ALL = (LOW, NORMAL, HIGH, EMERGENCY)


class Outcome:
    COMMUNE_POLICE = "commune_police"  # handled by the commune police
    HIGHER_POLICE = "higher_police"  # handed to higher police
    MEDIATED = "mediated"  # hòa giải
    SANCTION = "sanction"  # administrative sanction
    NO_VIOLATION = "no_violation"
    DUPLICATE = "duplicate"
    FALSE_REPORT = "false_report"
    ALL = (COMMUNE_POLICE, HIGHER_POLICE, MEDIATED, SANCTION, NO_VIOLATION, DUPLICATE, FALSE_REPORT)


class TaskStatus:
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"
    ALL = (OPEN, DONE, CANCELLED)


class Finding:
    CONFIRMED = "confirmed"
    PARTLY = "partly"
    NOT_FOUND = "not_found"
    ALREADY_HANDLED = "already_handled"
    ALL = (CONFIRMED, PARTLY, NOT_FOUND, ALREADY_HANDLED)


# --- Places -------------------------------------------------------------------


class Unit(db.Model):
    """An administrative unit: province, (district,) commune or village, as a tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    # A commune's part of its public address (/x/<slug>/report/); null for other kinds.
    slug: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # The officer in charge of a village (its "area"); null for other kinds.
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)  # the creating form's key (communes)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])

    def ancestors(self) -> list[Unit]:
        """Return the chain from this unit's parent up to the root."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def commune(self) -> Unit | None:
        """Return the commune this unit is in (itself if it is one)."""
        if self.kind == UnitKind.COMMUNE:
            return self
        return next((u for u in self.ancestors() if u.kind == UnitKind.COMMUNE), None)

    def villages(self) -> list[Unit]:
        """Return every village at or below this unit."""
        if self.kind == UnitKind.VILLAGE:
            return [self]
        out: list[Unit] = []
        for child in self.children:
            out.extend(child.villages())
        return out

    def path(self) -> str:
        """Return a readable path such as 'Thôn 1, Xã Tân Thành, Tỉnh Lạng Sơn'."""
        return ", ".join([self.name] + [u.name for u in self.ancestors()])


class CommuneSettings(db.Model):
    """What the commander sets for the commune: the on-duty number, default due times of tasks."""

    __tablename__ = "commune_settings"

    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    # The commune police's on-duty phone number, shown as a tel: link beside 113 (digits, +, spaces).
    duty_phone: Mapped[str] = mapped_column(String(20), default="")
    # Default time a verifier has to report, by the tip's urgency (Urgency.LOW .. EMERGENCY), in hours.
    due_hours_low: Mapped[int] = mapped_column(Integer, default=72)
    due_hours_normal: Mapped[int] = mapped_column(Integer, default=24)
    due_hours_high: Mapped[int] = mapped_column(Integer, default=12)
    due_hours_emergency: Mapped[int] = mapped_column(Integer, default=2)
    # Officers and the commander must log in with two steps (password, then a code from their app).
    require_two_step: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Deadlines (zaloan.deadlines): minutes an emergency tip may wait unread before the commander and the
    # other officers are told; hours a verifier has to accept a task before being reminded.
    emergency_unread_minutes: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    accept_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # How many months after closing the content of a closed tip is kept (zaloan.retention).
    retention_months: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # The name informants' phones show for the app (tab title, home screen); empty: "Sổ tay".
    notebook_name: Mapped[str] = mapped_column(String(40), default="", server_default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # The commune report (zaloan.reports): the day the model started here ("since the launch"), and
    # after how many days a tip still open is counted as old ("open, received more than N days ago").
    launched_on: Mapped[date | None] = mapped_column(Date)
    old_open_days: Mapped[int] = mapped_column(Integer, default=20, server_default="20")

    DEFAULT_DUE_HOURS = {1: 72, 2: 24, 3: 12, 4: 2}

    def due_hours(self, urgency: int) -> int:
        """Return the default hours a verification task of this urgency is due in."""
        column = {1: "due_hours_low", 2: "due_hours_normal", 3: "due_hours_high", 4: "due_hours_emergency"}
        value = getattr(self, column.get(urgency, "due_hours_normal"), None)
        return value if value else self.DEFAULT_DUE_HOURS.get(urgency, 24)

    @classmethod
    def of(cls, commune_id: int) -> CommuneSettings:
        """Return the commune's settings; an unsaved row with the defaults when none were set.

        A commune that never saved its settings has no row: within a request the
        defaults are made once (a page asks several times: the two-step check, the forms).
        """
        unsaved = g.setdefault("unsaved_commune_settings", {}) if has_request_context() else {}
        if commune_id in unsaved:
            return unsaved[commune_id]
        row = db.session.get(cls, commune_id)
        if row is not None:
            return row
        if commune_id not in unsaved:
            unsaved[commune_id] = cls(commune_id=commune_id, duty_phone="", due_hours_low=72, due_hours_normal=24,
                                      due_hours_high=12, due_hours_emergency=2, require_two_step=False,
                                      emergency_unread_minutes=10, accept_hours=24,
                                      retention_months=24, notebook_name="",
                                      launched_on=None, old_open_days=20)
        return unsaved[commune_id]


class WatchPoint(db.Model):
    """A place in a village where informants keep watch (điểm nắm tình hình)."""

    __tablename__ = "watch_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default=WatchPointKind.OTHER)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key

    village: Mapped[Unit] = relationship()
    windows: Mapped[list[TimeWindow]] = relationship(
        back_populates="watch_point", cascade="all, delete-orphan", order_by="TimeWindow.starts"
    )


class TimeWindow(db.Model):
    """A time of day when incidents happen at a watch point (khung giờ)."""

    __tablename__ = "time_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_point_id: Mapped[int] = mapped_column(ForeignKey("watch_points.id"), index=True)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)  # may be earlier than starts: crosses midnight
    label: Mapped[str] = mapped_column(String(80), default="")
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key

    watch_point: Mapped[WatchPoint] = relationship(back_populates="windows")

    def __str__(self) -> str:
        return f"{self.starts:%H:%M}–{self.ends:%H:%M}"


# --- People -------------------------------------------------------------------


@functools.cache
def _dummy_password_hash() -> str:
    """Return a hash of a random password, made once with the method real passwords use."""
    return generate_password_hash(secrets.token_urlsafe(16))



class User(UserMixin, db.Model):
    """An account. One role each; each belongs to one unit of the tree (`commune_id`).

    `commune_id` names the unit the account belongs to: its commune for every
    commune role (informant, verifier, officer, commander, and an observer of
    one commune); the province for a province administrator; a district or the
    province for an observer above the commune. Every commune rule compares it
    with a commune's id (a tip's, a person's, a village's parent), and no
    commune ever has a province's or a district's id, so an account above the
    commune never matches a commune's rows; the rules also ask for commune
    roles (zaloan.permissions).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164, e.g. +84912345678
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # null until activated
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Verifiers only: their village and title.
    village_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(32))
    # Officers: a position shown to colleagues (e.g. "Công an viên chính quy").
    position: Mapped[str] = mapped_column(String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key
    # Two-step login (TOTP, zaloan.twofactor): the key of the authenticator app, once confirmed;
    # a key shown but not yet confirmed; the last 30-second step used, so no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # When an informant's name and phone were erased on request (zaloan.retention); the alias stays.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)

    commune: Mapped[Unit] = relationship(foreign_keys=[commune_id])  # the account's unit (see above)
    village: Mapped[Unit | None] = relationship(foreign_keys=[village_id])
    created_by: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[created_by_id])
    informant: Mapped[Informant | None] = relationship(
        back_populates="user", foreign_keys="Informant.user_id", uselist=False
    )

    # Flask-Login reads is_active: a disabled account is refused everywhere.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @staticmethod
    def login_password_matches(user: User | None, password: str) -> bool:
        """Return whether `password` is `user`'s, at the cost of one hash whoever `user` is.

        An unknown phone or an account not yet activated is checked against a
        dummy hash made the same way, so the time a login takes never tells
        whether the phone has an account.
        """
        if user is not None and user.password_hash:
            return check_password_hash(user.password_hash, password)
        check_password_hash(_dummy_password_hash(), password)
        return False

    @property
    def activated(self) -> bool:
        return self.password_hash is not None

    @property
    def two_step_on(self) -> bool:
        """Whether logging in asks for a code from the authenticator app after the password."""
        return self.totp_secret is not None

    def areas(self) -> list[Unit]:
        """Return the villages this officer is in charge of."""
        return list(
            db.session.scalars(
                select(Unit).where(Unit.officer_id == self.id, Unit.kind == UnitKind.VILLAGE).order_by(Unit.name)
            )
        )

    def label(self) -> str:
        """Return how colleagues see this account. Never used for informants."""
        return self.full_name


class Informant(db.Model):
    """An informant as the police work sees them: an alias and a handler, no identity."""

    __tablename__ = "informants"
    __table_args__ = (UniqueConstraint("commune_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    alias: Mapped[str] = mapped_column(String(16))  # NT-0007, numbered per commune
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="informant", foreign_keys=[user_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    posts: Mapped[list[InformantPost]] = relationship(back_populates="informant", cascade="all, delete-orphan")


class InformantPost(db.Model):
    """The watch point (and time window) an informant was recruited for."""

    __tablename__ = "informant_posts"
    __table_args__ = (UniqueConstraint("informant_id", "watch_point_id", "time_window_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    informant_id: Mapped[int] = mapped_column(ForeignKey("informants.id"), index=True)
    watch_point_id: Mapped[int] = mapped_column(ForeignKey("watch_points.id"), index=True)
    time_window_id: Mapped[int | None] = mapped_column(ForeignKey("time_windows.id"))

    informant: Mapped[Informant] = relationship(back_populates="posts")
    watch_point: Mapped[WatchPoint] = relationship()
    time_window: Mapped[TimeWindow | None] = relationship()


# --- Accounts: activation, sessions, login attempts ---------------------------


class ActivationCode(db.Model):
    """A one-time code a new person opens on their own phone to set a password."""

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the code
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class UserSession(db.Model):
    """A server-side session: the cookie holds only its random token.

    `browser` and `os` are the short family names read from the User-Agent at
    login ("Chrome Mobile", "Android"), shown on the person's own sessions
    page; neither the whole User-Agent nor the address is kept.
    `device_key` is the keyed hash of the device cookie given with this login
    (accounts.after_login_success); the device is trusted again only while
    `device_revoked_at` is empty.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Why it ended, when that is something the browser holding it should be told ("takeover").
    revoked_reason: Mapped[str | None] = mapped_column(String(16))
    browser: Mapped[str | None] = mapped_column(String(40))
    os: Mapped[str | None] = mapped_column(String(40))
    device_key: Mapped[str | None] = mapped_column(String(64), index=True)
    device_revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class AccountTakeover(db.Model):
    """A new way into an account that was already in use: a new activation code issued for a stated reason.

    The person is told at their next password sign-in (`notice_seen_at` stays
    empty until then), and their old phone is told when it next opens the app.
    """

    __tablename__ = "account_takeovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # one of zaloan.takeover.REASONS
    reason: Mapped[str] = mapped_column(String(300))  # the officer's own words
    lost_phone: Mapped[bool] = mapped_column(Boolean, default=False)  # the old password was cancelled too
    code_id: Mapped[int | None] = mapped_column(ForeignKey("activation_codes.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime)  # when the new code was used
    notice_seen_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])


class LoginAttempt(db.Model):
    """One login attempt, counted per phone and per client (shared by all workers)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_key: Mapped[str] = mapped_column(String(64), index=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash, not the address
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # The keyed hash of the trusted device cookie the attempt came with; empty for an untrusted client.
    device_key: Mapped[str | None] = mapped_column(String(64), index=True)


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (a lost or broken phone). Only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class PublicAttempt(db.Model):
    """One use of a form open to anyone (an anonymous tip sent, a wrong code tried), counted per client."""

    __tablename__ = "public_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    client_key: Mapped[str] = mapped_column(String(64))  # keyed hash, not the address
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    __table_args__ = (Index("ix_public_attempts_kind_client", "kind", "client_key", "created_at"),)


# --- Tips and the work on them ------------------------------------------------


class Category(db.Model):
    """A tip category; the commander edits the commune's list."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    emoji: Mapped[str] = mapped_column(String(8), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key

    __table_args__ = (UniqueConstraint("commune_id", "code"),)


class Tip(db.Model):
    """A tip (tin báo) sent by an informant or an anonymous villager."""

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # receipt code shown to the sender
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    informant_id: Mapped[int | None] = mapped_column(ForeignKey("informants.id"), index=True)  # null: anonymous
    # Anonymous senders follow up with the receipt code plus a secret they keep.
    anon_secret_hash: Mapped[str | None] = mapped_column(String(64))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    watch_point_id: Mapped[int | None] = mapped_column(ForeignKey("watch_points.id"))
    place_text: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    urgency: Mapped[int] = mapped_column(Integer, default=Urgency.NORMAL)
    body: Mapped[str] = mapped_column(Text, default="")  # raw text: never shown to verifiers
    status: Mapped[str] = mapped_column(String(16), default=TipStatus.NEW)
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When a police officer first opened the tip (the sender is told); null: nobody has read it yet.
    first_read_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Idempotency: the key the sender's form made; a retried POST finds this tip.
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # When handling must be done (zaloan.deadlines): set from the category when received and when the
    # category changes, moved by extensions; null for a tip of no category.
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the content (text, photos, messages, free-text places and notes) was erased under the
    # commune's retention rule (zaloan.retention); dates, village, category, outcome and status stay.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)

    # The condition of the partial index ix_tips_alarm, as the index has it: a planner uses a partial
    # index only for a query that states its condition in these words, not through bound parameters.
    ALARM_SQL = "urgency = 4 AND first_read_at IS NULL"

    # The officer's queue: tips of some villages by status, most urgent and oldest first. Its counts
    # and rows find the tips in scope (an officer's villages, a commander's commune) through ix_tips_scope;
    # the alarm under the navigation through ix_tips_alarm (only the unread emergencies are in it).
    # No index on status or urgency alone: four values each (see migrations 0009 and 0020).
    __table_args__ = (
        Index("ix_tips_queue", "village_id", "status", "urgency", "created_at"),
        Index("ix_tips_scope", "commune_id", "village_id", "status", "updated_at"),
        Index("ix_tips_alarm", "commune_id", "village_id",
              sqlite_where=text(ALARM_SQL), postgresql_where=text(ALARM_SQL)),
        # The commune report: a commune's tips received in a period, one range of this index (migration 0013).
        Index("ix_tips_commune_created", "commune_id", "created_at"),
    )

    informant: Mapped[Informant | None] = relationship()
    category: Mapped[Category | None] = relationship()
    village: Mapped[Unit | None] = relationship(foreign_keys=[village_id])
    watch_point: Mapped[WatchPoint | None] = relationship()
    duplicate_of: Mapped[Tip | None] = relationship(remote_side=[id], back_populates="duplicates")
    duplicates: Mapped[list[Tip]] = relationship(back_populates="duplicate_of")
    events: Mapped[list[TipEvent]] = relationship(back_populates="tip", order_by="TipEvent.id")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="tip", foreign_keys="Attachment.tip_id", order_by="Attachment.id"
    )
    messages: Mapped[list[Message]] = relationship(back_populates="tip", order_by="Message.id")
    tasks: Mapped[list[VerificationTask]] = relationship(back_populates="tip", order_by="VerificationTask.id")

    @property
    def is_open(self) -> bool:
        return self.status in TipStatus.OPEN


class Attachment(db.Model):
    """A photo, re-encoded without metadata, stored outside static/ under a random name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("task_assignments.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # null: anonymous sender
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    tip: Mapped[Tip | None] = relationship(back_populates="attachments", foreign_keys=[tip_id])
    message: Mapped[Message | None] = relationship(foreign_keys=[message_id], overlaps="attachments")
    assignment: Mapped[TaskAssignment | None] = relationship(foreign_keys=[assignment_id], overlaps="photos")


class TipEvent(db.Model):
    """One step on a tip's timeline: who did what, when."""

    __tablename__ = "tip_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # null: informant/anonymous/system
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tip: Mapped[Tip] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Message(db.Model):
    """A message in a tip's private thread between its sender and the officer."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # null: anonymous sender
    from_police: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    tip: Mapped[Tip] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(foreign_keys="Attachment.message_id")


class VerificationTask(db.Model):
    """A request to check on the ground, written by the officer in their own words."""

    __tablename__ = "verification_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    brief: Mapped[str] = mapped_column(Text)  # never the raw tip text
    place_hint: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # Chosen by the officer on the task form (the tip's urgency is offered), shown to the verifiers.
    urgency: Mapped[int] = mapped_column(Integer, default=Urgency.NORMAL)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    tip: Mapped[Tip] = relationship(back_populates="tasks")
    village: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()
    assignments: Mapped[list[TaskAssignment]] = relationship(back_populates="task", order_by="TaskAssignment.id")
    shared_photos: Mapped[list[Attachment]] = relationship(secondary="task_shared_photos")


class TaskSharedPhoto(db.Model):
    """A tip photo the officer chose to show the verifiers of a task."""

    __tablename__ = "task_shared_photos"

    task_id: Mapped[int] = mapped_column(ForeignKey("verification_tasks.id"), primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), primary_key=True)


class TaskAssignment(db.Model):
    """One verifier's part of a task: accept, then report once."""

    __tablename__ = "task_assignments"
    __table_args__ = (UniqueConstraint("task_id", "verifier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("verification_tasks.id"), index=True)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)
    finding: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text, default="")
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    task: Mapped[VerificationTask] = relationship(back_populates="assignments")
    verifier: Mapped[User] = relationship()
    photos: Mapped[list[Attachment]] = relationship(foreign_keys="Attachment.assignment_id")


# --- Survey baseline ------------------------------------------------------------


class VillageSurvey(db.Model):
    """One saved version of a village's security survey for a period (counts and notes, never names).

    Every save is a new row (version 1, 2... of the village and period), with who saved it and when;
    the newest row is the survey. Its fields and forms live in zaloan.surveys.
    """

    __tablename__ = "village_surveys"
    __table_args__ = (UniqueConstraint("village_id", "period", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8), default="", server_default="")  # "2026", "2026-H1", "2026-H2"
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")  # the groups under management, in short notes
    strengths: Mapped[str] = mapped_column(Text, default="", server_default="")  # ưu điểm
    weaknesses: Mapped[str] = mapped_column(Text, default="", server_default="")  # tồn tại
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who saved this version
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # when
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the saving form's key
    content_hash: Mapped[str | None] = mapped_column(String(64))

    village: Mapped[Unit] = relationship(foreign_keys=[village_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])


# --- Audit -------------------------------------------------------------------------


class AuditEvent(db.Model):
    """An append-only audit record, chained to the previous one by a keyed hash (see zaloan.audit)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(24), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Which audit key sealed the row (zaloan.audit_keys.key_id); "sha256" for rows
    # hashed before the key existed, with plain SHA-256.
    key_id: Mapped[str] = mapped_column(String(16), server_default="sha256")
    # Which chain the row is in: its commune's id, or 0 for rows of no commune (the deployment's).
    # NULL: written when the whole installation had one chain (before revision 0011).
    chain: Mapped[int | None] = mapped_column(Integer)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_audit_events_chain_id", "chain", "id"),)


class AuditCheckpoint(db.Model):
    """The head of the audit chain at one moment (rows, last id, hash), sealed with the audit key.

    The same line is written to a file outside the database (zaloan.audit):
    a log cut after a checkpoint, or rewritten before it, no longer matches.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    # What took it: "daily" (the first audit row of the day), "command", "backup", "rotate".
    source: Mapped[str] = mapped_column(String(16), default="command")
    # The chain whose head it records (AuditEvent.chain); NULL: the single chain of before revision 0011.
    chain: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_audit_checkpoints_chain_id", "chain", "id"),)


class CommuneClock(db.Model):
    """A number that moves on every change to a commune's tips, villages, categories, informants,
    announcements or rules versions.

    Triggers move it (migrations 0020, 0026): the officer's queue reads one row to know whether anything changed.
    """

    __tablename__ = "commune_clocks"
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")


class UserClock(db.Model):
    """A number that moves on every change to a person's notifications, announcement reads and rules agreements.

    Triggers move it (migration 0026): what every page shows about its person is kept by it (zaloan.kept).
    """

    __tablename__ = "user_clocks"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")


# --- Commendations (khen thưởng) of the yearly review ---------------------------------------------
# Kept in one block: a proposal for one candidate, the commander's decision on it, and the signed
# decisions (Quyết định khen thưởng) that group the approved ones for printing.


class CommendationKind:
    INFORMANT = "informant"  # by alias; the name only on a printed decision, as an audited reveal
    VERIFIER = "verifier"
    VILLAGE_GROUP = "village_group"  # the verification group of a village
    COLLECTIVE = "collective"  # any other group, named in free text
    ALL = (INFORMANT, VERIFIER, VILLAGE_GROUP, COLLECTIVE)


class CommendationStatus:
    PROPOSED = "proposed"
    APPROVED = "approved"
    DECLINED = "declined"
    ALL = (PROPOSED, APPROVED, DECLINED)


class CommendationTip(db.Model):
    """A tip named on a commendation as one that earned it."""

    __tablename__ = "commendation_tips"

    commendation_id: Mapped[int] = mapped_column(ForeignKey("commendations.id"), primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), primary_key=True)


class CommendationDecision(db.Model):
    """A signed decision (Quyết định khen thưởng) grouping approved commendations: number, date, signer."""

    __tablename__ = "commendation_decisions"
    __table_args__ = (UniqueConstraint("commune_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))  # e.g. 12/QĐ-CAX
    signed_on: Mapped[date] = mapped_column(Date)
    signer: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    commendations: Mapped[list[Commendation]] = relationship(back_populates="decision",
                                                             order_by="Commendation.id")


class Commendation(db.Model):
    """A proposal to commend one person or group; the commander (never the proposer) approves or declines it."""

    __tablename__ = "commendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The candidate: one of these, by `kind`.
    informant_id: Mapped[int | None] = mapped_column(ForeignKey("informants.id"), index=True)
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    collective_name: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text)
    reward: Mapped[str] = mapped_column(String(120))  # Giấy khen, Thư khen, tiền thưởng...
    # The period whose contribution the proposer looked at (local dates, both included).
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CommendationStatus.PROPOSED, index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    proposed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("commendation_decisions.id"), index=True)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    informant: Mapped[Informant | None] = relationship()
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id])
    village: Mapped[Unit | None] = relationship(foreign_keys=[village_id])
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    decision: Mapped[CommendationDecision | None] = relationship(back_populates="commendations")
    tips: Mapped[list[Tip]] = relationship(secondary="commendation_tips", order_by="Tip.id")


# --- Deadlines and escalation (zaloan.deadlines) --------------------------------------------------


class CategoryLimit(db.Model):
    """How long the commune gives itself to handle a tip of a category.

    A crime report (tin báo về tội phạm) has the 20 days of the Criminal
    Procedure Code 2015, art. 147, whatever is set here; other categories
    (administrative violations, disputes, social evils) the commune's own
    number of days. No row: the defaults of zaloan.deadlines.
    """

    __tablename__ = "category_limits"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    crime: Mapped[bool] = mapped_column(Boolean, default=False)
    days: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeadlineExtension(db.Model):
    """One extension of a crime report's deadline: who, why, approved by whom, from when to when.

    At most two per tip (art. 147: one of up to two months for a complex case,
    then one more of up to two months); the unique number keeps a third out
    even when two are sent at once.
    """

    __tablename__ = "deadline_extensions"
    __table_args__ = (UniqueConstraint("tip_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 or 2
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    authority: Mapped[str] = mapped_column(String(200))  # who approved it, as written on the decision
    old_deadline: Mapped[datetime] = mapped_column(DateTime)
    new_deadline: Mapped[datetime] = mapped_column(DateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    by: Mapped[User | None] = relationship()


class Escalation(db.Model):
    """One "tell someone" of the deadlines' sweep; its unique key makes each fire once, however often it runs."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(200), default="")
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # user ids
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


# --- Retention and erasure (zaloan.retention) ------------------------------------------


class IdentityErasure(db.Model):
    """A request to erase an informant's name and phone: made by an officer, confirmed or refused by the commander."""

    __tablename__ = "identity_erasures"

    REQUESTED = None  # outcome while waiting
    DONE = "done"
    REFUSED = "refused"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    informant_id: Mapped[int] = mapped_column(ForeignKey("informants.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))  # who asked and how, in the officer's words (no identity)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))

    informant: Mapped[Informant] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --- Notifications and their outbox (zaloan.notify, zaloan.outbox) ----------------------------


class Channel:
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    ALL = (SMS, EMAIL, PUSH)


class OutboxStatus:
    PENDING = "pending"  # waiting for its time (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until lease_until; past it, another worker takes it again
    SENT = "sent"
    DEAD = "dead"  # every try failed: the commander sees it and may try again
    ALL = (PENDING, SENDING, SENT, DEAD)


class Notification(db.Model):
    """One thing for one person to look at in the app ("you have 1 new item"); never the tip's content.

    `key` names the event that caused it; with the person it is unique, so an
    event notifies each person once whatever retries happen.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", "user_id", name="uq_notifications_key_user"),
        # The unread count in every page's navigation: one range of this index.
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(200))  # a path inside the app
    key: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxMessage(db.Model):
    """A notification to deliver outside the app on one channel, exactly once (a worker sends it)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_outbox_notification_channel"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_commune_status", "commune_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[str] = mapped_column(String(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    claim: Mapped[str | None] = mapped_column(String(32))  # the claiming worker's token
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    notification: Mapped[Notification] = relationship()
    user: Mapped[User] = relationship()


class NotifyPrefs(db.Model):
    """How one person wants to hear of new things: channels, an email address, quiet hours."""

    __tablename__ = "notify_prefs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(120), default="")
    sms_on: Mapped[bool] = mapped_column(Boolean, default=True)
    email_on: Mapped[bool] = mapped_column(Boolean, default=True)
    push_on: Mapped[bool] = mapped_column(Boolean, default=True)
    # Local (Asia/Ho_Chi_Minh) times; from > to crosses midnight; both null: no quiet hours.
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_to: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class PushSubscription(db.Model):
    """A browser's Web Push subscription (one per phone the person turned it on)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(600), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CommuneChannels(db.Model):
    """Which delivery channels a commune uses (each also needs its server set up in the config)."""

    __tablename__ = "commune_channels"

    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    sms_on: Mapped[bool] = mapped_column(Boolean, default=True)
    email_on: Mapped[bool] = mapped_column(Boolean, default=True)
    push_on: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


# --- Announcements and the model's operating rules (propaganda, seed II.2) -------------------------


class Audience:
    """Who an announcement is for."""

    MEMBERS = "members"  # every informant, verifier and officer of the commune
    INFORMANTS = "informants"  # the informants of one officer (`Announcement.officer_id`)
    VERIFIERS = "verifiers"  # the verifiers of one village (`Announcement.village_id`), or of all when null
    PUBLIC = "public"  # anyone: the commune's public page and its anonymous tip page
    ALL = (MEMBERS, INFORMANTS, VERIFIERS, PUBLIC)


class Announcement(db.Model):
    """A short announcement (tuyên truyền) by the commander or an officer, to one audience.

    Withdrawn ones are kept (`withdrawn_at`), shown to nobody but their author
    and the commander. One optional photo, cleaned like every upload
    (zaloan.images), is kept beside it under `photo_name`.
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # Audience.INFORMANTS: whose
    village_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # Audience.VERIFIERS: which (null: all)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    photo_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    shows_from: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # scheduled: hidden before this time
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key
    content_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_announcements_commune_shows", "commune_id", "shows_from"),)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    village: Mapped[Unit | None] = relationship(foreign_keys=[village_id])


class AnnouncementRead(db.Model):
    """A member pressed "Đã xem" on an announcement (counted for its author, never listed by informant)."""

    __tablename__ = "announcement_reads"
    __table_args__ = (UniqueConstraint("announcement_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RulesVersion(db.Model):
    """One version of the model's operating rules (quy chế hoạt động) of a commune; the newest is in force."""

    __tablename__ = "rules_versions"
    __table_args__ = (UniqueConstraint("commune_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... per commune
    body: Mapped[str] = mapped_column(Text)  # plain text; lines starting "# " are headings
    note: Mapped[str] = mapped_column(String(300), default="")  # what changed, in the commander's words
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # the creating form's key
    content_hash: Mapped[str | None] = mapped_column(String(64))

    author: Mapped[User | None] = relationship()


class RulesAck(db.Model):
    """A member read a version of the rules and pressed "Tôi đã đọc và đồng ý"."""

    __tablename__ = "rules_acks"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rules_versions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    acked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- A phone that does not betray its owner (zaloan.safety) ---------------------------------


class PhoneLock(db.Model):
    """An informant's PIN: after `idle_minutes` without use, their pages ask for it before showing anything."""

    __tablename__ = "phone_locks"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(255))
    idle_minutes: Mapped[int] = mapped_column(Integer, default=5)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SessionLock(db.Model):
    """What one signed-in session did last, and the wrong PINs typed in it since the last right one."""

    __tablename__ = "session_locks"

    session_id: Mapped[int] = mapped_column(ForeignKey("user_sessions.id"), primary_key=True)
    active_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)


# --- Voice notes (a tip, an answer or a report spoken instead of typed) -----------------------------


class VoiceNote(db.Model):
    """A short voice note, re-encoded as Opus without any tag, stored outside static/ under a random name.

    A voice is an identity: it is heard by its sender and the police of its tip
    (a verifier's own note by the police too), never by a verifier of the tip.
    The officer may write what it says (`summary`) for the record.
    """

    __tablename__ = "voice_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("task_assignments.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # null: anonymous sender
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary_at: Mapped[datetime | None] = mapped_column(DateTime)

    tip: Mapped[Tip | None] = relationship(foreign_keys=[tip_id])
    message: Mapped[Message | None] = relationship(foreign_keys=[message_id])
    assignment: Mapped[TaskAssignment | None] = relationship(foreign_keys=[assignment_id])


# --- The standing channel between an informant and the commune police (zaloan.conversations) ----------


class ChannelMessage(db.Model):
    """A message in an informant's standing conversation with the commune police.

    The conversation belongs to the informant, not to an officer: it is read
    by whoever handles the informant now (and the commander), so a handover
    passes its whole history to the new handler. A police message can be a
    request ("nhờ để ý": a place, a time window, a due time); an informant's
    message can answer one, and can become a tip (`tip_id`, once).
    """

    __tablename__ = "channel_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    informant_id: Mapped[int] = mapped_column(ForeignKey("informants.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_police: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    is_request: Mapped[bool] = mapped_column(Boolean, default=False)
    watch_point_id: Mapped[int | None] = mapped_column(ForeignKey("watch_points.id"))
    place_text: Mapped[str] = mapped_column(String(200), default="")
    window_from: Mapped[datetime | None] = mapped_column(DateTime)
    window_to: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("channel_messages.id"))
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), unique=True)  # the tip it became
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    informant: Mapped[Informant] = relationship()
    author: Mapped[User | None] = relationship()
    watch_point: Mapped[WatchPoint | None] = relationship()
    reply_to: Mapped[ChannelMessage | None] = relationship(remote_side=[id])
    tip: Mapped[Tip | None] = relationship()


# --- The yearly review document (zaloan.review) ---------------------------------------------


class ReviewDraft(db.Model):
    """One saved version of the commander's judgement in a period's review (sơ kết): sections II and III.

    Every save is a new row (version 1, 2... of the commune and period), with who saved it and when;
    the newest row is the one shown. The figures of section I are never stored: they come from the report.
    """

    __tablename__ = "review_drafts"
    __table_args__ = (UniqueConstraint("commune_id", "period_start", "period_end", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    strengths: Mapped[str] = mapped_column(Text, default="")  # ưu điểm
    weaknesses: Mapped[str] = mapped_column(Text, default="")  # tồn tại
    causes: Mapped[str] = mapped_column(Text, default="")  # nguyên nhân
    directions: Mapped[str] = mapped_column(Text, default="")  # phương hướng
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
