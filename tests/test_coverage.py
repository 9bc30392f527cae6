"""Building the model (the three steps) and the coverage grid: counts against a brute-force count, holes,
scope, who may see aliases."""
from __future__ import annotations

import random
import secrets
from datetime import time, timedelta

from sqlalchemy import select

from zaloan import coverage as cov
from zaloan.extensions import db
from zaloan.models import (
    Informant,
    InformantPost,
    Role,
    TimeWindow,
    Tip,
    Unit,
    UnitKind,
    User,
    VerifierTitle,
    WatchPoint,
    utcnow,
)

from .helpers import U
from .test_access_matrix import session_client

LOCAL = timedelta(hours=7)


def village_named(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def new_village(name: str, officer: User) -> Unit:
    commune = village_named("Thôn Đồng Bé").parent
    v = Unit(kind=UnitKind.VILLAGE, name=name, parent=commune, officer_id=officer.id)
    db.session.add(v)
    db.session.flush()
    return v


def new_informant(commune_id: int, handler: User, n: int, active: bool = True) -> Informant:
    person = User(phone=f"+8491{secrets.randbelow(10**7):07d}{n % 10}", full_name=f"Người thử {n}",
                  role=Role.INFORMANT, commune_id=commune_id, active=active)
    db.session.add(person)
    db.session.flush()
    inf = Informant(user_id=person.id, alias=f"TT-{n:04d}", commune_id=commune_id, handler_id=handler.id)
    db.session.add(inf)
    db.session.flush()
    return inf


def new_tip(commune_id: int, village: Unit, point: WatchPoint, occurred_utc, duplicate_of=None) -> Tip:
    tip = Tip(code=secrets.token_hex(5).upper(), commune_id=commune_id, village_id=village.id,
              watch_point_id=point.id, occurred_at=occurred_utc, duplicate_of_id=duplicate_of)
    db.session.add(tip)
    db.session.flush()
    return tip


def generated(seed: int):
    """A village with random points, windows (some across midnight), posts and tips."""
    rnd = random.Random(seed)
    officer = U("officer")
    v = new_village(f"Thôn Sinh {seed}", officer)
    points = []
    for i in range(rnd.randint(2, 4)):
        p = WatchPoint(village_id=v.id, name=f"Điểm {seed}-{i}", kind="market")
        db.session.add(p)
        db.session.flush()
        for _ in range(rnd.randint(0, 3)):
            starts = time(rnd.randrange(24), rnd.choice((0, 30)))
            ends = time(rnd.randrange(24), rnd.choice((0, 15)))
            if starts == ends:
                continue
            db.session.add(TimeWindow(watch_point_id=p.id, starts=starts, ends=ends))
        db.session.flush()
        db.session.refresh(p)
        points.append(p)
    informants = [new_informant(v.parent_id, officer, seed * 100 + i, active=rnd.random() > 0.15)
                  for i in range(rnd.randint(1, 6))]
    for inf in informants:
        for p in rnd.sample(points, rnd.randint(0, len(points))):
            choices = [None] + [w.id for w in p.windows]
            for tw in set(rnd.sample(choices, rnd.randint(1, len(choices)))):
                db.session.add(InformantPost(informant_id=inf.id, watch_point_id=p.id, time_window_id=tw))
    db.session.flush()
    now = utcnow()
    tips = []
    for _ in range(rnd.randint(0, 60)):
        p = rnd.choice(points)
        at = now - timedelta(days=rnd.uniform(0, 200), minutes=rnd.randrange(24 * 60))
        dup = tips[0].id if tips and rnd.random() < 0.1 else None
        tips.append(new_tip(v.parent_id, v, p, at.replace(second=0, microsecond=0), duplicate_of=dup))
    db.session.flush()
    return v, now


def brute_force(village: Unit, days: int, now) -> dict:
    """Count every cell by walking every post and tip (what the SQL must agree with)."""
    since = now - timedelta(days=days)
    points = [p for p in db.session.scalars(select(WatchPoint).where(WatchPoint.village_id == village.id)) if p.active]
    posts = [ip for ip in db.session.scalars(select(InformantPost)) if ip.informant.user.active]
    tips = [t for t in db.session.scalars(select(Tip).where(Tip.village_id == village.id))
            if t.occurred_at >= since and t.duplicate_of_id is None]
    out = {}
    for p in points:
        for w in p.windows:
            people = {ip.informant_id for ip in posts if ip.watch_point_id == p.id
                      and ip.time_window_id in (None, w.id)}
            n = sum(1 for t in tips if t.watch_point_id == p.id and cov.in_window(w, (t.occurred_at + LOCAL).time()))
            out[(p.id, w.id)] = (len(people), n)
        outside = sum(1 for t in tips if t.watch_point_id == p.id
                      and not any(cov.in_window(w, (t.occurred_at + LOCAL).time()) for w in p.windows))
        people = {ip.informant_id for ip in posts if ip.watch_point_id == p.id} if not p.windows else set()
        if outside or not p.windows:
            out[(p.id, None)] = (len(people), outside)
    return out


def test_grid_counts_agree_with_a_brute_force_count_on_generated_villages(app):
    with app.app_context():
        for seed in range(8):
            village, now = generated(seed)
            for days in (30, 90, 365):
                row = cov.coverage([village], U("commander"), days=days, now=now)[0]
                got = {(c.point.id, c.window.id if c.window else None): (c.informants, c.tips) for c in row.cells}
                assert got == brute_force(village, days, now), f"seed {seed}, {days} days"
                for c in row.cells:
                    assert c.tips_without_informant == (c.tips > 0 and c.informants == 0)
                    assert c.informant_without_tips == (c.window is not None and c.informants > 0 and c.tips == 0)
                    assert c.shared == (c.informants >= 2)
        db.session.rollback()


def hole_village():
    """A village with one hole of each kind: tips but no informant, an informant but no tips, no verifier."""
    officer = U("officer")
    v = new_village("Thôn Lỗ Hổng", officer)
    p = WatchPoint(village_id=v.id, name="Quán Lỗ Hổng", kind="eatery")
    db.session.add(p)
    db.session.flush()
    evening = TimeWindow(watch_point_id=p.id, starts=time(18), ends=time(22), label="tối")
    night = TimeWindow(watch_point_id=p.id, starts=time(22), ends=time(2), label="đêm")
    morning = TimeWindow(watch_point_id=p.id, starts=time(6), ends=time(9), label="sáng")
    db.session.add_all([evening, night, morning])
    db.session.flush()
    a = new_informant(v.parent_id, officer, 9001)
    b = new_informant(v.parent_id, officer, 9002)
    # Two informants at the night window: intended, on separate channels; one for the morning, never a tip.
    db.session.add_all([InformantPost(informant_id=a.id, watch_point_id=p.id, time_window_id=night.id),
                        InformantPost(informant_id=b.id, watch_point_id=p.id, time_window_id=night.id),
                        InformantPost(informant_id=b.id, watch_point_id=p.id, time_window_id=morning.id)])
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)  # 19:00 in Vietnam
    new_tip(v.parent_id, v, p, today - timedelta(days=1))
    new_tip(v.parent_id, v, p, today - timedelta(days=1) + timedelta(hours=4))  # 23:00 in Vietnam
    db.session.commit()
    return v.id, {"evening": evening.id, "night": night.id, "morning": morning.id}


