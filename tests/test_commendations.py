"""Commendations: proposals in scope, a second person decides, names only on an approved decision (audited),
contributions counted right, the informant sees only their own, one record per form key, bad input refused."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from zaloan import accounts, commendations as cm
from zaloan.extensions import db
from zaloan.formkit import LOCAL
from zaloan.models import (
    AuditEvent,
    Category,
    Commendation,
    CommendationDecision,
    CommendationKind,
    CommendationStatus,
    Finding,
    Informant,
    Message,
    Outcome,
    Role,
    TaskAssignment,
    Tip,
    Unit,
    User,
    VerificationTask,
    utcnow,
)

from .helpers import U
from .test_access_matrix import session_client

AN = "Nguyễn Văn An"


def an_informant(app) -> int:
    with app.app_context():
        return U("informant").informant.id


def an_tip_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Tip.id).where(Tip.informant_id == U("informant").informant.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def proposal(kind="informant", candidate=None, key="propose-key-0001", **extra) -> dict:
    data = {"kind": kind, "reason": "Báo tin kịp thời nhiều vụ trộm cắp ở chợ.", "reward": "Giấy khen",
            "client_key": key}
    if candidate is not None:
        data["candidate"] = str(candidate)
    data.update(extra)
    return data


def propose(client, app, key="propose-key-0001", **extra) -> int:
    """Have `client` (an officer) propose informant An; return the proposal's id."""
    r = client.post("/commendations/propose", data=proposal(candidate=an_informant(app), key=key, **extra))
    assert r.status_code == 303, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


def status_of(app, cid) -> str:
    with app.app_context():
        return db.session.get(Commendation, cid).status


# --- Two people: the proposer never decides ----------------------------------------------------------


def test_an_officers_proposal_is_approved_by_the_commander_and_audited(app):
    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app)
    page = officer.get(f"/commendations/{cid}").get_data(as_text=True)
    assert "NT-" in page and AN not in page and 'name="verdict"' not in page
    # An officer may not decide, even on a proposal they can see.
    assert officer.post(f"/commendations/{cid}/decide", data={"verdict": "approve"}).status_code == 404
    r = boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": "Đồng ý."})
    assert r.status_code == 303
    assert status_of(app, cid) == CommendationStatus.APPROVED
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "commendation")))
        assert actions == ["commendation.propose", "commendation.approve"]
    # The same press again (a double tap) is no error and records nothing more; another verdict is refused.
    assert boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": "Đồng ý."}).status_code == 303
    assert boss.post(f"/commendations/{cid}/decide", data={"verdict": "decline", "note": "Không"}).status_code == 409
    assert status_of(app, cid) == CommendationStatus.APPROVED
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action.like("commendation.%"))) == 2


def test_the_proposer_never_decides_and_a_lone_commander_is_told_so(app):
    boss = session_client(app, "commander")
    r = boss.post("/commendations/propose", data=proposal(candidate=an_informant(app)))
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = boss.get(f"/commendations/{cid}").get_data(as_text=True)
    assert 'name="verdict"' not in page
    assert "chỉ có một tài khoản chỉ huy" in page  # only one commander: nobody can decide yet, said plainly
    r = boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": ""})
    assert r.status_code == 403
    assert status_of(app, cid) == CommendationStatus.PROPOSED
    # A second commander (the deputy chief) decides it.
    with app.app_context():
        deputy = accounts.create_user(by=None, phone="0900000099", full_name="Lý Văn Phó", role=Role.COMMANDER,
                                      commune=U("commander").commune)
        db.session.commit()
    page = boss.get(f"/commendations/{cid}").get_data(as_text=True)
    assert "chỉ có một tài khoản chỉ huy" not in page
    second = session_client(app, "0900000099")
    assert 'name="verdict"' in second.get(f"/commendations/{cid}").get_data(as_text=True)
    assert second.post(f"/commendations/{cid}/decide", data={"verdict": "decline", "note": "Chưa đủ thành tích."}
                       ).status_code == 303
    assert status_of(app, cid) == CommendationStatus.DECLINED
    assert deputy is not None


# --- Identity only on an approved decision, as an audited reveal ---------------------------------------


