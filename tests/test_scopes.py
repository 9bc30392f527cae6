"""Every access rule's predicate agrees with its SQL scope, on generated communes (a property test).

A predicate answers for one object (a page, a button); its scope gives the
list (a queue, the people list). If they disagree, a list shows what its page
refuses, or hides what the page allows. Hypothesis makes random communes
(villages, officers in charge of some of them, informants with or without a
handler, verifiers, tips with or without a village or a sender, tasks) and
every pair is checked for every account against every row, across communes.
"""
from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from zaloan import permissions as P
from zaloan.extensions import db
from zaloan.models import (
    Informant,
    Role,
    TaskAssignment,
    Tip,
    Unit,
    UnitKind,
    User,
    VerificationTask,
    utcnow,
)
from zaloan.models import Notification, OutboxMessage
from zaloan.models import Announcement, Audience

from .conftest import make_app

# (predicate, scope, model): the scope is a condition on `model`'s rows.
PAIRS = [
    (P.can_work_tip, P.tips_for, Tip),
    (P.can_manage_user, P.people_for, User),
    (P.can_use_village, P.villages_for, Unit),
    (P.can_handle_informant, P.informants_for, Informant),
    (P.is_tip_sender, P.sent_tips_for, Tip),
    (P.is_assignee, P.assignments_for, TaskAssignment),
    (P.can_run_province, P.province_communes_for, Unit),
    (P.can_help_commander, P.province_commanders_for, User),
    (P.can_see_figures, P.figures_for, Unit),
    # Notifications: one's own; the commune's outbox for its commander.
    (P.owns_notification, P.notifications_for, Notification),
    (P.can_retry_outbox, P.outbox_for, OutboxMessage),
    (P.counts_in_report, P.report_tips_for, Tip),
    (P.counts_village_in_report, P.report_villages_for, Unit),
]
# The rules on rows inside a commune: an account above the commune (its unit a province or a
# district) must get nothing from any of them, whatever the commune rules compare.
COMMUNE_PAIRS = PAIRS[:6]
# Announcements (zaloan.announcements): who they are addressed to, who manages them, who may open them.
ANNOUNCEMENT_PAIRS = [
    (P.is_addressed_to, P.addressed_to, Announcement),
    (P.can_manage_announcement, P.managed_announcements_for, Announcement),
    (P.can_read_announcement, P.announcements_for, Announcement),
]
PAIRS += ANNOUNCEMENT_PAIRS
COMMUNE_PAIRS += ANNOUNCEMENT_PAIRS
# The standing conversation with each informant (zaloan.conversations): the informant, their handler, the commander.
CHANNEL_PAIRS = [(P.can_use_channel, P.channels_for, Informant)]
PAIRS += CHANNEL_PAIRS
COMMUNE_PAIRS += CHANNEL_PAIRS

SERIAL = count(1)


@pytest.fixture(scope="module")
def world_app(tmp_path_factory, databases):
    """One migrated, empty database for the whole module; each example writes in a transaction rolled back."""
    from flask_migrate import upgrade

    tmp = tmp_path_factory.mktemp("scopes")
    url = databases.empty(tmp)
    app = make_app(tmp, url)
    with app.app_context():
        upgrade()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def person(role: str, commune: Unit, **extra) -> User:
    n = next(SERIAL)
    user = User(phone=f"+8490{n:07d}", full_name=f"Người {n}", role=role, commune_id=commune.id, **extra)
    db.session.add(user)
    db.session.flush()
    return user