def test_each_kind_of_hole_is_marked_in_words(app):
    with app.app_context():
        vid, w = hole_village()
        row = cov.coverage([db.session.get(Unit, vid)], U("commander"))[0]
        cells = {c.window.id: c for c in row.cells if c.window}
        assert cells[w["evening"]].tips_without_informant and cells[w["evening"]].tips == 1
        assert cells[w["night"]].shared and cells[w["night"]].informants == 2 and cells[w["night"]].tips == 1
        assert cells[w["morning"]].informant_without_tips
        assert row.verifiers == [] and not row.step3_done and row.holes == 3
    html = session_client(app, "officer").get(f"/build/villages/{vid}").get_data(as_text=True)
    assert "Có tin báo nhưng chưa có người nắm tin" in html
    assert "Có người nắm tin nhưng không có tin báo trong 90 ngày" in html
    assert "Thôn chưa có người xác minh" in html
    assert "mỗi người một kênh riêng" in html
    # Another period, chosen in the GET form: the tips of yesterday are in the last 30 days too.
    assert "trong 30 ngày" in session_client(app, "officer").get(f"/build/villages/{vid}?days=30").get_data(as_text=True)


def test_the_checklist_says_what_each_step_has_and_lacks(app):
    with app.app_context():
        v1 = village_named("Thôn Đồng Bé")
        row = cov.coverage([v1], U("officer"))[0]
        titles = row.titles
    html = session_client(app, "officer").get(f"/build/villages/{v1.id}").get_data(as_text=True)
    assert "Bước 1" in html and "Bước 2" in html and "Bước 3" in html
    assert "Hoàng Văn Cường" in html and "Trưởng thôn" in html  # the verifier with the title
    assert VerifierTitle.VILLAGE_HEAD in titles
    if row.missing_titles:
        assert "Còn thiếu" in html