def test_a_name_appears_on_a_decision_only_after_approval_and_each_view_is_audited(app):
    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app)
    # Not approved: it cannot go into a decision, and no page shows the name.
    r = boss.post("/commendations/decisions/new", data={"number": "12/QĐ-CAX", "signed_on": "2026-11-30",
                                                         "signer": "Trưởng Công an xã", "commendation_ids": str(cid),
                                                         "client_key": "decision-key-01"})
    assert r.status_code == 422
    with app.app_context():
        assert count(CommendationDecision) == 0
    for url in ("/commendations/", f"/commendations/{cid}", "/commendations/decisions"):
        assert AN not in boss.get(url).get_data(as_text=True)
    boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": ""})
    r = boss.post("/commendations/decisions/new", data={"number": "12/QĐ-CAX", "signed_on": "2026-11-30",
                                                         "signer": "Trưởng Công an xã", "commendation_ids": str(cid),
                                                         "client_key": "decision-key-01"})
    assert r.status_code == 303
    did = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        reveals_before = db.session.scalar(select(func.count()).where(AuditEvent.action == "identity.reveal"))
    # The decision's page: the alias; a GET of the print address only leads back to it.
    page = boss.get(f"/commendations/decisions/{did}").get_data(as_text=True)
    assert AN not in page and "NT-" in page and "Giấy khen" in page
    assert boss.get(f"/commendations/decisions/{did}/print").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "identity.reveal")) == reveals_before
    printed = boss.post(f"/commendations/decisions/{did}/print")
    assert printed.status_code == 200
    text = printed.get_data(as_text=True)
    assert AN in text and "12/QĐ-CAX" in text and "Báo tin kịp thời" in text
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.reveal")
                                 .order_by(AuditEvent.id.desc())).first()
        assert row.target_id == U("informant").informant.id and row.data["decision"] == did
        assert "12/QĐ-CAX" in row.data["reason"]
        assert AN not in str(row.data)
    # Another commune's commander, an officer, a verifier: 404.
    for who in ("officer", "verifier", "observer"):
        assert session_client(app, who).post(f"/commendations/decisions/{did}/print").status_code == 404


# --- Contributions: SQL aggregates against a brute-force count -----------------------------------------


def generate(rng: random.Random) -> None:
    """Add tips with tasks, findings, outcomes and threads at random times for the demo's people."""
    commune = U("commander").commune
    informants = list(db.session.scalars(select(Informant).where(Informant.commune_id == commune.id)))
    verifiers = list(db.session.scalars(select(User).where(User.role == Role.VERIFIER,
                                                           User.commune_id == commune.id)))
    villages = [v for v in commune.villages()]
    category = db.session.scalar(select(Category).where(Category.commune_id == commune.id))
    now = utcnow()
    for n in range(60):
        sent = now - timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 1440))
        village = rng.choice(villages)
        tip = Tip(code=f"GEN{n:05d}", commune_id=commune.id, informant_id=rng.choice(informants).id,
                  category_id=category.id, village_id=village.id, occurred_at=sent, created_at=sent, body="x",
                  status="closed" if rng.random() < 0.5 else "triaged",
                  outcome=rng.choice(Outcome.ALL) if rng.random() < 0.6 else None)
        db.session.add(tip)
        db.session.flush()
        for _t in range(rng.randint(0, 2)):
            task = VerificationTask(tip_id=tip.id, village_id=rng.choice(villages).id, brief="b",
                                    due_at=sent + timedelta(days=1), created_at=sent + timedelta(hours=1))
            db.session.add(task)
            db.session.flush()
            for v in rng.sample(verifiers, rng.randint(1, len(verifiers))):
                done = rng.random() < 0.7
                db.session.add(TaskAssignment(task_id=task.id, verifier_id=v.id,
                                              finding=rng.choice(Finding.ALL) if done else None,
                                              reported_at=task.created_at + timedelta(minutes=rng.randint(5, 3000))
                                              if done else None))
        at = sent
        for _m in range(rng.randint(0, 5)):
            at += timedelta(minutes=rng.randint(1, 600))
            police = rng.random() < 0.5
            db.session.add(Message(tip_id=tip.id, from_police=police, body="m", created_at=at,
                                   author_id=None if police else tip.informant.user_id))
    db.session.commit()


def in_period(when: datetime, start: date, end: date) -> bool:
    local = when.replace(tzinfo=timezone.utc).astimezone(LOCAL).date()
    return start <= local <= end


