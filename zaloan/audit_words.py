"""The audit log in words: one Vietnamese sentence for each recorded action.

The commander reads "Cán bộ Lê Văn Dũng (0900…002) đã giao việc xác minh tin
MKA7JJ cho Hoàng Văn Cường", not `task.create · verificationtask 1`. Each
action recorded anywhere in the code has its sentence in SENTENCES (a test
collects every `audit.record("…")` from the source and checks); an action
without one still reads as a plain sentence, never an error.

Secrecy: an informant appears by alias (NT-0007) only, as actor and as
target, never by name or phone; a tip by its code, a task by its tip's code.
Names are loaded for a whole page at once, in a fixed number of queries.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .extensions import db
from .labels import FINDINGS, OUTCOMES, ROLES, URGENCIES, VERIFIER_TITLES
from .models import AuditEvent, Category, Informant, Role, TimeWindow, Tip, Unit, User, VerificationTask, WatchPoint
from .phones import display_phone

# How an actor is named at the start of a sentence, by role.
ACTOR_BY_ROLE = {
    Role.OFFICER: _l("Officer %(name)s"),
    Role.COMMANDER: _l("Commander %(name)s"),
    Role.VERIFIER: _l("Verifier %(name)s"),
    Role.OBSERVER: _l("Observer %(name)s"),
    Role.PROVINCE_ADMIN: _l("Province administrator %(name)s"),
}

# The first word of an action names its topic; the log's filter offers topics.
TOPICS = {
    "tip": _l("Tips"),
    "task": _l("Verification tasks"),
    "account": _l("Accounts"),
    "login": _l("Logins"),
    "logout": _l("Logouts"),
    "twofactor": _l("Two-step login"),
    "identity": _l("Identity views"),
    "informant": _l("Informants' posts and handlers"),
    "officer": _l("Officers' villages and handovers"),
    "verifier": _l("Verifiers' villages"),
    "village": _l("Villages"),
    "watch_point": _l("Watch points"),
    "time_window": _l("Time windows"),
    "category": _l("Tip categories"),
    "photos": _l("Photos"),
    "commune": _l("Commune settings"),
    "audit": _l("Audit log checks"),
    "export": _l("Audit log exports"),
    "commendation": _l("Commendations"),


    "retention": _l("Erasure of personal data"),
    "erasure": _l("Informants' identities erased on request"),


    "announcement": _l("Announcements"),
    "rules": _l("Operating rules"),

    "survey": _l("Village security surveys"),
    "review": _l("Review reports"),
}


def topic_of(action: str) -> str:
    return action.split(".", 1)[0]


def topic_label(topic: str) -> str:
    return str(TOPICS.get(topic, topic))


def masked_phone(e164: str) -> str:
    """Return a phone as its first four and last three digits (0900…002): enough to tell two people apart."""
    digits = "".join(ch for ch in display_phone(e164 or "") if ch.isdigit())
    return f"{digits[:4]}…{digits[-3:]}" if len(digits) > 7 else digits


class Names:
    """Everything the sentences of some audit rows name, loaded at once (one query per kind of thing)."""

    def __init__(self, rows: Iterable[AuditEvent]):
        rows = list(rows)
        want: dict[str, set[int]] = {k: set() for k in
                                     ("user", "informant", "tip", "task", "unit", "point", "window", "category")}
        kinds = {"user": "user", "informant": "informant", "tip": "tip", "verificationtask": "task", "unit": "unit",
                 "watchpoint": "point", "timewindow": "window", "category": "category"}

        def add(kind, value):
            if isinstance(value, bool):
                return
            if isinstance(value, int):
                want[kind].add(value)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    add(kind, v)

        for r in rows:
            d = r.data or {}
            add("user", r.actor_id)
            if r.target_type in kinds and r.target_id is not None:
                add(kinds[r.target_type], r.target_id)
            for key in ("handler", "was", "to", "officer", "verifiers"):
                if r.action in ("informant.handler", "officer.handover", "village.officer", "task.create"):
                    add("user", d.get(key))
            if r.action == "verifier.place":
                add("unit", [d.get("village"), d.get("was")])
            if r.action == "officer.villages":
                add("unit", list(d.get("added") or []) + list(d.get("removed") or []))
            if r.action.startswith("watch_point."):
                add("unit", d.get("village"))
            if r.action.startswith("time_window."):
                add("point", d.get("watch_point"))
            if r.action == "informant.posts":
                add("point", [p[0] for p in d.get("posts") or [] if isinstance(p, (list, tuple)) and p])
                add("window", [p[1] for p in d.get("posts") or [] if isinstance(p, (list, tuple)) and len(p) > 1])
            add("tip", [d.get("tip"), d.get("of")] if r.action in ("task.create", "tip.duplicate") else None)
            if r.action == "tip.triage":
                add("category", d.get("category"))
            if r.action.startswith("commendation."):
                add("user", d.get("verifier"))
                add("unit", d.get("village"))

        def load(model, ids, *options):
            if not ids:
                return {}
            return {o.id: o for o in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))}

        self.users = load(User, want["user"], selectinload(User.informant))
        self.informants = load(Informant, want["informant"])
        self.tips = load(Tip, want["tip"])
        self.tasks = load(VerificationTask, want["task"], selectinload(VerificationTask.tip))
        self.units = load(Unit, want["unit"])
        self.windows = load(TimeWindow, want["window"])
        self.points = load(WatchPoint, want["point"] | {w.watch_point_id for w in self.windows.values()})
        self.categories = load(Category, want["category"])

    # --- people ---------------------------------------------------------------------------------

    def actor(self, user_id: int | None, *, anonymous: bool = False) -> str:
        """Name who did something: role and name (masked phone) for the police, the alias for an informant."""
        if user_id is None:
            return _("An anonymous sender") if anonymous else _("The system")
        user = self.users.get(user_id)
        if user is None:
            return _("Account %(id)s", id=user_id)
        if user.role == Role.INFORMANT:
            return _("Informant %(alias)s", alias=self.alias(user))
        role = ACTOR_BY_ROLE.get(user.role)
        name = f"{user.full_name} ({masked_phone(user.phone)})"
        return str(role) % {"name": name} if role else name

    def alias(self, user: User) -> str:
        return user.informant.alias if user.informant else "NT-?"

    def person(self, user_id) -> str:
        """Name someone acted upon: a police account by name, an informant by alias only."""
        user = self.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            return _("account %(id)s", id=user_id) if user_id else _("nobody")
        if user.role == Role.INFORMANT:
            return self.alias(user)
        return user.full_name

    def people(self, ids) -> str:
        return ", ".join(self.person(i) for i in ids or []) or _("nobody")

    def informant(self, informant_id, data) -> str:
        found = self.informants.get(informant_id)
        return found.alias if found else (data.get("alias") or _("an informant"))

    # --- things ---------------------------------------------------------------------------------

    def tip(self, tip_id) -> str:
        found = self.tips.get(tip_id)
        return found.code if found else _("(deleted tip)")

    def task_tip(self, task_id) -> str:
        found = self.tasks.get(task_id)
        return found.tip.code if found else _("(deleted tip)")

    def unit(self, unit_id) -> str:
        found = self.units.get(unit_id) if isinstance(unit_id, int) else None
        return found.name if found else _("(unknown village)")

    def units_list(self, ids) -> str:
        return ", ".join(self.unit(i) for i in ids or []) or _("none")

    def point(self, point_id) -> str:
        found = self.points.get(point_id) if isinstance(point_id, int) else None
        return found.name if found else _("(unknown place)")

    def window(self, window_id) -> str:
        found = self.windows.get(window_id)
        return str(found) if found else _("(removed time window)")

    def category(self, category_id) -> str:
        found = self.categories.get(category_id)
        return f"{found.emoji} {found.name}".strip() if found else _("(unknown category)")

    def posts(self, posts) -> str:
        parts = []
        for p in posts or []:
            if not isinstance(p, (list, tuple)) or not p:
                continue
            name = self.point(p[0])
            parts.append(f"{name} {self.window(p[1])}" if len(p) > 1 and p[1] else name)
        return ", ".join(parts) or _("none")


Sentence = Callable[[Names, AuditEvent, dict, str], str]


def _takeover(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    from .takeover import reason_label

    words = {"who": who, "person": n.person(r.target_id), "kind": reason_label(d.get("kind", "")),
             "reason": d.get("reason", "")}
    if d.get("lost_phone"):
        return _("%(who)s gave %(person)s a new activation code for a lost phone (%(kind)s): every login and the "
                 "old password were ended. Reason: %(reason)s", **words)
    return _("%(who)s gave %(person)s, an account in use, a new activation code (%(kind)s): every login was "
             "ended. Reason: %(reason)s", **words)


def _role(d) -> str:
    return str(ROLES.get(d.get("role"), d.get("role") or ""))


def _hours(d) -> str:
    return "{}–{}".format(d.get("starts", ""), d.get("ends", ""))


def _login_failure(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if r.target_id is None:
        return _("Someone tried to log in with a phone number that has no account.")
    if d.get("reason") == "disabled":
        return _("Someone tried to log in to the locked account of %(person)s.", person=n.person(r.target_id))
    return _("Someone tried to log in to the account of %(person)s with a wrong password.",
             person=n.person(r.target_id))


def _logout_device(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    browser, system = d.get("browser"), d.get("os")
    if browser or system:
        device = _("%(browser)s on %(os)s", browser=browser, os=system) if browser and system else browser or system
        return _("%(who)s logged out one of their devices from another one (%(device)s).", who=who, device=device)
    return _("%(who)s logged out one of their devices from another one.", who=who)


def _create_refused(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if r.target_id is None:
        return _("%(who)s tried to create an account with a phone number that has an account in another commune.",
                 who=who)
    return _("%(who)s tried to create an account with the phone number of %(person)s, who already has one.",
             who=who, person=n.person(r.target_id))


def _village_officer(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if not d.get("officer"):
        return _("%(who)s left %(village)s without an officer in charge.", who=who, village=n.unit(r.target_id))
    return _("%(who)s put %(officer)s in charge of %(village)s.", who=who, officer=n.person(d.get("officer")),
             village=n.unit(r.target_id))


def _audit_verify(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if d.get("ok"):
        return _("%(who)s checked the audit log: it is intact (%(n)s rows).", who=who, n=d.get("rows", 0))
    return _("%(who)s checked the audit log: it was changed (%(n)s rows checked).", who=who, n=d.get("rows", 0))


def _watch_point(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    point, village = n.point(r.target_id), n.unit(d.get("village"))
    if r.action == "watch_point.add":
        return _("%(who)s added the watch point %(point)s in %(village)s.", who=who, point=point, village=village)
    if d.get("active") is False:
        return _("%(who)s edited the watch point %(point)s in %(village)s; it is no longer offered.", who=who,
                 point=point, village=village)
    return _("%(who)s edited the watch point %(point)s in %(village)s.", who=who, point=point, village=village)


def _category_edit(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if d.get("active") is False:
        return _("%(who)s hid the category %(category)s.", who=who, category=n.category(r.target_id))
    return _("%(who)s edited the category %(category)s.", who=who, category=n.category(r.target_id))


def _settings(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if "require_two_step" in d:
        if d.get("require_two_step"):
            return _("%(who)s required two-step login for the officers and the commander.", who=who)
        return _("%(who)s stopped requiring two-step login.", who=who)
    if "notebook_name" in d:
        return _("%(who)s changed the name informants' phones show for the app to “%(name)s”.", who=who,
                 name=d.get("notebook_name") or _("Notebook"))
    if "duty_phone" in d:
        if d.get("duty_phone"):
            return _("%(who)s changed the commune's settings; the on-duty number is now %(phone)s.", who=who,
                     phone=d.get("duty_phone"))
        return _("%(who)s changed the commune's settings; the on-duty number was removed.", who=who)
    return _("%(who)s changed the time verifiers have to report, by urgency.", who=who)


def _two_step_wrong(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if d.get("stage") == "off":
        return _("%(person)s typed a wrong code when turning off two-step login.", person=n.person(r.target_id))
    return _("Someone typed a wrong second-step code when logging in to the account of %(person)s.",
             person=n.person(r.target_id))


def _two_step_reset(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s cleared the two-step login of %(person)s; every login of the account was ended.", who=who,
             person=n.person(r.target_id))


def _two_step_enable(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if d.get("renewed"):
        return _("%(who)s moved two-step login to a new phone.", who=who)
    return _("%(who)s turned on two-step login.", who=who)


def _task_create(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s asked %(people)s to verify tip %(tip)s.", who=who, people=n.people(d.get("verifiers")),
             tip=n.task_tip(r.target_id) if r.target_id in n.tasks else n.tip(d.get("tip")))


def _commended(n: Names, d: dict) -> str:
    """Name who a commendation is for: an informant by alias only, a verifier, a village's group, a collective."""
    kind = d.get("kind")
    if kind == "informant":
        return d.get("alias") or _("an informant")
    if kind == "verifier":
        return n.person(d.get("verifier"))
    if kind == "village_group":
        return _("the verification group of %(village)s", village=n.unit(d.get("village")))
    return d.get("name") or _("a collective")


