"""Who may do what. Deny by default.

Every view declares who may call it with `@allow(...)`. A request to a view
without a declaration is refused (404) by `enforce_access`, so a new route
cannot be reachable by accident; the route × role test in the suite reads
the same declarations from `app.url_map`.

Object-level rules are predicates (`can_manage_user(actor, user)`), used by
views through the loaders below and by templates as Jinja tests
(`{% if current_user is can_manage_user(person) %}`), so a button and its
endpoint never disagree. A forbidden object answers 404, like a missing one.
"""
from __future__ import annotations

from typing import Callable

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import and_, false, literal, or_, select

from .extensions import db
from .inputs import to_int
from .models import Category, Informant, Role, TimeWindow, Tip, Unit, UnitKind, User, WatchPoint

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
    return ANY_USER in rule or user.role in rule


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


def can_create_role(actor: User, role: str) -> bool:
    if actor is None:
        return False
    if actor.role == Role.COMMANDER:
        return role in Role.ALL
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


def can_handle_informant(actor: User, informant: Informant) -> bool:
    """The handler officer and the commander of the commune."""
    if actor is None or informant is None or informant.commune_id != actor.commune_id:
        return False
    return actor.role == Role.COMMANDER or (actor.role == Role.OFFICER and informant.handler_id == actor.id)


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


def tips_scope(actor: User):
    """Return the SQL condition of the tips `actor` may work on: the list form of `can_work_tip`.

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


def is_assignee(actor: User, assignment) -> bool:
    return actor is not None and assignment is not None and assignment.verifier_id == actor.id


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


PREDICATES: dict[str, Callable] = {
    "can_work_tip": can_work_tip,
    "is_tip_sender": is_tip_sender,
    "is_assignee": is_assignee,
    "can_see_photo": can_see_photo,
    "can_manage_user": can_manage_user,
    "can_create_role": can_create_role,
    "can_use_village": can_use_village,
    "can_handle_informant": can_handle_informant,
}


def register_predicate(func: Callable) -> Callable:
    """Make a predicate available to templates as a Jinja test of the same name."""
    PREDICATES[func.__name__] = func
    return func


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

