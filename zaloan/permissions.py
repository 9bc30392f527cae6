"""Who may do what. Deny by default.

Every view declares who may call it with `@allow(...)`. A request to a view
without a declaration is refused (404) by `enforce_access`, so a new route
cannot be reachable by accident; the route × role test in the suite reads
the same declarations from `app.url_map`.

Object-level rules come in pairs: a predicate on one object
(`can_work_tip(actor, tip)`), used by views through the loaders below and by
templates as Jinja tests (`{% if current_user is can_manage_user(person) %}`),
and its SQL scope for lists (`tips_for(actor)`, a condition to put in a
`where`), so no view writes its own filter and a list never shows what a page
would refuse. A property test (tests/test_scopes.py) checks every pair agrees
on generated communes. A forbidden object answers 404, like a missing one.

Every rule holds within the actor's commune: nothing here ever reaches
another commune's rows. Accounts above the commune (the province
administrator, an observer of a district or the province) reach communes as
a whole, never a row inside one (see "Above the commune" below).
"""
from __future__ import annotations

from typing import Callable

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import and_, bindparam, false, literal, or_, select

from .extensions import db
from .inputs import to_int
from .models import Category, Informant, Role, TaskAssignment, TimeWindow, Tip, Unit, UnitKind, User, WatchPoint

PUBLIC = "public"  # anyone, logged in or not
ANY_USER = "any_user"  # any logged-in account


def allow(*who: str):
    """Declare who may call a view: roles, PUBLIC or ANY_USER."""
    for w in who:
        if w not in Role.ALL and w not in (PUBLIC, ANY_USER):
            raise ValueError(f"unknown access rule {w!r}")

    def decorate(view):
        view.access = frozenset(who)
        return view

    return decorate


def access_rule(endpoint: str) -> frozenset[str] | None:
    """Return the declared rule of an endpoint, or None when it declares nothing."""
    if endpoint == "static":
        return frozenset({PUBLIC})
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def may_call(user, rule: frozenset[str]) -> bool:
    if PUBLIC in rule:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return role_may_call(user.role, rule)


def role_may_call(role: str, rule: frozenset[str]) -> bool:
    """Whether a signed-in account of `role` may call an endpoint of `rule` (the rule's own test)."""
    return PUBLIC in rule or ANY_USER in rule or role in rule


def enforce_access():
    """Refuse a request whose endpoint the current user may not call (before_request)."""
    if request.endpoint is None:
        return None  # 404 or 405 from routing
    rule = access_rule(request.endpoint)
    if rule is None:
        abort(404)
    if may_call(current_user, rule):
        return None
    if not current_user.is_authenticated:
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if getattr(request, "htmx", False):
            resp = current_app.response_class(status=401)
            resp.headers["HX-Redirect"] = target
            return resp
        return redirect(target)
    abort(404)


# --- Predicates ----------------------------------------------------------------


def same_commune(actor: User, obj) -> bool:
    return actor is not None and getattr(obj, "commune_id", None) == actor.commune_id


def officer_village_ids(officer: User) -> set[int]:
    return {v.id for v in officer.areas()}


def can_manage_user(actor: User, person: User) -> bool:
    """Commander: anyone of the commune. Officer: informants they handle, verifiers of their villages."""
    if actor is None or person is None or not same_commune(actor, person) or actor.id == person.id:
        return False
    if actor.role == Role.COMMANDER:
        return True
    if actor.role != Role.OFFICER:
        return False
    if person.role == Role.INFORMANT:
        return person.informant is not None and person.informant.handler_id == actor.id
    if person.role == Role.VERIFIER:
        return person.village_id in officer_village_ids(actor)
    return False


