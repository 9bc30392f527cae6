"""Words shown for the app's fixed vocabularies, translated (used by views and templates)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .models import Finding, Outcome, Role, TaskStatus, TipStatus, UnitKind, Urgency, VerifierTitle, WatchPointKind

ROLES = {
    Role.INFORMANT: _l("Informant"),
    Role.VERIFIER: _l("Verifier"),
    Role.OFFICER: _l("Officer"),
    Role.COMMANDER: _l("Commander"),
    Role.OBSERVER: _l("Observer"),
    Role.PROVINCE_ADMIN: _l("Province police administrator"),
}

UNIT_KINDS = {
    UnitKind.PROVINCE: _l("Province"),
    UnitKind.DISTRICT: _l("District"),
    UnitKind.COMMUNE: _l("Commune"),
    UnitKind.VILLAGE: _l("Village"),
}

VERIFIER_TITLES = {
    VerifierTitle.VILLAGE_HEAD: _l("Village head"),
    VerifierTitle.PART_TIME_POLICE: _l("Part-time police officer"),
    VerifierTitle.FRONT_HEAD: _l("Head of the Front work committee"),
}

WATCH_POINT_KINDS = {
    WatchPointKind.MARKET: _l("Market"),
    WatchPointKind.EATERY: _l("Eatery"),
    WatchPointKind.KARAOKE: _l("Karaoke"),
    WatchPointKind.CROSSROADS: _l("Crossroads"),
    WatchPointKind.OTHER: _l("Other place"),
}

WATCH_POINT_EMOJI = {
    WatchPointKind.MARKET: "🛒",
    WatchPointKind.EATERY: "🍜",
    WatchPointKind.KARAOKE: "🎤",
    WatchPointKind.CROSSROADS: "🚦",
    WatchPointKind.OTHER: "📍",
}

# What the police see.
TIP_STATUSES = {
    TipStatus.NEW: _l("New"),
    TipStatus.TRIAGED: _l("Triaged"),
    TipStatus.VERIFYING: _l("Being verified"),
    TipStatus.CLOSED: _l("Closed"),
}

# What the sender sees: plain words, nothing of the police work.
SENDER_STATUSES = {
    TipStatus.NEW: _l("Received"),
    TipStatus.TRIAGED: _l("Received"),
    TipStatus.VERIFYING: _l("Being checked"),
    TipStatus.CLOSED: _l("Dealt with"),
}



def words(table: dict) -> dict:
    """Return `table` with its words translated now, for a list that shows them on every row.

    A lazy word looks up the catalogue each time it is shown; the values are
    Markup, as a lazy word is in a template, so the page is the same.
    """
    return {key: Markup(str(word)) for key, word in table.items()}


def sender_state(tip) -> str:
    """Return the status the sender sees (words in SENDER_STATUSES): a duplicate follows the tip it joined."""
    return (tip.duplicate_of or tip).status


URGENCIES = {
    Urgency.LOW: _l("Not urgent"),
    Urgency.NORMAL: _l("Normal"),
    Urgency.HIGH: _l("Urgent"),
    Urgency.EMERGENCY: _l("Emergency, happening now"),
}

OUTCOMES = {
    Outcome.COMMUNE_POLICE: _l("Handled by the commune police"),
    Outcome.HIGHER_POLICE: _l("Handed to higher police"),
    Outcome.MEDIATED: _l("Mediated"),
    Outcome.SANCTION: _l("Administrative sanction"),
    Outcome.NO_VIOLATION: _l("No violation"),
    Outcome.DUPLICATE: _l("Duplicate"),
    Outcome.FALSE_REPORT: _l("False report"),
}

# What a closed tip's sender reads: one plain sentence per outcome, for villagers; never the
# officer's outcome note (police work, names of people). A false report is told as "nothing
# against the law": the sender is thanked, never accused.
SENDER_OUTCOMES = {
    Outcome.COMMUNE_POLICE: _l("The commune police dealt with it. Thank you for telling us."),
    Outcome.HIGHER_POLICE: _l("The commune police passed it to the higher police, who now deal with it. "
                              "Thank you for telling us."),
    Outcome.MEDIATED: _l("The people involved were brought together and the matter was settled peacefully."),
    Outcome.SANCTION: _l("The police dealt with it and the people at fault were fined under the law."),
    Outcome.NO_VIOLATION: _l("The police checked and found nothing against the law."),
    Outcome.FALSE_REPORT: _l("The police checked and found nothing against the law."),
    Outcome.DUPLICATE: _l("Someone had already told the police about the same thing. Your tip was joined with "
                          "that one, and they are dealt with together."),
}


def sender_outcome(tip) -> list[str]:
    """Return the plain sentences telling a sender how their closed tip ended (none while it is open).

    A tip joined with an earlier one says so, then how that one ended once it is closed.
    """
    if tip.is_open or tip.outcome not in SENDER_OUTCOMES:
        return []
    out = [str(SENDER_OUTCOMES[tip.outcome])]
    first = tip.duplicate_of
    if tip.outcome == Outcome.DUPLICATE and first is not None and not first.is_open and first.outcome in SENDER_OUTCOMES \
            and first.outcome != Outcome.DUPLICATE:
        out.append(str(SENDER_OUTCOMES[first.outcome]))
    return out


def joined_for_sender(tip) -> str:
    """Tell the sender of a tip others were joined to that the police now deal with them together ("" if none)."""
    if tip.duplicate_of_id is None and tip.duplicates:
        return _("Someone else told the police about the same thing. Their tip was joined with yours, and "
                 "they are dealt with together.")
    return ""


def closed_for_sender(tip) -> str:
    """Tell the sender why their closed tip takes no more answers (nobody reads it), and what to do instead."""
    if tip.duplicate_of_id is not None:
        return _("This tip was joined with an earlier one about the same thing, so answers here are no longer "
                 "read. If there is something new, please send a new tip.")
    return _("This tip has been dealt with. If there is something new, please send a new tip.")


TASK_STATUSES = {
    TaskStatus.OPEN: _l("Open"),
    TaskStatus.DONE: _l("Done"),
    TaskStatus.CANCELLED: _l("Cancelled"),
}

FINDINGS = {
    Finding.CONFIRMED: _l("Confirmed"),
    Finding.PARTLY: _l("Partly true"),
    Finding.NOT_FOUND: _l("Nothing found"),
    Finding.ALREADY_HANDLED: _l("Already dealt with"),
}
