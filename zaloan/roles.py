"""The role registry: for each role, its name on screen, its home page, its navigation and what its pages carry.

One place says this; the login's redirect, the navigation, the header and the
footer read it, so adding a role (or a page to a role's navigation) is one
entry here. Who may do what to which object is not here: that is
zaloan.permissions, in predicates and their SQL scopes.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from .labels import ROLES as LABELS
from .models import Role


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: object  # a lazy string


@dataclass(frozen=True)
class RoleInfo:
    name: str
    home: str  # endpoint of the home page
    nav: tuple[Link, ...] = ()
    # Police who work tips see the unread-emergency bar on every page.
    alarm: bool = False
    # May set up two-step sign-in (TOTP); the commune may require it of `two_step_required` roles.
    two_step: bool = False
    two_step_required: bool = False
    # Pages with a neutral name and look, a quick exit and the PIN lock (zaloan.safety): a phone others pick up.
    disguised: bool = False

    @property
    def label(self):
        return LABELS[self.name]


REGISTRY: dict[str, RoleInfo] = {
    Role.INFORMANT: RoleInfo(
        Role.INFORMANT, "informant.home",
        nav=(Link("informant.new_tip", _l("Send a tip")), Link("informant.tips", _l("My tips"))),
        disguised=True,
    ),
    Role.VERIFIER: RoleInfo(
        Role.VERIFIER, "verifier.home",
        nav=(Link("verifier.home", _l("Tasks to verify")),),
    ),
    Role.OFFICER: RoleInfo(
        Role.OFFICER, "officer.home",
        nav=(Link("officer.home", _l("Tips to handle")), Link("people.index", _l("My people")),
             Link("channel.index", _l("Conversations")), Link("commend.index", _l("Commendations")),
             Link("report.index", _l("Report"))),
        alarm=True, two_step=True, two_step_required=True,
    ),
    Role.COMMANDER: RoleInfo(
        Role.COMMANDER, "commander.home",
        nav=(Link("commander.home", _l("Home")), Link("officer.home", _l("Tips")),
             Link("people.index", _l("Accounts")), Link("places.index", _l("Places")),
             Link("channel.index", _l("Conversations")), Link("commend.index", _l("Commendations")),
             Link("report.index", _l("Report"))),
        alarm=True, two_step=True, two_step_required=True,
    ),
    Role.OBSERVER: RoleInfo(
        Role.OBSERVER, "observer.home",
        nav=(Link("observer.home", _l("Reports")), Link("report.index", _l("Report by period")),
             Link("commend.figures", _l("Commendations")), Link("build.figures", _l("Building the model"))),
        two_step=True,
    ),
    Role.PROVINCE_ADMIN: RoleInfo(
        Role.PROVINCE_ADMIN, "province.index",
        nav=(Link("province.index", _l("Communes")), Link("province.new_commune", _l("New commune"))),
        two_step=True,
    ),
}

assert set(REGISTRY) == set(Role.ALL), "every role needs an entry in the registry"


def of(user) -> RoleInfo | None:
    """Return the registry entry of a signed-in user's role, None for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return REGISTRY.get(user.role)


def home_url(user) -> str:
    """Return the address of the user's home page."""
    return url_for(REGISTRY[user.role].home)


def roles_where(flag: str) -> tuple[str, ...]:
    """Return the roles whose entry has `flag` set (e.g. "two_step_required")."""
    return tuple(name for name, info in REGISTRY.items() if getattr(info, flag))