def test_officer_sees_their_villages_only_and_others_answer_404(app):
    with app.app_context():
        v1, v4 = village_named("Thôn Đồng Bé").id, village_named("Thôn Trung Tâm").id
    officer = session_client(app, "officer")
    html = officer.get("/build/").get_data(as_text=True)
    assert "Thôn Đồng Bé" in html and "Thôn Trung Tâm" not in html
    assert officer.get(f"/build/villages/{v4}").status_code == 404
    assert session_client(app, "officer2").get(f"/build/villages/{v1}").status_code == 404
    boss = session_client(app, "commander").get("/build/").get_data(as_text=True)
    assert "Thôn Đồng Bé" in boss and "Thôn Trung Tâm" in boss


def test_verifiers_informants_and_observers_reach_no_grid(app):
    with app.app_context():
        v1 = village_named("Thôn Đồng Bé").id
    for who in ("verifier", "informant", "observer"):
        c = session_client(app, who)
        assert c.get("/build/").status_code == 404, who
        assert c.get(f"/build/villages/{v1}?names=1").status_code == 404, who


def test_aliases_show_only_on_request_and_only_the_viewers_own_informants(app):
    with app.app_context():
        v1 = village_named("Thôn Đồng Bé").id
        an = U("informant").informant.alias
        # An informant of officer 2's posted at Chợ Tân Thành too: officer 1 must not see that alias.
        theirs = new_informant(U("officer").commune_id, U("officer2"), 7777)
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        db.session.add(InformantPost(informant_id=theirs.id, watch_point_id=point.id))
        db.session.commit()
        other = theirs.alias
    officer = session_client(app, "officer")
    assert an not in officer.get(f"/build/villages/{v1}").get_data(as_text=True)
    shown = officer.get(f"/build/villages/{v1}?names=1").get_data(as_text=True)
    assert an in shown and other not in shown
    boss = session_client(app, "commander").get(f"/build/villages/{v1}?names=1").get_data(as_text=True)
    assert an in boss and other in boss
    # Never a name, whoever looks.
    assert "Nguyễn Văn An" not in shown and "Nguyễn Văn An" not in boss


def test_junk_periods_fall_back_to_ninety_days(app):
    officer = session_client(app, "officer")
    for junk in ("-5", "abc", "99999999999999999999", "7"):
        r = officer.get(f"/build/?days={junk}")
        assert r.status_code == 200
        assert 'value="90" selected' in r.get_data(as_text=True)


def test_counting_takes_a_fixed_number_of_queries(app):
    from sqlalchemy import event

    with app.app_context():
        for seed in (11, 12):
            generated(seed)
        villages = list(db.session.scalars(select(Unit).where(Unit.kind == UnitKind.VILLAGE)))
        counts = []
        for subset in (villages[:1], villages):
            n = [0]

            def count(*_a, **_k):
                n[0] += 1

            event.listen(db.engine, "before_cursor_execute", count)
            try:
                cov.coverage(subset, U("commander"), names=True)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            counts.append(n[0])
        assert counts[0] == counts[1]
        db.session.rollback()


