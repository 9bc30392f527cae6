"""Likely duplicates of a tip, for the officer who opens it ("tránh thông tin trùng").

Two villagers at one market often report the same fight. A candidate is a
tip the officer may work on (permissions.tips_for), of the same commune,
that happened within WINDOW of this one, in the same village (when both
name one), and is not itself closed as a duplicate; when both tell what
happened, their texts must be alike. Each is scored on four things, and the reason is given in words
("cùng điểm, cách 3 giờ, nội dung giống 78%"):

- place: the same watch point, else the same village;
- time: how far apart the two happened;
- kind: the same category, or one of a related group (drugs and gambling...);
- text: how alike the two texts are (rapidfuzz, without accents and case).

Only the officer's tip page asks for these; the verifier's pages never do
(what a verifier sees is chosen by the officer).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import Outcome, Tip, TipStatus
from .permissions import tips_for

WINDOW = timedelta(hours=48)
LIMIT = 5
MIN_SCORE = 0.5
# Below this, two texts tell different things (unrelated Vietnamese tips share many small words).
MIN_TEXT = 0.62
# Kinds of tip that are often the same happening seen by two people (category codes, communes.DEFAULT_CATEGORIES).
RELATED = (
    frozenset({"drugs", "social_evils", "gambling"}),
    frozenset({"disorder", "dispute", "weapons"}),
    frozenset({"theft", "suspicious"}),
)
WEIGHTS = {"place": 0.3, "time": 0.15, "kind": 0.15, "text": 0.4}


@dataclass
class Suggestion:
    tip: Tip
    score: float
    reason: str


def plain(text: str | None) -> str:
    """Lower case without accents (đ becomes d): people type Vietnamese with and without them."""
    text = unicodedata.normalize("NFD", (text or "").lower().replace("đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def text_alike(a: str, b: str) -> float:
    """How alike two tip texts are, 0 to 1; 0 when either is empty.

    Half rapidfuzz's token-set ratio (forgives order and typing slips), half the
    share of the shorter text's syllables found in the other: two unrelated tips
    share many small words ("người", "nhà"), which the ratio alone counts too much.
    """
    a, b = plain(a), plain(b)
    words_a, words_b = set(default_process(a).split()), set(default_process(b).split())
    if not words_a or not words_b:
        return 0.0
    shared = len(words_a & words_b) / min(len(words_a), len(words_b))
    return (fuzz.token_set_ratio(a, b, processor=default_process) / 100 + shared) / 2


def kind_alike(a: Tip, b: Tip) -> tuple[float, str]:
    if a.category_id is not None and a.category_id == b.category_id:
        return 1.0, _("same kind")
    codes = {getattr(a.category, "code", None), getattr(b.category, "code", None)}
    if any(codes <= group for group in RELATED):
        return 0.6, _("related kind")
    if None in codes or "other" in codes:
        return 0.3, ""
    return 0.0, ""


def place_alike(a: Tip, b: Tip) -> tuple[float, str]:
    if a.watch_point_id is not None and a.watch_point_id == b.watch_point_id:
        return 1.0, _("same watch point")
    if a.village_id is not None and a.village_id == b.village_id:
        return 0.6, _("same village")
    return 0.0, ""


def apart_words(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return _("%(n)s minutes apart", n=minutes)
    return _("%(n)s hours apart", n=round(minutes / 60))


def score(tip: Tip, other: Tip) -> Suggestion | None:
    """Score `other` as a duplicate of `tip`; None when it is too unlike to show."""
    delta = other.occurred_at - tip.occurred_at
    if abs(delta) > WINDOW:
        return None
    place, place_words = place_alike(tip, other)
    if not place and tip.village_id is not None and other.village_id is not None:
        return None  # two villages: two happenings, however alike the words
    kind, kind_words = kind_alike(tip, other)
    text = text_alike(tip.body, other.body)
    when = 1 - abs(delta) / WINDOW
    if tip.body.strip() and other.body.strip() and text < MIN_TEXT:
        return None  # both told what happened, and not the same thing
    total = (WEIGHTS["place"] * place + WEIGHTS["time"] * when + WEIGHTS["kind"] * kind + WEIGHTS["text"] * text)
    if total < MIN_SCORE:
        return None
    words = [w for w in (place_words, apart_words(delta), kind_words) if w]
    if text >= 0.3:
        words.append(_("text %(pct)s%% alike", pct=round(text * 100)))
    return Suggestion(other, round(total, 3), ", ".join(words))


def suggestions(tip: Tip, actor, limit: int = LIMIT) -> list[Suggestion]:
    """Return the likely duplicates of a new tip among the tips `actor` may work on, most likely first.

    Asked while the tip is new or sorted, before anyone is sent to check it: later the officer knows
    what it is (and every view of a tip being checked would pay for the comparison).
    """
    if tip.status not in (TipStatus.NEW, TipStatus.TRIAGED) or tip.duplicate_of_id is not None:
        return []
    rows = db.session.scalars(
        select(Tip).options(selectinload(Tip.category))
        .where(tips_for(actor), Tip.commune_id == tip.commune_id, Tip.id != tip.id,
               Tip.occurred_at.between(tip.occurred_at - WINDOW, tip.occurred_at + WINDOW),
               (Tip.outcome.is_(None)) | (Tip.outcome != Outcome.DUPLICATE))
        .order_by(Tip.id.desc()).limit(300)
    ).all()
    found = [s for s in (score(tip, other) for other in rows) if s is not None]
    found.sort(key=lambda s: (-s.score, -s.tip.id))
    return found[:limit]