def people_for(actor: User):
    """The SQL scope of `can_manage_user`: the accounts `actor` may manage (never their own)."""
    if actor is None or actor.role not in (Role.COMMANDER, Role.OFFICER):
        return false()
    mine = and_(User.commune_id == actor.commune_id, User.id != actor.id)
    if actor.role == Role.COMMANDER:
        return mine
    villages = select(Unit.id).where(Unit.officer_id == actor.id, Unit.kind == UnitKind.VILLAGE)
    handled = select(Informant.user_id).where(Informant.handler_id == actor.id)
    return and_(mine, or_(and_(User.role == Role.VERIFIER, User.village_id.in_(villages)),
                          and_(User.role == Role.INFORMANT, User.id.in_(handled))))


def can_reset_two_step(actor: User, person: User) -> bool:
    """The commander clears the two-step login of another police account of the commune (a lost phone)."""
    return (actor is not None and actor.role == Role.COMMANDER and can_manage_user(actor, person)
            and person.role in (Role.OFFICER, Role.OBSERVER))


def can_create_role(actor: User, role: str) -> bool:
    if actor is None:
        return False
    if actor.role == Role.COMMANDER:
        return role in Role.COMMUNE  # never an account above the commune
    if actor.role == Role.OFFICER:
        return role in Role.OFFICER_MANAGES
    return False


def can_use_village(actor: User, village: Unit | None) -> bool:
    """May the actor place people or tasks in this village?"""
    if actor is None or village is None or village.kind != UnitKind.VILLAGE:
        return False
    if village.commune() is None or village.commune().id != actor.commune_id:
        return False
    if actor.role == Role.COMMANDER:
        return True
    return actor.role == Role.OFFICER and village.officer_id == actor.id


def villages_for(actor: User):
    """The SQL scope of `can_use_village`: the villages `actor` may place people or tasks in."""
    if actor is None or actor.role not in (Role.COMMANDER, Role.OFFICER):
        return false()
    # Villages hang right under their commune (zaloan.communes).
    mine = and_(Unit.kind == UnitKind.VILLAGE, Unit.parent_id == actor.commune_id)
    return mine if actor.role == Role.COMMANDER else and_(mine, Unit.officer_id == actor.id)


def can_handle_informant(actor: User, informant: Informant) -> bool:
    """The handler officer and the commander of the commune."""
    if actor is None or informant is None or informant.commune_id != actor.commune_id:
        return False
    return actor.role == Role.COMMANDER or (actor.role == Role.OFFICER and informant.handler_id == actor.id)


def informants_for(actor: User):
    """The SQL scope of `can_handle_informant`: the informants whose identity `actor` may ask to see."""
    if actor is None or actor.role not in (Role.COMMANDER, Role.OFFICER):
        return false()
    mine = Informant.commune_id == actor.commune_id
    return mine if actor.role == Role.COMMANDER else and_(mine, Informant.handler_id == actor.id)


def can_work_tip(actor: User, tip) -> bool:
    """Police work on a tip: the officer of its village (or of its sender, if it has no village), the commander."""
    if actor is None or tip is None or tip.commune_id != actor.commune_id:
        return False
    if actor.role == Role.COMMANDER:
        return True
    if actor.role != Role.OFFICER:
        return False
    if tip.village_id is not None:
        return tip.village is not None and tip.village.officer_id == actor.id
    return tip.informant is not None and tip.informant.handler_id == actor.id


def officer_scope_ids(officer: User) -> tuple[list[int], list[int]]:
    """Return the ids of the villages `officer` is in charge of and of the informants they handle (one query)."""
    rows = db.session.execute(
        select(Unit.id, literal(True)).where(Unit.officer_id == officer.id)
        .union_all(select(Informant.id, literal(False)).where(Informant.handler_id == officer.id))
    ).all()
    return sorted(i for i, village in rows if village), sorted(i for i, village in rows if not village)