def brute_force(start: date, end: date):
    tips = [t for t in db.session.scalars(select(Tip)) if in_period(t.created_at, start, end)]
    informants: dict[int, list] = {}
    for t in tips:
        if t.informant_id is None:
            continue
        findings = [a.finding for task in t.tasks for a in task.assignments]
        row = informants.setdefault(t.informant_id, [0, 0, 0, 0, []])
        row[0] += 1
        row[1] += any(f in (Finding.CONFIRMED, Finding.PARTLY) for f in findings)
        row[2] += t.outcome in cm.ACTED
        for q in t.messages:
            if not q.from_police:
                continue
            replies = [m.created_at for m in t.messages if not m.from_police and m.created_at > q.created_at]
            if replies:
                row[3] += 1
                row[4].append((min(replies) - q.created_at).total_seconds())
    tasks = [k for k in db.session.scalars(select(VerificationTask)) if in_period(k.created_at, start, end)]
    verifiers: dict[int, list] = {}
    villages: dict[int, list] = {}
    for task in tasks:
        for a in task.assignments:
            for key, table in ((a.verifier_id, verifiers), (task.village_id, villages)):
                row = table.setdefault(key, [set(), 0, set(), set(), []])
                row[0].add(task.id)
                if a.finding in (Finding.CONFIRMED, Finding.PARTLY):
                    row[2].add(task.tip_id)
                if a.reported_at is not None:
                    row[1] += 1
                    row[4].append((a.reported_at - task.created_at).total_seconds())
                    if task.tip.outcome in cm.ACTED:
                        row[3].add(task.tip_id)
    return informants, verifiers, villages


def avg(values):
    return sum(values) / len(values) if values else None


def same_wait(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_contributions_match_a_brute_force_count(app, seed):
    rng = random.Random(seed)
    with app.app_context():
        generate(rng)
        boss = U("commander")
        today = datetime.now(LOCAL).date()
        for start, end in ((today - timedelta(days=364), today), (today - timedelta(days=500), today - timedelta(days=90))):
            period = cm.Period(start, end)
            inf, ver, vil = brute_force(start, end)
            got = cm.informant_contributions(boss, period)
            assert set(got) == set(inf)
            for key, (n, conf, acted, answered, waits) in inf.items():
                c = got[key]
                assert (c.work, c.confirmed, c.outcomes, c.answered) == (n, conf, acted, answered), key
                assert same_wait(c.avg_seconds, avg(waits))
            for got, want in ((cm.verifier_contributions(boss, period), ver),
                              (cm.village_contributions(boss, period), vil)):
                assert set(got) == set(want)
                for key, (tasks, reported, conf, acted, waits) in want.items():
                    c = got[key]
                    assert (c.work, c.answered, c.confirmed, c.outcomes) == (len(tasks), reported, len(conf),
                                                                             len(acted)), key
                    assert same_wait(c.avg_seconds, avg(waits))
        # An officer's figures hold only their own informants and villages.
        officer2 = U("officer2")
        mine = cm.informant_contributions(officer2, cm.Period(today - timedelta(days=700), today))
        assert mine == {}
        villages = cm.village_contributions(officer2, cm.Period(today - timedelta(days=700), today))
        assert set(villages) <= {v.id for v in officer2.areas()}


def test_the_candidates_page_shows_the_figures_by_alias(app):
    page = session_client(app, "officer").get("/commendations/candidates")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "NT-" in text and AN not in text and "Hoàng Văn Cường" in text and "Thôn Đồng Bé" in text
    # Officer 2 sees neither informant (officer 1 handles both) nor officer 1's villages.
    text = session_client(app, "officer2").get("/commendations/candidates").get_data(as_text=True)
    assert "NT-" not in text and "Thôn Đồng Bé" not in text


# --- Scope -------------------------------------------------------------------------------------------


def test_an_officer_cannot_propose_for_another_officers_informant(app):
    other = session_client(app, "officer2")
    url = f"/commendations/propose?kind=informant&candidate={an_informant(app)}"
    assert other.get(url).status_code == 404
    assert other.post("/commendations/propose", data=proposal(candidate=an_informant(app))).status_code == 404
    with app.app_context():
        assert count(Commendation) == 0


def test_the_tips_named_must_be_in_the_proposers_scope(app):
    with app.app_context():
        v4 = db.session.scalar(select(Unit).where(Unit.name == "Thôn Trung Tâm"))
        foreign = db.session.scalar(select(Tip.id).where(Tip.village_id == v4.id))
    officer = session_client(app, "officer")
    r = officer.post("/commendations/propose", data=proposal(kind="collective", collective_name="Tổ tự quản chợ",
                                                             tip_ids=str(foreign)))
    assert r.status_code == 422
    assert "Vui lòng chọn trong các tin" in r.get_data(as_text=True)
    with app.app_context():
        assert count(Commendation) == 0
    # One of An's own tips is accepted and kept with the proposal.
    own = an_tip_ids(app)[0]
    cid = propose(officer, app, tip_ids=str(own))
    with app.app_context():
        assert [t.id for t in db.session.get(Commendation, cid).tips] == [own]


# --- The informant sees only their own, privately ----------------------------------------------------


def test_the_informant_sees_only_their_own_approved_recognition(app):
    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app, reward="Thư khen của Trưởng Công an xã")
    an, binh = session_client(app, "informant"), session_client(app, "informant2")
    assert "Thư khen" not in an.get("/informant/").get_data(as_text=True)  # not before approval
    boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": ""})
    home = an.get("/informant/").get_data(as_text=True)
    assert "Thư khen của Trưởng Công an xã" in home and "Báo tin kịp thời" not in home
    assert "Thư khen" not in binh.get("/informant/").get_data(as_text=True)
    for who in ("informant", "informant2", "verifier"):
        c = session_client(app, who)
        for url in ("/commendations/", "/commendations/candidates", f"/commendations/{cid}",
                    "/commendations/figures"):
            assert c.get(url).status_code == 404, (who, url)
    # The observer: counts only.
    figures = session_client(app, "observer").get("/commendations/figures")
    text = figures.get_data(as_text=True)
    assert figures.status_code == 200 and "NT-" not in text and "Thư khen" not in text and AN not in text
    assert session_client(app, "observer").get(f"/commendations/{cid}").status_code == 404