def test_a_verifier_reaches_nothing_of_the_grid_the_checklist_or_the_survey(app, login_as):
    from zaloan import surveys
    from zaloan.models import TaskAssignment, VerificationTask

    from .secrecy import assert_verifier_never_sees, tip_secrets

    with app.app_context():
        v1 = village_named("Thôn Đồng Bé")
        surveys.save(v1, by=U("officer"), period=str(utcnow().year), counts={"theft": 2}, notes="Ghi chú riêng Đồng Bé",
                     strengths="Ưu điểm riêng", weaknesses="Tồn tại riêng", client_key=None)
        db.session.commit()
        tasks = db.session.scalars(select(VerificationTask).join(TaskAssignment)
                                   .where(TaskAssignment.verifier_id == U("verifier").id)).all()
        written = " ".join(f"{t.brief} {t.place_hint}" for t in tasks)
        tip_ids = sorted({t.tip_id for t in tasks})
        aliases = [U("informant").informant.alias, U("informant2").informant.alias]
        vid = v1.id
    secrets = [s for t in tip_ids for s in tip_secrets(app, t)] + aliases + [
        "Ghi chú riêng Đồng Bé", "Ưu điểm riêng", "Tồn tại riêng", "Độ phủ các điểm nắm tình hình", "Xây dựng mô hình"]
    urls = ["/build/", f"/build/villages/{vid}", f"/build/villages/{vid}?names=1", f"/build/villages/{vid}/survey",
            f"/build/villages/{vid}/survey/history"]
    visited = assert_verifier_never_sees(login_as("verifier"), secrets, tip_ids=tip_ids, written=written,
                                         extra_urls=urls,
                                         extra_posts=[(f"/build/villages/{vid}/survey", {"period": "2026"})])
    assert "/build/" in visited


def test_observers_get_figures_with_small_counts_hidden_and_no_alias_or_name(app):
    with app.app_context():
        vid, w = hole_village()  # two informants at the night window, one in the morning, tips of 1
        v1 = village_named("Thôn Đồng Bé").id
        aliases = list(db.session.scalars(select(Informant.alias)))
        rows = cov.figures([db.session.get(Unit, vid)], U("observer"))
        cells = rows[0]["cells"]
        assert {c["informants"] for c in cells} <= {0, "< 3"} and {c["tips"] for c in cells} <= {0, "< 3"}
        # Three informants at one window: shown as they are.
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Quán Lỗ Hổng"))
        for n in (9101, 9102, 9103):
            db.session.add(InformantPost(informant_id=new_informant(point.village.parent_id, U("officer"), n).id,
                                         watch_point_id=point.id, time_window_id=w["evening"]))
        db.session.commit()
        evening = next(c for c in cov.figures([db.session.get(Unit, vid)], U("observer"))[0]["cells"]
                       if c["window"] == "18:00–22:00")
        assert evening["informants"] == 3
    html = session_client(app, "observer").get("/build/figures").get_data(as_text=True)
    assert "Thôn Lỗ Hổng" in html and "&lt; 3" in html and "Thôn Đồng Bé" in html
    assert not [a for a in aliases if a in html]
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Hoàng Văn Cường", "kênh riêng"):
        assert name not in html
    # The grid with names stays closed to the observer, and the figures to the police and verifiers.
    assert session_client(app, "observer").get(f"/build/villages/{v1}").status_code == 404
    for who in ("officer", "commander", "verifier", "informant"):
        assert session_client(app, who).get("/build/figures").status_code == 404, who


def test_a_window_across_midnight_holds_the_late_evening_and_the_small_hours():
    late = TimeWindow(starts=time(22), ends=time(2))
    day = TimeWindow(starts=time(6), ends=time(9, 30))
    assert cov.in_window(late, time(23, 59)) and cov.in_window(late, time(0, 0)) and cov.in_window(late, time(1, 59))
    assert not cov.in_window(late, time(2, 0)) and not cov.in_window(late, time(21, 59))
    assert cov.in_window(late, time(22, 0))
    assert cov.in_window(day, time(6)) and cov.in_window(day, time(9, 29)) and not cov.in_window(day, time(9, 30))