def tips_for(actor: User):
    """The SQL scope of `can_work_tip`: the tips `actor` may work on.

    Each side of the OR carries the commune, so an index on (commune, village)
    finds an officer's tips. SQLite plans that only with the officer's villages
    and informants bound as lists, read first (with them as subqueries it read
    every tip of the commune, or of the database); PostgreSQL plans the
    subqueries as well, in the same statement, which saves a round trip on
    every page.
    """
    if actor is None or actor.role not in (Role.OFFICER, Role.COMMANDER):
        return false()
    if actor.role == Role.COMMANDER:
        return Tip.commune_id == actor.commune_id
    if db.session.get_bind().dialect.name == "sqlite":
        villages, handled = officer_scope_ids(actor)
        if not villages and not handled:
            return false()
    else:
        villages = select(Unit.id).where(Unit.officer_id == actor.id)
        handled = select(Informant.id).where(Informant.handler_id == actor.id)
    here = Tip.commune_id == actor.commune_id
    return or_(
        and_(here, Tip.village_id.in_(villages)),
        and_(here, Tip.village_id.is_(None), Tip.informant_id.in_(handled)),
    )




def is_tip_sender(actor: User, tip) -> bool:
    """The informant who sent the tip: their own channel, nobody else's."""
    return (
        actor is not None
        and actor.role == Role.INFORMANT
        and tip is not None
        and tip.informant is not None
        and tip.informant.user_id == actor.id
    )


def sent_tips_for(actor: User):
    """The SQL scope of `is_tip_sender`: the informant's own tips."""
    if actor is None or actor.role != Role.INFORMANT:
        return false()
    return Tip.informant_id.in_(select(Informant.id).where(Informant.user_id == actor.id))


def is_assignee(actor: User, assignment) -> bool:
    return actor is not None and assignment is not None and assignment.verifier_id == actor.id


def assignments_for(actor: User):
    """The SQL scope of `is_assignee`: the verifier's own parts of tasks."""
    if actor is None:
        return false()
    return TaskAssignment.verifier_id == actor.id


def can_see_photo(actor: User, photo) -> bool:
    """Who may open a photo: its uploader, police of its tip, a verifier it was shared with."""
    if actor is None or photo is None:
        return False
    if photo.uploader_id is not None and photo.uploader_id == actor.id:
        return True
    tip = photo.tip or (photo.message.tip if photo.message_id else None) or (
        photo.assignment.task.tip if photo.assignment_id else None
    )
    if tip is None:
        return False
    if actor.role in (Role.OFFICER, Role.COMMANDER):
        return can_work_tip(actor, tip)
    if actor.role == Role.INFORMANT:
        # The sender sees the photos of their own thread, not the verifiers' report photos.
        return is_tip_sender(actor, tip) and photo.assignment_id is None
    if actor.role == Role.VERIFIER:
        return any(
            a.verifier_id == actor.id for task in tip.tasks if photo in task.shared_photos for a in task.assignments
        )
    return False


# --- Above the commune: the province administrator, observers of a district or the province -------
#
# Their account's unit (`User.commune_id`) is a province or a district: no
# commune rule above ever matches it, since those also ask for commune roles.
# What they reach is communes under their unit, never a row inside one.


def _is_under(commune: Unit, unit_id: int) -> bool:
    """Is the commune right under the unit, or under one of its districts?"""
    parent = commune.parent
    return parent is not None and (parent.id == unit_id or parent.parent_id == unit_id)


def _under(unit_id: int):
    """The SQL form of `_is_under`: communes whose parent is the unit or a child of it."""
    return and_(Unit.kind == UnitKind.COMMUNE,
                or_(Unit.parent_id == unit_id, Unit.parent_id.in_(select(Unit.id).where(Unit.parent_id == unit_id))))


def can_run_province(actor: User, commune) -> bool:
    """The province administrator sets up the communes of their province (never what is inside one)."""
    return (actor is not None and actor.role == Role.PROVINCE_ADMIN and isinstance(commune, Unit)
            and commune.kind == UnitKind.COMMUNE and _is_under(commune, actor.commune_id))


def province_communes_for(actor: User):
    """The SQL scope of `can_run_province`: the communes of the administrator's province."""
    if actor is None or actor.role != Role.PROVINCE_ADMIN:
        return false()
    return _under(actor.commune_id)


