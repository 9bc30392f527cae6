"""A province's worth of data for the server benchmark: many communes, each with its people and tips.

    populate(communes=200, tips=200_000)   # inside an app context, on a migrated, empty database

Every commune gets villages, a commander, officers (each in charge of some
villages), verifiers in every village, informants posted at the villages'
watch points, the default categories and its share of the tips, spread over
about 18 months with their timeline: read, triaged, asked and answered,
checked on the ground, closed. Rows go in with bulk inserts (thousands a
statement), not through the app's one-object-at-a-time functions, but they
keep the app's invariants: tip codes unique and of the app's alphabet,
aliases unique, `commune_id` on every row, a tip's village, category,
informant and verifiers all of its commune, a verifying tip with an open
task, a closed one with its outcome. No audit rows are made (the chain is
the app's own business); every account has the demo password.

On PostgreSQL the tips go in with the database's triggers off for each
transaction (`session_replication_role = replica`, which needs a superuser
such as `postgres`): the triggers that move each commune's clock with every
row would otherwise update one row thousands of times a transaction, and
the load would take many times longer. The clocks keep the value they had
after the communes were made; the app reads them as any other value.
"""
from __future__ import annotations

import hashlib
import random
from datetime import time, timedelta

from sqlalchemy import insert, select, text, update
from werkzeug.security import generate_password_hash

from zaloan.accounts import CODE_ALPHABET
from zaloan.communes import DEFAULT_CATEGORIES, get_or_create_unit
from zaloan.demo import PASSWORD
from zaloan.extensions import db
from zaloan.models import (
    Category,
    CommuneSettings,
    Finding,
    Informant,
    InformantPost,
    Message,
    Outcome,
    Role,
    TaskAssignment,
    TaskStatus,
    TimeWindow,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    UnitKind,
    Urgency,
    User,
    VerificationTask,
    VerifierTitle,
    WatchPoint,
    WatchPointKind,
    utcnow,
)

VILLAGES = 8
OFFICERS = 3
VERIFIERS_PER_VILLAGE = 2
INFORMANTS_PER_OFFICER = 10
DAYS = 548  # about 18 months
CLOSING = [o for o in Outcome.ALL if o != Outcome.DUPLICATE]


def phone(commune: int, n: int) -> str:
    """A distinct E.164 number per person: +84 91 ccc nnnn."""
    return f"+8491{commune:03d}{n:04d}"


def officer_phone(commune: int, k: int = 0) -> str:
    return phone(commune, 10 + k)