# --- One record per form key; bad input ------------------------------------------------------------


def test_a_double_submit_makes_one_proposal_and_a_reused_key_is_refused(app):
    officer = session_client(app, "officer")
    first = propose(officer, app, key="double-tap-key-1")
    again = propose(officer, app, key="double-tap-key-1")
    assert first == again
    r = officer.post("/commendations/propose", data=proposal(candidate=an_informant(app), key="double-tap-key-1",
                                                             reward="Tiền thưởng"))
    assert r.status_code == 409
    with app.app_context():
        assert count(Commendation) == 1
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "commendation.propose")) == 1


def test_a_double_submit_makes_one_decision(app):
    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app)
    boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": ""})
    data = {"number": "3/QĐ", "signed_on": "2026-11-30", "signer": "Trưởng Công an xã",
            "commendation_ids": str(cid), "client_key": "decision-key-02"}
    a, b = boss.post("/commendations/decisions/new", data=data), boss.post("/commendations/decisions/new", data=data)
    assert a.status_code == 303 and b.status_code == 303 and a.headers["Location"] == b.headers["Location"]
    with app.app_context():
        assert count(CommendationDecision) == 1


@pytest.mark.parametrize("field,value,words", [
    ("reason", "", "Vui lòng ghi"),
    ("reason", "ngắn", "10 đến 2000"),
    ("reward", "", "Vui lòng chọn hoặc ghi"),
    ("reward", "x" * 121, "120"),
    ("start", "2026-13-45", "Vui lòng chọn lại"),
    ("client_key", "bad key!", "Biểu mẫu bị lỗi"),
])
def test_bad_input_gets_a_vietnamese_message_and_changes_nothing(app, field, value, words):
    officer = session_client(app, "officer")
    data = proposal(candidate=an_informant(app), **{field: value})
    if field == "start":
        data["end"] = "2026-11-30"
    r = officer.post("/commendations/propose", data=data)
    assert r.status_code == 422
    assert words in r.get_data(as_text=True)
    with app.app_context():
        assert count(Commendation) == 0
        assert db.session.scalar(select(func.count()).where(AuditEvent.action.like("commendation.%"))) == 0


