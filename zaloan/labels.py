"""Words shown for the app's fixed vocabularies, translated (used by views and templates)."""
from flask_babel import lazy_gettext as _l

from .models import Finding, Outcome, Role, TaskStatus, TipStatus, UnitKind, Urgency, VerifierTitle, WatchPointKind

ROLES = {
    Role.INFORMANT: _l("Informant"),
    Role.VERIFIER: _l("Verifier"),
    Role.OFFICER: _l("Officer"),
    Role.COMMANDER: _l("Commander"),
    Role.OBSERVER: _l("Observer"),
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