def _ids(model, rows: list[dict]) -> list[int]:
    """Insert `rows` in one bulk statement and return their new ids, in order."""
    if not rows:
        return []
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def make_communes(count: int, password_hash: str, now) -> list[int]:
    """Create `count` communes with their villages, people, categories and watch points; return their ids."""
    province = get_or_create_unit("Tỉnh Lạng Sơn", UnitKind.PROVINCE, None)
    commune_ids = _ids(Unit, [{"parent_id": province.id, "kind": UnitKind.COMMUNE, "name": f"Xã Thử {c:03d}",
                               "created_at": now} for c in range(1, count + 1)])
    village_rows = [{"parent_id": cid, "kind": UnitKind.VILLAGE, "name": f"Thôn {v + 1}", "created_at": now}
                    for cid in commune_ids for v in range(VILLAGES)]
    village_ids = _ids(Unit, village_rows)
    villages_of = {cid: village_ids[i * VILLAGES:(i + 1) * VILLAGES] for i, cid in enumerate(commune_ids)}
    db.session.execute(insert(Category), [
        {"commune_id": cid, "code": code, "name": name, "emoji": emoji, "position": i, "active": True}
        for cid in commune_ids for i, (code, name, emoji) in enumerate(DEFAULT_CATEGORIES)
    ])
    db.session.execute(insert(CommuneSettings), [
        {"commune_id": cid, "duty_phone": f"0205 {c:03d} 113", "due_hours_low": 72, "due_hours_normal": 24,
         "due_hours_high": 12, "due_hours_emergency": 2, "updated_at": now}
        for c, cid in enumerate(commune_ids, 1)
    ])

    def user(c, cid, n, name, role, **kw):
        return {"phone": phone(c, n), "full_name": name, "role": role, "commune_id": cid,
                "password_hash": password_hash, "active": True, "village_id": None, "title": None,
                "position": "", "created_at": now, **kw}

    staff = []
    for c, cid in enumerate(commune_ids, 1):
        staff.append(user(c, cid, 1, f"Chỉ huy xã {c}", Role.COMMANDER, position="Trưởng Công an xã"))
        staff.append(user(c, cid, 2, f"Ban Chỉ đạo xã {c}", Role.OBSERVER))
        staff += [user(c, cid, 10 + k, f"Cán bộ {k + 1} xã {c}", Role.OFFICER, position="Công an viên chính quy")
                  for k in range(OFFICERS)]
    staff_ids = _ids(User, staff)
    per = 2 + OFFICERS
    officers_of = {cid: staff_ids[i * per + 2:(i + 1) * per] for i, cid in enumerate(commune_ids)}
    # Each officer is in charge of every OFFICERS-th village of the commune.
    db.session.execute(update(Unit), [
        {"id": vid, "officer_id": officers_of[cid][v % OFFICERS]}
        for cid in commune_ids for v, vid in enumerate(villages_of[cid])
    ])
    verifiers = [
        user(c, cid, 100 + v * VERIFIERS_PER_VILLAGE + k, f"Tổ viên {k + 1} thôn {v + 1} xã {c}", Role.VERIFIER,
             village_id=vid, title=VerifierTitle.ALL[k % len(VerifierTitle.ALL)])
        for c, cid in enumerate(commune_ids, 1) for v, vid in enumerate(villages_of[cid])
        for k in range(VERIFIERS_PER_VILLAGE)
    ]
    _ids(User, verifiers)
    point_ids = _ids(WatchPoint, [
        {"village_id": vid, "name": f"Chợ thôn {v + 1}", "kind": WatchPointKind.ALL[v % len(WatchPointKind.ALL)],
         "note": "", "active": True, "created_at": now}
        for cid in commune_ids for v, vid in enumerate(villages_of[cid])
    ])
    window_ids = _ids(TimeWindow, [{"watch_point_id": pid, "starts": time(6, 0), "ends": time(9, 0),
                                    "label": "Buổi sáng"} for pid in point_ids])
    point_of_village = dict(zip(village_ids, zip(point_ids, window_ids)))
    informant_users, informant_rows = [], []
    alias = _next_alias_number()
    for c, cid in enumerate(commune_ids, 1):
        for k, officer_id in enumerate(officers_of[cid]):
            for i in range(INFORMANTS_PER_OFFICER):
                n = 1000 + k * INFORMANTS_PER_OFFICER + i
                informant_users.append(user(c, cid, n, f"Người báo tin {n} xã {c}", Role.INFORMANT,
                                            created_by_id=officer_id))
                informant_rows.append({"alias": f"NT-{alias:04d}", "commune_id": cid, "handler_id": officer_id,
                                       "created_at": now})
                alias += 1
    for row, uid in zip(informant_rows, _ids(User, informant_users)):
        row["user_id"] = uid
    informant_ids = _ids(Informant, informant_rows)
    posts = []
    for row, iid in zip(informant_rows, informant_ids):
        # Posted at a watch point of a village of the handler.
        own = [v for v in villages_of[row["commune_id"]]
               if officers_of[row["commune_id"]][villages_of[row["commune_id"]].index(v) % OFFICERS]
               == row["handler_id"]]
        pid, wid = point_of_village[own[iid % len(own)]]
        posts.append({"informant_id": iid, "watch_point_id": pid, "time_window_id": wid})
    db.session.execute(insert(InformantPost), posts)
    db.session.flush()
    return commune_ids


def _next_alias_number() -> int:
    """Aliases are unique across the database: continue after the highest one in use."""
    taken = db.session.scalars(select(Informant.alias)).all()
    numbers = [int(a[3:]) for a in taken if a.startswith("NT-") and a[3:].isdigit()]
    return max(numbers, default=0) + 1