def can_help_commander(actor: User, person) -> bool:
    """The province administrator gives a commander of one of their communes a new activation code."""
    return (actor is not None and actor.role == Role.PROVINCE_ADMIN and isinstance(person, User)
            and person.role == Role.COMMANDER and person.commune is not None
            and can_run_province(actor, person.commune))


def province_commanders_for(actor: User):
    """The SQL scope of `can_help_commander`: the commanders of the administrator's communes."""
    if actor is None or actor.role != Role.PROVINCE_ADMIN:
        return false()
    return and_(User.role == Role.COMMANDER, User.commune_id.in_(select(Unit.id).where(_under(actor.commune_id))))


def can_see_figures(actor: User, commune) -> bool:
    """An observer sees the counts of their commune, or of every commune of their district or province."""
    if actor is None or actor.role != Role.OBSERVER or not isinstance(commune, Unit) \
            or commune.kind != UnitKind.COMMUNE:
        return False
    return commune.id == actor.commune_id or _is_under(commune, actor.commune_id)


def figures_for(actor: User):
    """The SQL scope of `can_see_figures`: the communes whose counts the observer sees."""
    if actor is None or actor.role != Role.OBSERVER:
        return false()
    return or_(and_(Unit.kind == UnitKind.COMMUNE, Unit.id == actor.commune_id), _under(actor.commune_id))


# --- The commune report (zaloan.reports) ---------------------------------------------------------


def counts_in_report(actor: User, tip) -> bool:
    """Is the tip counted in `actor`'s report? The police: a tip they may work on; an observer: a tip of a
    commune whose figures they see (counted, never shown)."""
    if actor is None or tip is None:
        return False
    if actor.role in (Role.COMMANDER, Role.OFFICER):
        return can_work_tip(actor, tip)
    if actor.role == Role.OBSERVER:
        return can_see_figures(actor, db.session.get(Unit, tip.commune_id))
    return False


def report_tips_for(actor: User):
    """The tips a report counts: the commander's commune, an officer's own area (`tips_for`), an observer's communes.

    An observer gets counts only (the report's pages and files never carry a row); everyone else
    nothing.
    """
    if actor is None:
        return false()
    if actor.role in (Role.COMMANDER, Role.OFFICER):
        return tips_for(actor)
    if actor.role == Role.OBSERVER:
        return Tip.commune_id.in_(select(Unit.id).where(figures_for(actor)))
    return false()


def counts_village_in_report(actor: User, village) -> bool:
    """Are the watch points of this village counted in `actor`'s report? `can_use_village`, or an observer's commune."""
    if actor is None or not isinstance(village, Unit) or village.kind != UnitKind.VILLAGE:
        return False
    if actor.role in (Role.COMMANDER, Role.OFFICER):
        return can_use_village(actor, village)
    if actor.role == Role.OBSERVER:
        return village.parent is not None and can_see_figures(actor, village.parent)
    return False


def report_villages_for(actor: User):
    """The villages a report counts watch points in: `villages_for`, or every village of an observer's communes."""
    if actor is None:
        return false()
    if actor.role in (Role.COMMANDER, Role.OFFICER):
        return villages_for(actor)
    if actor.role == Role.OBSERVER:
        return and_(Unit.kind == UnitKind.VILLAGE, Unit.parent_id.in_(select(Unit.id).where(figures_for(actor))))
    return false()


PREDICATES: dict[str, Callable] = {
    "can_work_tip": can_work_tip,
    "is_tip_sender": is_tip_sender,
    "is_assignee": is_assignee,
    "can_see_photo": can_see_photo,
    "can_manage_user": can_manage_user,
    "can_create_role": can_create_role,
    "can_use_village": can_use_village,
    "can_handle_informant": can_handle_informant,
    "can_reset_two_step": can_reset_two_step,
    "can_run_province": can_run_province,
    "can_help_commander": can_help_commander,
    "can_see_figures": can_see_figures,
}


