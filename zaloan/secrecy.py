"""Keeping the sender secret: who an informant is (shown only on an audited, stated reason), and what a
verifier may be told (the officer's own words, never a paste of the sender's)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from . import audit
from .models import Informant, User
from .permissions import can_handle_informant
from .phones import display_phone

_WORD = re.compile(r"[^\W_]+")


class NotAllowed(PermissionError):
    """The actor may not see this informant's identity."""


@dataclass(frozen=True)
class Identity:
    name: str
    phone: str


def reveal_identity(actor: User, informant: Informant, reason: str, **facts) -> Identity:
    """Return the informant's name and phone for the handler officer or the commander; audit it.

    `facts` (ids) go into the audit row beside the reason, e.g. the commendation decision a printed list is for.
    """
    reason = (reason or "").strip()
    if not can_handle_informant(actor, informant) or informant.user.erased_at is not None:
        raise NotAllowed()  # an erased identity is gone: nothing to show
    if len(reason) < 5:
        raise ValueError("reason")
    # The audit row names the informant by id and alias, never by name or phone.
    audit.record("identity.reveal", actor=actor, target=informant, alias=informant.alias, reason=reason[:500],
                 **facts)
    return Identity(informant.user.full_name, display_phone(informant.user.phone))


# --- A verifier's task is in the officer's own words ----------------------------------------------

PASTE_RUN = 8  # this many words in a row, shared with the sender's text, is a paste


def words(text: str) -> list[str]:
    """Return the words of `text` folded for comparison: case, Vietnamese accents (đ too), spaces, punctuation."""
    text = unicodedata.normalize("NFD", (text or "").casefold().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _WORD.findall(text)


def shared_run(text: str, sources, n: int = PASTE_RUN) -> bool:
    """Tell whether `text` holds `n` words in a row that also stand in a row in one of `sources`.

    The officer writes a verifier's brief in their own words: a pasted sentence
    of the sender can tell a village head who reported (their way of writing,
    what only they could have seen). Comparing folded words catches a paste
    with its accents, case or spacing changed.
    """
    mine = words(text)
    if len(mine) < n:
        return False
    runs = {tuple(mine[i:i + n]) for i in range(len(mine) - n + 1)}
    for source in sources:
        theirs = words(source)
        if any(tuple(theirs[i:i + n]) in runs for i in range(len(theirs) - n + 1)):
            return True
    return False