def _commendation_decline(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s declined the commendation proposed for %(person)s. Note: %(note)s", who=who,
             person=_commended(n, d), note=d.get("note", ""))


def _tip_extend(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s extended the deadline of tip %(tip)s (extension %(number)s) by %(days)s days, approved by "
             "%(authority)s. Reason: %(reason)s", who=who, tip=n.tip(r.target_id), number=d.get("number", ""),
             days=d.get("days", ""), authority=d.get("authority", ""), reason=d.get("reason", ""))


def _category_limit(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    if d.get("crime"):
        return _("%(who)s made %(category)s a crime report: 20 days to handle (Criminal Procedure Code, art. 147).",
                 who=who, category=n.category(r.target_id))
    return _("%(who)s gave tips of %(category)s %(days)s days to handle.", who=who,
             category=n.category(r.target_id), days=d.get("days", ""))


def _commune_deadlines(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s changed when late work is escalated: an unread emergency after %(minutes)s minutes, a task "
             "not accepted after %(hours)s hours.", who=who, minutes=d.get("emergency_unread_minutes", "—"),
             hours=d.get("accept_hours", "—"))


SENTENCES: dict[str, Sentence] = {
    # Tips
    "tip.submit": lambda n, r, d, who: _("%(who)s sent tip %(tip)s.", who=who, tip=n.tip(r.target_id)),
    "tip.triage": lambda n, r, d, who: _("%(who)s sorted tip %(tip)s: %(category)s, %(urgency)s.", who=who,
                                         tip=n.tip(r.target_id), category=n.category(d.get("category")),
                                         urgency=str(URGENCIES.get(d.get("urgency"), ""))),
    "tip.ask": lambda n, r, d, who: _("%(who)s asked the sender of tip %(tip)s a question.", who=who,
                                      tip=n.tip(r.target_id)),
    "tip.answer": lambda n, r, d, who: _("%(who)s answered in the thread of tip %(tip)s.", who=who,
                                         tip=n.tip(r.target_id)),
    "tip.duplicate": lambda n, r, d, who: _("%(who)s marked tip %(tip)s as a duplicate of tip %(of)s.", who=who,
                                            tip=n.tip(r.target_id), of=n.tip(d.get("of"))),
    "tip.outcome": lambda n, r, d, who: _("%(who)s closed tip %(tip)s: %(outcome)s.", who=who, tip=n.tip(r.target_id),
                                          outcome=str(OUTCOMES.get(d.get("outcome"), d.get("outcome") or ""))),
    "tip.reopen": lambda n, r, d, who: _("%(who)s reopened tip %(tip)s.", who=who, tip=n.tip(r.target_id)),
    "tip.read": lambda n, r, d, who: _("%(who)s was the first to read tip %(tip)s.", who=who, tip=n.tip(r.target_id)),
    "tip.extend": _tip_extend,
    # Verification
    "task.create": _task_create,
    "task.accept": lambda n, r, d, who: _("%(who)s accepted the verification of tip %(tip)s.", who=who,
                                          tip=n.task_tip(r.target_id)),
    "task.report": lambda n, r, d, who: _("%(who)s reported on the verification of tip %(tip)s: %(finding)s.",
                                          who=who, tip=n.task_tip(r.target_id),
                                          finding=str(FINDINGS.get(d.get("finding"), d.get("finding") or ""))),
    "task.cancel": lambda n, r, d, who: _("%(who)s withdrew the verification of tip %(tip)s.", who=who,
                                          tip=n.task_tip(r.target_id)),
    # Accounts and people
    "account.create": lambda n, r, d, who: _("%(who)s created an account for %(person)s (%(role)s).", who=who,
                                             person=n.person(r.target_id), role=_role(d)),
    "account.create_refused": _create_refused,
    "account.activation_issued": lambda n, r, d, who: _("%(who)s gave %(person)s a new activation code.", who=who,
                                                        person=n.person(r.target_id)),
    "account.activated": lambda n, r, d, who: _("%(who)s activated their account.", who=who),
    "account.disable": lambda n, r, d, who: _("%(who)s locked the account of %(person)s.", who=who,
                                              person=n.person(r.target_id)),
    "account.enable": lambda n, r, d, who: _("%(who)s unlocked the account of %(person)s.", who=who,
                                             person=n.person(r.target_id)),
    "account.takeover": _takeover,
    "account.lost_phone": lambda n, r, d, who: _("%(who)s recorded that %(person)s lost their phone: every login "
                                                 "and the old password were ended.", who=who,
                                                 person=n.person(r.target_id)),
    "verifier.place": lambda n, r, d, who: _("%(who)s made %(person)s %(title)s of %(village)s.", who=who,
                                             person=n.person(r.target_id), village=n.unit(d.get("village")),
                                             title=str(VERIFIER_TITLES.get(d.get("title"), _("verifier")))),
    "informant.posts": lambda n, r, d, who: _("%(who)s set the watch points of %(person)s: %(posts)s.", who=who,
                                              person=n.informant(r.target_id, d), posts=n.posts(d.get("posts"))),
    "informant.handler": lambda n, r, d, who: _("%(who)s handed %(person)s to %(handler)s.", who=who,
                                                person=n.informant(r.target_id, d),
                                                handler=n.person(d.get("handler"))),
    "officer.villages": lambda n, r, d, who: _("%(who)s changed the villages of %(person)s: added %(added)s; "
                                               "removed %(removed)s.", who=who, person=n.person(r.target_id),
                                               added=n.units_list(d.get("added")),
                                               removed=n.units_list(d.get("removed"))),
    "officer.handover": lambda n, r, d, who: _("%(who)s handed the work of %(person)s over to %(to)s: %(villages)s "
                                               "villages, %(informants)s informants, %(tips)s open tips.", who=who,
                                               person=n.person(r.target_id), to=n.person(d.get("to")),
                                               villages=d.get("villages", 0), informants=d.get("informants", 0),
                                               tips=d.get("open_tips", 0)),
    "identity.reveal": lambda n, r, d, who: _("%(who)s viewed who %(person)s is. Reason: %(reason)s", who=who,
                                              person=n.informant(r.target_id, d), reason=d.get("reason", "")),
    # Logging in and out
    "login.success": lambda n, r, d, who: _("%(who)s logged in.", who=who),
    "login.failure": _login_failure,
    "logout": lambda n, r, d, who: _("%(who)s logged out.", who=who),
    # Two-step login (never a key or a code in the row)
    "twofactor.enable": _two_step_enable,
    "twofactor.disable": lambda n, r, d, who: _("%(who)s turned off two-step login.", who=who),
    "twofactor.reset": _two_step_reset,
    "twofactor.recovery_new": lambda n, r, d, who: _("%(who)s made new recovery codes; the old ones no longer "
                                                     "work.", who=who),
    "twofactor.recovery_used": lambda n, r, d, who: _("%(who)s used a recovery code to log in (%(n)s left).",
                                                      who=who, n=d.get("left", 0)),
    "twofactor.wrong_code": _two_step_wrong,
    "logout.everywhere": lambda n, r, d, who: _("%(who)s logged out on every phone and computer (%(n)s logins "
                                                "ended).", who=who, n=d.get("sessions", 0)),
    "logout.device": _logout_device,
    # The audit log itself
    "audit.verify": _audit_verify,
    "audit.key_rotated": lambda n, r, d, who: _("%(who)s replaced the secret key that seals the audit log (old key "
                                                "%(old)s, new key %(new)s).", who=who, old=d.get("old", ""),
                                                new=d.get("new", "")),
    "export.audit": lambda n, r, d, who: _("%(who)s exported %(n)s rows of the audit log.", who=who,
                                           n=d.get("rows", 0)),
    "export.tips": lambda n, r, d, who: _("%(who)s downloaded the list of %(n)s tips received from %(start)s to "
                                          "%(end)s (codes and days, no contents).", who=who, n=d.get("rows", 0),
                                          start=d.get("start", ""), end=d.get("end", "")),
    # Places and categories
    "village.add": lambda n, r, d, who: _("%(who)s added the village %(village)s.", who=who,
                                          village=n.unit(r.target_id)),
    "village.rename": lambda n, r, d, who: _("%(who)s renamed a village; it is now %(village)s.", who=who,
                                             village=n.unit(r.target_id)),
    "village.officer": _village_officer,
    "watch_point.add": _watch_point,
    "watch_point.edit": _watch_point,
    "time_window.add": lambda n, r, d, who: _("%(who)s added the time window %(window)s at %(point)s.", who=who,
                                              window=n.window(r.target_id), point=n.point(d.get("watch_point"))),
    "time_window.edit": lambda n, r, d, who: _("%(who)s changed a time window at %(point)s to %(window)s.",
                                               who=who, point=n.point(d.get("watch_point")), window=_hours(d)),
    "time_window.remove": lambda n, r, d, who: _("%(who)s removed a time window at %(point)s.", who=who,
                                                 point=n.point(d.get("watch_point"))),
    "category.add": lambda n, r, d, who: _("%(who)s added the category %(category)s.", who=who,
                                           category=n.category(r.target_id)),
    "category.edit": _category_edit,
    "category.move": lambda n, r, d, who: _("%(who)s moved the category %(category)s to place %(n)s in the list.",
                                            who=who, category=n.category(r.target_id), n=(d.get("position") or 0) + 1),
    "commune.settings": _settings,
    "commune.deadlines": _commune_deadlines,
    "category.limit": _category_limit,


    # Notifications outside the app (zaloan.notifications)
    "commune.channels": lambda n, r, d, who: _(
        "%(who)s chose how the commune sends notices: SMS %(sms)s, email %(email)s, notices on phones %(push)s.",
        who=who, sms=_("on") if d.get("sms") else _("off"), email=_("on") if d.get("email") else _("off"),
        push=_("on") if d.get("push") else _("off")),
    "commune.outbox_retry": lambda n, r, d, who: _("%(who)s had %(n)s notices that could not be delivered sent again.",
                                                   who=who, n=d.get("count", 0)),


    "commune.report_settings": lambda n, r, d, who: _(
        "%(who)s changed the report's settings: the model started on %(day)s; a tip open more than %(days)s days "
        "counts as old.", who=who, day=d.get("launched_on") or "—", days=d.get("old_open_days", "")),
    "commune.create": lambda n, r, d, who: _("%(who)s created the commune %(commune)s; its address for tips is "
                                             "/x/%(slug)s/report/.", who=who, commune=n.unit(r.target_id),
                                             slug=d.get("slug", "")),
    # Commendations of the yearly review
    "commendation.propose": lambda n, r, d, who: _("%(who)s proposed a commendation (%(reward)s) for %(person)s.",
                                                   who=who, reward=d.get("reward", ""), person=_commended(n, d)),
    "commendation.approve": lambda n, r, d, who: _("%(who)s approved the commendation (%(reward)s) for %(person)s.",
                                                   who=who, reward=d.get("reward", ""), person=_commended(n, d)),
    "commendation.decline": _commendation_decline,
    "commendation.decision": lambda n, r, d, who: _("%(who)s made commendation decision no. %(number)s, grouping "
                                                    "%(n)s approved commendations.", who=who,
                                                    number=d.get("number", ""), n=len(d.get("commendations") or [])),


    # Retention and erasure of personal data (counts only, never the content)
    "commune.retention": lambda n, r, d, who: _("%(who)s set how long the content of a closed tip is kept: "
                                                "%(n)s months after closing (was %(was)s).", who=who,
                                                n=d.get("months", 0), was=d.get("was", "")),
    "retention.erase": lambda n, r, d, who: _("%(who)s erased, under the commune's retention rule (%(months)s "
                                              "months), the content of %(tips)s closed tips: %(photos)s photos, "
                                              "%(messages)s messages and their texts.", who=who,
                                              months=d.get("months", 0), tips=d.get("tips", 0),
                                              photos=d.get("photos", 0), messages=d.get("messages", 0))
    + ((" " + _("%(n)s older messages of the informants' conversations were deleted.", n=d["conversation"]))
       if d.get("conversation") else ""),
    "erasure.request": lambda n, r, d, who: _("%(who)s asked to erase the name and phone number of %(person)s, "
                                              "at the person's request.", who=who,
                                              person=n.informant(r.target_id, d)),
    "erasure.confirm": lambda n, r, d, who: _("%(who)s confirmed: the name and phone number of %(person)s were "
                                              "erased; the account was closed (%(n)s logins ended).", who=who,
                                              person=n.informant(r.target_id, d), n=d.get("sessions", 0)),
    "erasure.refuse": lambda n, r, d, who: _("%(who)s refused the request to erase the name and phone number of "
                                             "%(person)s.", who=who, person=n.informant(r.target_id, d)),
    # Housekeeping
    "files.reconcile": lambda n, r, d, who: _("%(who)s matched the stored photos against the database: %(removed)s "
                                              "files without a photo row removed (older than %(hours)s hours), "
                                              "%(missing)s photos missing.", who=who, removed=d.get("removed", 0),
                                              hours=d.get("hours", 24), missing=d.get("missing", 0)),
    "storage.full": lambda n, r, d, who: _("The server ran out of storage space: something sent could not be saved."),
    "photos.purge": lambda n, r, d, who: _("%(who)s deleted %(n)s photos that were uploaded but never sent "
                                           "(older than %(days)s days).", who=who, n=d.get("count", 0),
                                           days=d.get("days", 0)),
}

# Announcements and the model's operating rules (zaloan.announcements, zaloan.rules)
SENTENCES.update({
    "announcement.post": lambda n, r, d, who: _("%(who)s posted the announcement “%(title)s”.", who=who,
                                                title=d.get("title", "")),
    "announcement.withdraw": lambda n, r, d, who: _("%(who)s withdrew the announcement “%(title)s”.", who=who,
                                                    title=d.get("title", "")),
    "announcement.pin": lambda n, r, d, who: (_("%(who)s pinned the announcement “%(title)s”.", who=who,
                                                title=d.get("title", "")) if d.get("pinned") else
                                              _("%(who)s unpinned the announcement “%(title)s”.", who=who,
                                                title=d.get("title", ""))),
    "rules.publish": lambda n, r, d, who: _("%(who)s published version %(number)s of the operating rules.", who=who,
                                            number=d.get("number", "")),
    "rules.ack": lambda n, r, d, who: _("%(who)s read and agreed to version %(number)s of the operating rules.",
                                        who=who, number=d.get("number", "")),
})

# The village security survey (zaloan.surveys)
SENTENCES.update({
    "survey.save": lambda n, r, d, who: _("%(who)s saved version %(version)s of the security survey of "
                                          "%(village)s (%(period)s).", who=who, version=d.get("version", ""),
                                          village=d.get("village", ""), period=d.get("period", "")),
})

# The standing channel between an informant and the commune police (zaloan.conversations): never the text.
TOPICS["channel"] = _l("Conversations with informants")
SENTENCES.update({
    "channel.message": lambda n, r, d, who: _("%(who)s wrote in the conversation of %(person)s.", who=who,
                                              person=n.informant(r.target_id, d)),
    "channel.request": lambda n, r, d, who: _("%(who)s asked %(person)s to keep an eye out, in their "
                                              "conversation.", who=who, person=n.informant(r.target_id, d)),
    "channel.tip": lambda n, r, d, who: _("%(who)s made tip %(tip)s from a message of the conversation of "
                                          "%(person)s.", who=who, tip=d.get("code", ""),
                                          person=n.informant(r.target_id, d)),
})

# The yearly review document (zaloan.review)
SENTENCES.update({
    "review.save": lambda n, r, d, who: _("%(who)s saved version %(version)s of the review report for %(start)s to "
                                          "%(end)s.", who=who, version=d.get("version", ""),
                                          start=d.get("start", ""), end=d.get("end", "")),
})

# Actions an anonymous villager does: no account means "an anonymous sender", not "the system".
SENDER_ACTIONS = {"tip.submit", "tip.answer"}


def _generic(n: Names, r: AuditEvent, d: dict, who: str) -> str:
    return _("%(who)s did “%(action)s”.", who=who, action=r.action)


def actor_of(names: Names, row: AuditEvent) -> str:
    """Return who did what the row records, as the sentences name them."""
    return names.actor(row.actor_id, anonymous=row.action in SENDER_ACTIONS)


def sentences(rows: Iterable[AuditEvent], names: Names | None = None) -> dict[int, str]:
    """Return {row id: sentence} for the rows, loading the names they mention in a fixed number of queries."""
    rows = list(rows)
    names = names or Names(rows)
    out = {}
    for r in rows:
        who = actor_of(names, r)
        try:
            out[r.id] = SENTENCES.get(r.action, _generic)(names, r, r.data or {}, who)
        except (TypeError, ValueError, KeyError, AttributeError):
            # A row written by an older version with other facts: still one readable line.
            out[r.id] = _generic(names, r, r.data or {}, who)
    return out


def sentence(row: AuditEvent) -> str:
    """Return the sentence for one audit row."""
    return sentences([row])[row.id]


# Voice notes (zaloan.voice)
SENTENCES.update({
    "voice.summary": lambda n, r, d, who: _("%(who)s wrote down what a voice note of tip %(tip)s says.", who=who,
                                            tip=n.tip(r.target_id)),
    "voices.purge": lambda n, r, d, who: _("%(who)s deleted %(n)s voice notes that were recorded but never sent "
                                           "(older than %(days)s days).", who=who, n=d.get("count", 0),
                                           days=d.get("days", 0)),
})