class Commune:
    """What a commune's tips are made from, read back from the database."""

    def __init__(self, cid: int):
        self.id = cid
        self.villages = db.session.execute(
            select(Unit.id, Unit.officer_id).where(Unit.parent_id == cid, Unit.kind == UnitKind.VILLAGE)
            .order_by(Unit.id)
        ).all()
        self.commander = db.session.scalar(select(User.id).where(User.commune_id == cid,
                                                                 User.role == Role.COMMANDER))
        self.categories = db.session.scalars(select(Category.id).where(Category.commune_id == cid)).all()
        self.verifiers: dict[int, list[int]] = {}
        for uid, vid in db.session.execute(select(User.id, User.village_id).where(
                User.commune_id == cid, User.role == Role.VERIFIER, User.active.is_(True))):
            self.verifiers.setdefault(vid, []).append(uid)
        self.points = dict(db.session.execute(
            select(WatchPoint.village_id, WatchPoint.id).where(WatchPoint.village_id.in_([v for v, _ in self.villages]))
        ).all())
        self.informants = db.session.execute(
            select(Informant.id, Informant.user_id, Informant.handler_id).where(Informant.commune_id == cid)
        ).all()
        posted = dict(db.session.execute(
            select(InformantPost.informant_id, WatchPoint.village_id)
            .join(WatchPoint, WatchPoint.id == InformantPost.watch_point_id)
            .where(InformantPost.informant_id.in_([i for i, _, _ in self.informants]))
        ).all())
        self.village_of_informant = posted