def test_a_bad_decision_form_changes_nothing(app):
    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app)
    r = boss.post(f"/commendations/{cid}/decide", data={"verdict": "decline", "note": ""})
    assert r.status_code == 422 and "Vui lòng cho biết" in r.get_data(as_text=True)
    r = boss.post(f"/commendations/{cid}/decide", data={"verdict": "maybe"})
    assert r.status_code == 422
    assert status_of(app, cid) == CommendationStatus.PROPOSED
    boss.post(f"/commendations/{cid}/decide", data={"verdict": "approve", "note": ""})
    for data in ({"number": "", "signed_on": "2026-11-30", "signer": "A"},
                 {"number": "1", "signed_on": "9999-99-99", "signer": "A"},
                 {"number": "1", "signed_on": "2026-11-30", "signer": "A", "commendation_ids": "999999"}):
        r = boss.post("/commendations/decisions/new", data={"commendation_ids": str(cid), "client_key": "dkey-0003",
                                                             **data})
        assert r.status_code == 422, data
    with app.app_context():
        assert count(CommendationDecision) == 0


def test_every_change_is_audited_in_words(app):
    from zaloan import audit_words

    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    cid = propose(officer, app)
    boss.post(f"/commendations/{cid}/decide", data={"verdict": "decline", "note": "Chưa đủ."})
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("commendation.%"))
                                       .order_by(AuditEvent.id)))
        words = audit_words.sentences(rows)
        text = " ".join(words.values())
        assert "đề nghị khen thưởng" in text and "Chưa đủ." in text and "NT-" in text and AN not in text


def test_the_commendation_rules_and_their_sql_scopes_agree(app):
    from zaloan.permissions import can_see_commendation, can_see_decision, commendations_for, decisions_for

    officer, boss = session_client(app, "officer"), session_client(app, "commander")
    mine = propose(officer, app)
    boss.post("/commendations/propose", data=proposal(kind="collective", collective_name="Tổ tự quản chợ",
                                                      key="boss-key-0001"))
    with app.app_context():
        from .test_access_matrix import commendation_objects

        commendation_objects(U("commander").commune_id)
        db.session.commit()
        rows = list(db.session.scalars(select(Commendation)))
        decisions = list(db.session.scalars(select(CommendationDecision)))
        assert len(rows) >= 4 and decisions
        for who in ("informant", "verifier", "officer", "officer2", "commander", "observer", "province_admin"):
            actor = U(who)
            by_rule = {c.id for c in rows if can_see_commendation(actor, c)}
            by_scope = set(db.session.scalars(select(Commendation.id).where(commendations_for(actor))))
            assert by_rule == by_scope, who
            assert {d.id for d in decisions if can_see_decision(actor, d)} == set(
                db.session.scalars(select(CommendationDecision.id).where(decisions_for(actor)))), who
        assert mine in {c.id for c in rows if can_see_commendation(U("officer"), c)}
        assert mine not in {c.id for c in rows if can_see_commendation(U("officer2"), c)}


def test_the_lists_cost_a_fixed_number_of_queries(app):
    from .test_query_counts import queries

    boss = session_client(app, "commander")
    with app.app_context():
        commune_id = U("commander").commune_id
        decision = CommendationDecision(commune_id=commune_id, number="7/QĐ", signed_on=date(2026, 11, 30),
                                        signer="Trưởng Công an xã", created_by_id=U("commander").id)
        db.session.add(decision)
        db.session.commit()
        did = decision.id

    def add(n):
        with app.app_context():
            people = [U("informant").informant.id, U("informant2").informant.id]
            verifier, village = U("verifier"), U("verifier").village_id
            for i in range(n):
                kind = CommendationKind.ALL[i % 4]
                db.session.add(Commendation(
                    commune_id=commune_id, kind=kind, reason="Giúp đỡ nhiều", reward="Giấy khen",
                    period_start=date(2026, 1, 1), period_end=date(2026, 11, 30), status=CommendationStatus.APPROVED,
                    proposed_by_id=U("officer").id, decided_by_id=U("commander").id, decided_at=utcnow(),
                    decision_id=did, informant_id=people[i % 2] if kind == "informant" else None,
                    verifier_id=verifier.id if kind == "verifier" else None,
                    village_id=village if kind == "village_group" else None,
                    collective_name="Tổ tự quản" if kind == "collective" else ""))
            db.session.commit()

    add(4)
    few = {p: queries(app, boss, p) for p in ("/commendations/", f"/commendations/decisions/{did}")}
    add(12)
    many = {p: queries(app, boss, p) for p in few}
    assert many == few
