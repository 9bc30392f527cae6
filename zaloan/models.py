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

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
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
        """Return the commune's settings; an unsaved row with the defaults when none were set."""
        row = db.session.get(cls, commune_id)
        if row is None:
            row = cls(commune_id=commune_id, duty_phone="", due_hours_low=72, due_hours_normal=24,
                      due_hours_high=12, due_hours_emergency=2, require_two_step=False,
                      launched_on=None, old_open_days=20)
        return row


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

    # The officer's queue: tips of some villages by status, most urgent and oldest first. Its counts and
    # version find the tips in scope (an officer's villages, a commander's commune) through ix_tips_scope.
    # No index on status or urgency alone: four values each (see migration 0009).
    __table_args__ = (
        Index("ix_tips_queue", "village_id", "status", "urgency", "created_at"),
        Index("ix_tips_scope", "commune_id", "village_id", "status", "updated_at"),
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
    """The survey of a village's situation (counts and notes, never names)."""

    __tablename__ = "village_surveys"
    __table_args__ = (UniqueConstraint("village_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


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