def register_predicate(func: Callable) -> Callable:
    """Make a predicate available to templates as a Jinja test of the same name."""
    PREDICATES[func.__name__] = func
    return func


# --- Named questions for pages (a page asks these, never which role someone has) -----------


@register_predicate
def sees_whole_commune(actor: User) -> bool:
    """The commander sees and runs every account, village and tip of the commune (an officer: their own area)."""
    return actor is not None and getattr(actor, "is_authenticated", True) and actor.role == Role.COMMANDER


@register_predicate
def runs_province(actor: User) -> bool:
    """The province administrator: sets up communes, their commanders and observers; sees no tip."""
    return actor is not None and getattr(actor, "is_authenticated", True) and actor.role == Role.PROVINCE_ADMIN


@register_predicate
def sees_several_communes(actor: User) -> bool:
    """An observer of a district or a province: the figures of each of its communes, side by side."""
    return (actor is not None and getattr(actor, "is_authenticated", True) and actor.role == Role.OBSERVER
            and actor.commune is not None and actor.commune.kind != UnitKind.COMMUNE)


@register_predicate
def has_own_area(actor: User) -> bool:
    """An officer has villages of their own (their area), with their informants and verifiers."""
    return actor is not None and getattr(actor, "is_authenticated", True) and actor.role == Role.OFFICER


@register_predicate
def can_choose_handler(actor: User) -> bool:
    """Who picks an informant's handler officer (an officer's new informants are their own)."""
    return sees_whole_commune(actor)


@register_predicate
def can_reassign_handler(actor: User, person: User) -> bool:
    """Give an informant of the commune to another handler officer: the commander."""
    return (sees_whole_commune(actor) and person is not None and person.role == Role.INFORMANT
            and same_commune(actor, person))


@register_predicate
def can_set_areas(actor: User, person: User) -> bool:
    """Set which villages an officer of the commune is in charge of: the commander."""
    return (sees_whole_commune(actor) and person is not None and person.role == Role.OFFICER
            and same_commune(actor, person))


@register_predicate
def may_list_tips(actor: User) -> bool:
    """The report's list of tips (codes, days, places): police who work tips; never an observer."""
    return (actor is not None and getattr(actor, "is_authenticated", True)
            and actor.role in (Role.COMMANDER, Role.OFFICER))


# --- Places, categories, handover ---------------------------------------------------


@register_predicate
def can_edit_place(actor: User, obj) -> bool:
    """A watch point or time window: the commander, and the officer of its village."""
    if isinstance(obj, TimeWindow):
        obj = obj.watch_point
    if isinstance(obj, WatchPoint):
        obj = obj.village
    return isinstance(obj, Unit) and can_use_village(actor, obj)


@register_predicate
def can_run_commune(actor: User, obj) -> bool:
    """Villages, officers' areas and the category list: the commander of the same commune."""
    if actor is None or obj is None or actor.role != Role.COMMANDER:
        return False
    if isinstance(obj, Unit):
        commune = obj.commune()
        return obj.kind == UnitKind.VILLAGE and commune is not None and commune.id == actor.commune_id
    if isinstance(obj, Category):
        return obj.commune_id == actor.commune_id
    return False


@register_predicate
def can_hand_over(actor: User, officer: User) -> bool:
    """Only the commander hands an officer of the commune over to another."""
    return (
        actor is not None
        and officer is not None
        and actor.role == Role.COMMANDER
        and officer.role == Role.OFFICER
        and same_commune(actor, officer)
    )


# --- Erasure of an informant's identity (zaloan.retention): two people -----------------


@register_predicate
def can_request_erasure(actor: User, person: User) -> bool:
    """Ask to erase an informant's name and phone: their handler officer or the commander, while not erased."""
    return (person is not None and person.informant is not None and person.erased_at is None
            and can_handle_informant(actor, person.informant))


@register_predicate
def can_decide_erasure(actor: User, request) -> bool:
    """Confirm or refuse a waiting request: a commander of its commune other than the person who asked."""
    return (actor is not None and request is not None and request.outcome is None
            and actor.role == Role.COMMANDER and actor.commune_id == request.commune_id
            and actor.id != request.requested_by_id)


