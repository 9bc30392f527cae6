"""Who an informant is: shown only on an explicit, audited action with a stated reason."""
from __future__ import annotations

from dataclasses import dataclass

from . import audit
from .models import Informant, User
from .permissions import can_handle_informant
from .phones import display_phone


class NotAllowed(PermissionError):
    """The actor may not see this informant's identity."""


@dataclass(frozen=True)
class Identity:
    name: str
    phone: str


def reveal_identity(actor: User, informant: Informant, reason: str) -> Identity:
    """Return the informant's name and phone for the handler officer or the commander; audit it."""
    reason = (reason or "").strip()
    if not can_handle_informant(actor, informant):
        raise NotAllowed()
    if len(reason) < 5:
        raise ValueError("reason")
    # The audit row names the informant by id and alias, never by name or phone.
    audit.record("identity.reveal", actor=actor, target=informant, alias=informant.alias, reason=reason[:500])
    return Identity(informant.user.full_name, display_phone(informant.user.phone))