def make_tips(commune: Commune, count: int, rng: random.Random, codes: set[str], now) -> int:
    """Add `count` tips to the commune with their messages, tasks and timeline; return how many were made."""
    officer_of = dict(commune.villages)
    tips, plans = [], []
    for _ in range(count):
        created = now - timedelta(minutes=rng.randint(5, DAYS * 24 * 60))
        age_days = (now - created).days
        if age_days < 3:
            weights = (4, 3, 3, 2)
        elif age_days < 30:
            weights = (1, 2, 3, 10)
        else:
            weights = (1, 3, 3, 30)
        status = rng.choices(TipStatus.ALL, weights=weights)[0]
        informant = rng.choice(commune.informants) if commune.informants and rng.random() < 0.7 else None
        if informant is not None:
            iid, author, handler = informant
            r = rng.random()
            village = (commune.village_of_informant.get(iid) if r < 0.8
                       else None if r < 0.85 else rng.choice(commune.villages)[0])
        else:
            iid, author, handler = None, None, None
            village = rng.choice(commune.villages)[0]
        if village is None and status == TipStatus.VERIFYING:
            status = TipStatus.TRIAGED  # no village, nobody to send: the officer decides alone
        reader = officer_of.get(village) if village else handler
        reader = reader or commune.commander
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        while code in codes:
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        codes.add(code)
        t = created
        read_at = None if status == TipStatus.NEW else created + timedelta(minutes=rng.randint(3, 600))
        events = [("submitted", None, created, {"photos": 0})]
        urgency = rng.choices(Urgency.ALL, weights=(2, 10, 4, 1))[0]
        category = rng.choice(commune.categories)
        if read_at:
            events.append(("read", reader, read_at, {}))
            t = read_at + timedelta(minutes=rng.randint(1, 30))
            events.append(("triaged", reader, t, {"category": category, "urgency": urgency}))
        messages = []
        if read_at and rng.random() < 0.3:
            for m in range(rng.randint(1, 4)):
                t += timedelta(minutes=rng.randint(5, 600))
                police = m % 2 == 0
                messages.append({"author_id": reader if police else author, "from_police": police,
                                 "body": ("Anh/chị nhớ thêm gì về người đó không?" if police
                                          else "Người đó mặc áo khoác đen, đi xe máy đỏ."),
                                 "created_at": t, "read_at": t + timedelta(minutes=30) if m < 3 else None})
        task = None
        if village and commune.verifiers.get(village) and (
                status == TipStatus.VERIFYING or (status == TipStatus.CLOSED and rng.random() < 0.3)):
            t += timedelta(minutes=rng.randint(10, 120))
            done = status == TipStatus.CLOSED
            due = t + timedelta(hours=24)
            if not done and due <= now:
                due = now + timedelta(hours=rng.randint(2, 48))
            chosen = rng.sample(commune.verifiers[village], k=rng.randint(1, len(commune.verifiers[village])))
            task = {"created": t, "due": due, "done": done, "verifiers": chosen, "urgency": urgency}
            events.append(("task_created", reader, t, {"verifiers": sorted(chosen)}))
            if done:
                t += timedelta(hours=rng.randint(1, 20))
                for v in chosen:
                    events.append(("task_reported", v, t, {"finding": Finding.CONFIRMED}))
        closed_at, outcome = None, None
        if status == TipStatus.CLOSED:
            t += timedelta(hours=rng.randint(1, 72))
            closed_at, outcome = t, rng.choice(CLOSING)
            events.append(("outcome", reader, t, {"outcome": outcome}))
        last = max([e[2] for e in events] + [m["created_at"] for m in messages])
        if last > now:  # a recent tip: its steps all happened by now
            shift = last - now + timedelta(minutes=1)
            events = [(k, a, at - shift, d) for k, a, at, d in events]
            for m in messages:
                m["created_at"] -= shift
                m["read_at"] = m["read_at"] and m["read_at"] - shift
            if task:
                task["created"] -= shift
            if closed_at:
                closed_at -= shift
            if read_at:
                read_at -= shift
            created -= shift
            last = now - timedelta(minutes=1)
        tips.append({
            "code": code, "commune_id": commune.id, "informant_id": iid,
            "anon_secret_hash": None if iid else hashlib.sha256(code.encode()).hexdigest(),
            "category_id": category, "village_id": village,
            "watch_point_id": commune.points.get(village) if village and rng.random() < 0.3 else None,
            "place_text": "", "occurred_at": created - timedelta(hours=1), "urgency": urgency,
            "body": "Có người lạ hay tụ tập ở đầu thôn vào buổi tối, nghi có hoạt động bất thường.",
            "status": status, "outcome": outcome, "outcome_note": "", "created_at": created, "updated_at": last,
            "closed_at": closed_at, "first_read_at": read_at, "first_read_by_id": reader if read_at else None,
        })
        plans.append((events, messages, task))
    tip_ids = _ids(Tip, tips)
    message_rows = []
    for tid, (_events, messages, _task) in zip(tip_ids, plans):
        for m in messages:
            message_rows.append({**m, "tip_id": tid})
    message_ids = _ids(Message, message_rows)
    messages_of: dict[int, list[tuple[int, dict]]] = {}
    for mid, row in zip(message_ids, message_rows):
        messages_of.setdefault(row["tip_id"], []).append((mid, row))
    task_rows, task_plans = [], []
    for tid, tip, (_events, _messages, task) in zip(tip_ids, tips, plans):
        if task:
            task_rows.append({
                "tip_id": tid, "village_id": tip["village_id"], "brief": "Nhờ xem giúp ở đầu thôn buổi tối.",
                "place_hint": "", "due_at": task["due"], "urgency": task["urgency"],
                "status": TaskStatus.DONE if task["done"] else TaskStatus.OPEN,
                "created_by_id": tip["first_read_by_id"], "created_at": task["created"],
            })
            task_plans.append(task)
    task_ids = _ids(VerificationTask, task_rows)
    assignments = [
        {"task_id": kid, "verifier_id": v, "accepted_at": plan["created"] + timedelta(hours=1) if plan["done"] else None,
         "reported_at": plan["created"] + timedelta(hours=2) if plan["done"] else None,
         "finding": Finding.CONFIRMED if plan["done"] else None, "notes": ""}
        for kid, plan in zip(task_ids, task_plans) for v in plan["verifiers"]
    ]
    if assignments:
        db.session.execute(insert(TaskAssignment), assignments)
    task_of = dict(zip([r["tip_id"] for r in task_rows], task_ids))
    event_rows = []
    for tid, (events, _messages, _task) in zip(tip_ids, plans):
        for kind, actor, at, data in events:
            if kind.startswith("task_"):
                data = {**data, "task": task_of[tid]}
            event_rows.append({"tip_id": tid, "actor_id": actor, "kind": kind, "data": data, "created_at": at})
        for mid, row in messages_of.get(tid, []):
            event_rows.append({"tip_id": tid, "actor_id": row["author_id"] if row["from_police"] else None,
                               "kind": "asked" if row["from_police"] else "answered", "data": {"message": mid},
                               "created_at": row["created_at"]})
    event_rows.sort(key=lambda r: r["created_at"])  # the timeline's order is by id
    db.session.execute(insert(TipEvent), event_rows)
    return len(tip_ids)


def populate(communes: int, tips: int, seed: int = 7, progress=None) -> list[int]:
    """Create `communes` communes sharing `tips` tips; return the communes' ids."""
    rng = random.Random(seed)
    now = utcnow()
    password_hash = generate_password_hash(PASSWORD)
    commune_ids = make_communes(communes, password_hash, now)
    db.session.commit()
    codes = set(db.session.scalars(select(Tip.code)))
    per, extra = divmod(tips, communes)
    bulk = db.session.get_bind().dialect.name == "postgresql"
    for i, cid in enumerate(commune_ids):
        if bulk:
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        make_tips(Commune(cid), per + (1 if i < extra else 0), rng, codes, now)
        if i % 10 == 9 or i == len(commune_ids) - 1:
            db.session.commit()
            if progress:
                progress(i + 1, len(commune_ids))
    return commune_ids