# --- Loaders -----------------------------------------------------------------------


def get_or_404(model, ident, check: Callable | None = None, options=()):
    """Fetch a row by id and check the current user may touch it; 404 otherwise.

    `options` are loader options (selectinload...) for what the page will read,
    so a page's queries do not grow with its rows.
    """
    ident = to_int(ident)
    if ident is None:
        abort(404)  # no such row; a huge number would overflow the database's integer
    obj = db.session.get(model, ident, options=options)
    if obj is None or (check is not None and not check(current_user, obj)):
        abort(404)
    return obj


def get_user_or_404(user_id, check: Callable = can_manage_user) -> User:
    return get_or_404(User, user_id, check)



# --- Commendations (zaloan.commendations) ---------------------------------------------------------
#
# Officers and the commander propose; the commander decides, never on their own proposal. Verifiers,
# informants and observers reach no proposal (an observer sees counts only; an informant their own
# approved recognition, on their home page).


@register_predicate
def can_see_commendation(actor: User, commendation) -> bool:
    """The commander: every proposal of the commune; an officer: the proposals they made."""
    if actor is None or commendation is None or commendation.commune_id != actor.commune_id:
        return False
    if actor.role == Role.COMMANDER:
        return True
    return actor.role == Role.OFFICER and commendation.proposed_by_id == actor.id


def commendations_for(actor: User):
    """The SQL scope of `can_see_commendation`."""
    from .models import Commendation

    if actor is None or actor.role not in (Role.COMMANDER, Role.OFFICER):
        return false()
    mine = Commendation.commune_id == actor.commune_id
    return mine if actor.role == Role.COMMANDER else and_(mine, Commendation.proposed_by_id == actor.id)


@register_predicate
def can_decide_commendation(actor: User, commendation) -> bool:
    """A commander of the commune approves or declines a proposal still open, never one they made themselves."""
    from .models import CommendationStatus

    return (can_see_commendation(actor, commendation) and actor.role == Role.COMMANDER
            and commendation.status == CommendationStatus.PROPOSED and commendation.proposed_by_id != actor.id)


@register_predicate
def can_see_decision(actor: User, decision) -> bool:
    """A decision (its printed list names approved informants): the commander of the commune."""
    return (actor is not None and decision is not None and actor.role == Role.COMMANDER
            and decision.commune_id == actor.commune_id)


def decisions_for(actor: User):
    """The SQL scope of `can_see_decision`."""
    from .models import CommendationDecision

    if actor is None or actor.role != Role.COMMANDER:
        return false()
    return CommendationDecision.commune_id == actor.commune_id


@register_predicate
def proposes_commendations(actor: User) -> bool:
    """Officers (for the people of their area) and the commander (for anyone of the commune) propose."""
    return (actor is not None and getattr(actor, "is_authenticated", True)
            and actor.role in (Role.OFFICER, Role.COMMANDER))


@register_predicate
def signs_decisions(actor: User) -> bool:
    """The commander decides on proposals and groups the approved ones into signed decisions."""
    return sees_whole_commune(actor)


# --- Notifications (zaloan.notifications) ---------------------------------------------------


def owns_notification(actor: User, note) -> bool:
    """A notification is its recipient's alone (not even the commander opens another's)."""
    return actor is not None and note is not None and getattr(actor, "id", None) == note.user_id


class ParameterActor:
    """Someone whose id, commune and village are bound parameters: a scope made into a statement once.

    `notifications_for(ParameterActor())` is the scope itself, its values given
    at each execution (`actor_parameters`). The role is a Python value (scopes
    branch on it), so a statement is made per role; a scope that reads
    anything not given here fails at once (AttributeError), so no rule is
    ever copied out of this module.
    """

    is_authenticated = True

    def __init__(self, role: str | None = None, *, has_village: bool = True):
        self.id = bindparam("actor_id")
        self.commune_id = bindparam("actor_commune_id")
        self.village_id = bindparam("actor_village_id") if has_village else None
        if role is not None:
            self.role = role