def build(data) -> None:
    """Make a random province of 1 to 3 communes (some under a district) in the current transaction.

    Above the communes: the province's administrator, an observer of the province and one of the district.
    """
    province = Unit(kind=UnitKind.PROVINCE, name="Tỉnh thử")
    db.session.add(province)
    db.session.flush()
    district = Unit(kind=UnitKind.DISTRICT, name="Huyện thử", parent_id=province.id)
    db.session.add(district)
    db.session.flush()
    person(Role.PROVINCE_ADMIN, province)
    person(Role.OBSERVER, province)
    person(Role.OBSERVER, district)
    for c in range(data.draw(st.integers(1, 3), label="communes")):
        parent = data.draw(st.sampled_from([province, district]), label="commune's parent")
        commune = Unit(kind=UnitKind.COMMUNE, name=f"Xã {c}", parent_id=parent.id)
        db.session.add(commune)
        db.session.flush()
        villages = []
        for v in range(data.draw(st.integers(1, 3), label="villages")):
            village = Unit(kind=UnitKind.VILLAGE, name=f"Thôn {c}.{v}", parent_id=commune.id)
            db.session.add(village)
            villages.append(village)
        db.session.flush()
        commander = person(Role.COMMANDER, commune)
        person(Role.OBSERVER, commune)
        officers = [person(Role.OFFICER, commune) for _ in range(data.draw(st.integers(0, 3), label="officers"))]
        for village in villages:
            village.officer_id = data.draw(st.sampled_from([None] + [o.id for o in officers]), label="in charge")
        verifiers = [person(Role.VERIFIER, commune, village_id=data.draw(st.sampled_from([v.id for v in villages])))
                     for _ in range(data.draw(st.integers(0, 3), label="verifiers"))]
        informants = []
        for _ in range(data.draw(st.integers(0, 3), label="informants")):
            user = person(Role.INFORMANT, commune)
            handler = data.draw(st.sampled_from([None] + [o.id for o in officers]), label="handler")
            informant = Informant(user_id=user.id, alias=f"NT-{next(SERIAL):04d}", commune_id=commune.id,
                                  handler_id=handler)
            db.session.add(informant)
            informants.append(informant)
        db.session.flush()
        for _ in range(data.draw(st.integers(0, 4), label="tips")):
            village = data.draw(st.sampled_from([None] + villages), label="tip village")
            sender = data.draw(st.sampled_from([None] + informants), label="sender")
            tip = Tip(code=f"T{next(SERIAL):07d}", commune_id=commune.id, village_id=village.id if village else None,
                      informant_id=sender.id if sender else None, occurred_at=utcnow())
            db.session.add(tip)
            db.session.flush()
            if village is not None and verifiers and data.draw(st.booleans(), label="task"):
                task = VerificationTask(tip_id=tip.id, village_id=village.id, brief="Xem giúp.",
                                        due_at=utcnow() + timedelta(hours=6))
                db.session.add(task)
                db.session.flush()
                for verifier in data.draw(st.lists(st.sampled_from(verifiers), min_size=1, max_size=2, unique=True)):
                    db.session.add(TaskAssignment(task_id=task.id, verifier_id=verifier.id))
        # A notification and its outbox row for some of the commune's people (zaloan.notify).
        for user in data.draw(st.lists(st.sampled_from([commander] + officers + verifiers), max_size=3,
                                       unique_by=lambda u: u.id), label="notified"):
            note = Notification(user_id=user.id, commune_id=commune.id, kind="new_tip", url="/",
                                key=f"k{next(SERIAL)}")
            db.session.add(note)
            db.session.flush()
            db.session.add(OutboxMessage(notification_id=note.id, user_id=user.id, commune_id=commune.id,
                                         channel="sms"))
        db.session.flush()
        add_announcements(data, commune, officers, villages)


def add_announcements(data, commune: Unit, officers: list[User], villages: list[Unit]) -> None:
    """Announcements of every audience, some scheduled ahead, some withdrawn, by the commander or an officer."""
    commander = db.session.scalar(select(User).where(User.commune_id == commune.id, User.role == Role.COMMANDER))
    for _ in range(data.draw(st.integers(0, 4), label="announcements")):
        audience = data.draw(st.sampled_from(Audience.ALL), label="audience")
        officer = data.draw(st.sampled_from([None] + [o.id for o in officers]), label="whose informants")
        village = data.draw(st.sampled_from([None] + [v.id for v in villages]), label="which village")
        author = data.draw(st.sampled_from([commander] + officers), label="author")
        db.session.add(Announcement(
            commune_id=commune.id, author_id=author.id, audience=audience, title="Thông báo",
            officer_id=officer if audience == Audience.INFORMANTS else None,
            village_id=village if audience == Audience.VERIFIERS else None,
            shows_from=utcnow() + timedelta(hours=data.draw(st.sampled_from([-2, 3]), label="shows in")),
            withdrawn_at=utcnow() if data.draw(st.booleans(), label="withdrawn") else None))
    db.session.flush()


def check_pairs(pairs=PAIRS) -> int:
    """Compare each predicate with its scope for every account; return how many (actor, row) pairs were checked."""
    db.session.expire_all()
    actors = db.session.scalars(select(User)).all()
    checked = 0
    for predicate, scope, model in pairs:
        rows = db.session.scalars(select(model)).all()
        for actor in actors:
            listed = set(db.session.scalars(select(model.id).where(scope(actor))))
            allowed = {row.id for row in rows if predicate(actor, row)}
            assert listed == allowed, (f"{predicate.__name__} and {scope.__name__} disagree for a {actor.role}: "
                                       f"listed but refused {sorted(listed - allowed)}, "
                                       f"allowed but not listed {sorted(allowed - listed)}")
            checked += len(rows)
            above = actor.role == Role.PROVINCE_ADMIN or actor.commune.kind != UnitKind.COMMUNE
            if above and any(predicate is p for p, _s, _m in COMMUNE_PAIRS):
                assert not listed and not allowed, (f"{predicate.__name__} lets a {actor.role} of a "
                                                    f"{actor.commune.kind} reach rows inside a commune")
    return checked


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_every_predicate_agrees_with_its_scope(world_app, data):
    with world_app.app_context():
        try:
            build(data)
            assert check_pairs() > 0
        finally:
            db.session.rollback()


def test_the_check_finds_a_scope_that_lists_too_much(world_app):
    """The measure itself: a scope that forgets the commune is caught."""
    from sqlalchemy import true

    with world_app.app_context():
        try:
            commune = Unit(kind=UnitKind.COMMUNE, name="Xã A")
            other = Unit(kind=UnitKind.COMMUNE, name="Xã B")
            db.session.add_all([commune, other])
            db.session.flush()
            person(Role.COMMANDER, commune)
            db.session.add(Tip(code=f"T{next(SERIAL):07d}", commune_id=other.id, occurred_at=utcnow()))
            db.session.flush()
            with pytest.raises(AssertionError, match="listed but refused"):
                check_pairs([(P.can_work_tip, lambda actor: true(), Tip)])
        finally:
            db.session.rollback()