def actor_parameters(actor: User) -> dict:
    """The values of a `ParameterActor`'s parameters for `actor`."""
    return {"actor_id": actor.id, "actor_commune_id": actor.commune_id, "actor_village_id": actor.village_id}


def notifications_for(actor: User):
    """The SQL scope of `owns_notification`: the actor's own notifications."""
    from .models import Notification

    if actor is None or not getattr(actor, "is_authenticated", True):
        return false()
    return Notification.user_id == actor.id


def can_retry_outbox(actor: User, message) -> bool:
    """The commander of the commune sees its undelivered notices and sends them again."""
    return (actor is not None and message is not None and actor.role == Role.COMMANDER
            and message.commune_id == actor.commune_id)


def outbox_for(actor: User):
    """The SQL scope of `can_retry_outbox`: the outbox rows of the commander's commune."""
    from .models import OutboxMessage

    if actor is None or actor.role != Role.COMMANDER:
        return false()
    return OutboxMessage.commune_id == actor.commune_id


# --- Announcements and the operating rules (zaloan.announcements, zaloan.rules) ---------------------

# Who reads announcements addressed to members and acknowledges the operating rules.
MEMBER_ROLES = (Role.INFORMANT, Role.VERIFIER, Role.OFFICER)


def _in_audience(actor: User, a) -> bool:
    from .models import Audience

    if a.audience == Audience.MEMBERS:
        return actor.role in MEMBER_ROLES
    if a.audience == Audience.INFORMANTS:
        return (actor.role == Role.INFORMANT and a.officer_id is not None and actor.informant is not None
                and actor.informant.handler_id == a.officer_id)
    if a.audience == Audience.VERIFIERS:
        return actor.role == Role.VERIFIER and (a.village_id is None or a.village_id == actor.village_id)
    return False  # public ones are read on the commune's public page


def is_addressed_to(actor: User, a) -> bool:
    """The announcement is for `actor` now: of their commune, in their audience, shown (scheduled time passed), not withdrawn."""
    from .models import utcnow

    return (actor is not None and a is not None and a.commune_id == actor.commune_id and a.withdrawn_at is None
            and a.shows_from <= utcnow() and _in_audience(actor, a))


def addressed_to(actor: User, now=None):
    """The SQL scope of `is_addressed_to`: what a member's home lists (shown by `now`, by default this moment)."""
    from .models import Announcement, Audience, utcnow

    if actor is None or actor.role not in MEMBER_ROLES:
        return false()
    A = Announcement
    if actor.role == Role.INFORMANT:
        handler = select(Informant.handler_id).where(Informant.user_id == actor.id).scalar_subquery()
        mine = or_(A.audience == Audience.MEMBERS, and_(A.audience == Audience.INFORMANTS, A.officer_id == handler))
    elif actor.role == Role.VERIFIER:
        village = A.village_id.is_(None) if actor.village_id is None else \
            or_(A.village_id.is_(None), A.village_id == actor.village_id)
        mine = or_(A.audience == Audience.MEMBERS, and_(A.audience == Audience.VERIFIERS, village))
    else:
        mine = A.audience == Audience.MEMBERS
    return and_(A.commune_id == actor.commune_id, A.withdrawn_at.is_(None),
                A.shows_from <= (utcnow() if now is None else now), mine)


@register_predicate
def can_post_announcements(actor: User) -> bool:
    """The commander and officers post announcements (officers to their own informants and villages, and the public)."""
    return actor is not None and getattr(actor, "is_authenticated", True) and actor.role in (Role.COMMANDER,
                                                                                             Role.OFFICER)


def can_manage_announcement(actor: User, a) -> bool:
    """Withdraw, pin, see read counts: its author (an officer), and the commander of its commune."""
    if actor is None or a is None or a.commune_id != actor.commune_id:
        return False
    return actor.role == Role.COMMANDER or (actor.role == Role.OFFICER and a.author_id == actor.id)


def managed_announcements_for(actor: User):
    """The SQL scope of `can_manage_announcement`."""
    from .models import Announcement

    if actor is None or actor.role not in (Role.COMMANDER, Role.OFFICER):
        return false()
    here = Announcement.commune_id == actor.commune_id
    return here if actor.role == Role.COMMANDER else and_(here, Announcement.author_id == actor.id)


def can_read_announcement(actor: User, a) -> bool:
    """Open an announcement (and its photo): whoever it is addressed to, and whoever manages it."""
    return is_addressed_to(actor, a) or can_manage_announcement(actor, a)


def announcements_for(actor: User):
    """The SQL scope of `can_read_announcement`."""
    return or_(addressed_to(actor), managed_announcements_for(actor))


@register_predicate
def keeps_rules(actor: User) -> bool:
    """The commander writes the model's operating rules and sees who has acknowledged them."""
    return sees_whole_commune(actor)


@register_predicate
def acknowledges_rules(actor: User) -> bool:
    """Informants, verifiers and officers read and acknowledge each version of the operating rules."""
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.role in MEMBER_ROLES


PREDICATES.update({"can_manage_announcement": can_manage_announcement, "can_read_announcement": can_read_announcement,
                   "is_addressed_to": is_addressed_to})


# --- Voice notes: a voice is an identity ------------------------------------------------------------


def voice_tip(note):
    """Return the tip a voice note belongs to (through its answer or report), None while it is not sent."""
    if note.tip_id:
        return note.tip
    if note.message_id:
        return note.message.tip
    if note.assignment_id:
        return note.assignment.task.tip
    return None


@register_predicate
def can_hear_voice(actor: User, note) -> bool:
    """Who may hear a voice note: its speaker, the police of its tip. Never a verifier of the tip.

    Unlike a photo, no voice is ever shared with a verifier: they get the officer's brief only.
    """
    if actor is None or note is None or not getattr(actor, "is_authenticated", False):
        return False
    if note.uploader_id is not None and note.uploader_id == actor.id:
        return True
    tip = voice_tip(note)
    if tip is None:
        return False
    if actor.role in (Role.OFFICER, Role.COMMANDER):
        return can_work_tip(actor, tip)
    if actor.role == Role.INFORMANT:
        return is_tip_sender(actor, tip) and note.assignment_id is None
    return False


@register_predicate
def can_summarise_voice(actor: User, note) -> bool:
    """The police of a voice note's tip may write down what it says, for the record."""
    return (actor is not None and note is not None and getattr(actor, "role", None) in (Role.OFFICER, Role.COMMANDER)
            and can_work_tip(actor, voice_tip(note)))


# --- The standing channel with each informant (zaloan.conversations) -------------------------------------
#
# One conversation an informant, with the commune police rather than a person: the informant, their
# handler officer of the moment and the commander. Never another officer, a verifier or an observer.


@register_predicate
def can_use_channel(actor: User, informant) -> bool:
    """The informant's own conversation: the informant, their current handler and the commander of the commune."""
    if actor is None or not isinstance(informant, Informant) or informant.commune_id != actor.commune_id:
        return False
    if actor.role == Role.INFORMANT:
        return informant.user_id == actor.id
    return can_handle_informant(actor, informant)


def channels_for(actor: User):
    """The SQL scope of `can_use_channel`: the informants whose conversation `actor` may read and write in."""
    if actor is None:
        return false()
    if actor.role == Role.INFORMANT:
        return and_(Informant.user_id == actor.id, Informant.commune_id == actor.commune_id)
    return informants_for(actor)


@register_predicate
def talks_with_informants(actor: User) -> bool:
    """Officers and the commander keep a standing conversation with informants ("Trò chuyện")."""
    return (actor is not None and getattr(actor, "is_authenticated", True)
            and actor.role in (Role.OFFICER, Role.COMMANDER))
