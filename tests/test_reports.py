"""The commune report: every figure against a brute-force count, the periods, the observer's limits, the files.

A commune of its own (Xã Thử Nghiệm) gets a few hundred tips spread over 18
months, written straight into the tables with set times (reads, triage,
tasks, reports, outcomes); each figure of `reports.figures` is then counted
again in plain Python from the rows and must agree, for several periods and
for the commander's, an officer's and an observer's scopes.
"""
from __future__ import annotations

import csv
import io
import random
import re
import statistics
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from zaloan import accounts, communes, reports
from zaloan.extensions import db
from zaloan.models import (
    AuditEvent,
    Category,
    CommuneSettings,
    Finding,
    Outcome,
    Role,
    TaskAssignment,
    TimeWindow,
    Tip,
    TipEvent,
    TipStatus,
    Unit,
    UnitKind,
    User,
    VerificationTask,
    VerifierTitle,
    WatchPoint,
    utcnow,
)

from .conftest import PASSWORD
from .test_query_counts import queries

H7 = timedelta(hours=7)
PHONE = {"commander": "0922000001", "officer": "0922000002", "officer2": "0922000003", "observer": "0922000030",
         "province_observer": "0922000031"}
SECRET = "NỘI DUNG BÍ MẬT"  # every generated tip's text starts with this
VILLAGES = ("Thôn Khau Bả", "Thôn Nà Pàn", "Thôn Bản Chang", "Thôn Pò Mã")


def local_day(moment: datetime) -> date:
    return (moment + H7).date()


def make_commune(n_tips: int = 360, seed: int = 7) -> dict:
    """Build Xã Thử Nghiệm: 4 villages, two officers, a commander, observers, informants, verifiers, places, tips."""
    rng = random.Random(seed)
    commune = communes.create_commune("Xã Thử Nghiệm", "Tỉnh Lạng Sơn")
    villages = [communes.get_or_create_unit(name, UnitKind.VILLAGE, commune) for name in VILLAGES]

    def person(who, name, role, **kw):
        user = accounts.create_user(by=None, phone=PHONE[who], full_name=name, role=role, commune=commune, **kw)
        user.set_password(PASSWORD)
        return user

    commander = person("commander", "Lương Văn Chỉ Huy", Role.COMMANDER)
    officer = person("officer", "Đàm Thị Phụ Trách", Role.OFFICER)
    officer2 = person("officer2", "Bế Văn Địa Bàn", Role.OFFICER)
    person("observer", "Ban Chỉ đạo Thử Nghiệm", Role.OBSERVER)
    villages[0].officer_id = villages[1].officer_id = officer.id
    villages[2].officer_id = villages[3].officer_id = officer2.id
    informants = []
    for i in range(12):
        user = accounts.create_user(by=None, phone=f"09221001{i:02d}", full_name=f"Người Báo Tin Số {i}",
                                    role=Role.INFORMANT, commune=commune, handler=(officer, officer2)[i % 2])
        informants.append(user.informant)
    verifiers = [accounts.create_user(by=None, phone=f"09221002{i:02d}", full_name=f"Người Xác Minh Số {i}",
                                      role=Role.VERIFIER, commune=commune, village=villages[i % 4],
                                      title=VerifierTitle.VILLAGE_HEAD) for i in range(6)]
    points = []
    for i, village in enumerate(villages):
        for k in range(2):
            point = WatchPoint(village=village, name=f"Điểm {i}-{k}", kind="market", active=not (i == 3 and k == 1))
            point.windows = [TimeWindow(starts=time(6, 0), ends=time(9, 0), label="sáng"),
                             TimeWindow(starts=time(21, 0), ends=time(2, 0), label="đêm")]
            db.session.add(point)
            points.append(point)
    db.session.flush()
    categories = list(db.session.scalars(select(Category).where(Category.commune_id == commune.id)))
    now = utcnow()
    for i in range(n_tips):
        # Whole minutes away from "now", never within a minute of a day's turn in Hà Nội.
        created = now - timedelta(days=rng.randint(0, 548), minutes=rng.randint(1, 1438))
        village = rng.choice(villages) if rng.random() > 0.08 else None
        here = [p for p in points if village is not None and p.village_id == village.id]
        tip = Tip(code=f"TN{i:05d}", commune_id=commune.id,
                  informant_id=rng.choice(informants).id if rng.random() > 0.3 else None,
                  category_id=rng.choice(categories).id if rng.random() > 0.05 else None,
                  village_id=village.id if village else None,
                  watch_point_id=rng.choice(here).id if here and rng.random() > 0.3 else None,
                  occurred_at=created - timedelta(minutes=rng.randint(0, 600)),
                  urgency=rng.randint(1, 4), body=f"{SECRET} số {i}", created_at=created, updated_at=created,
                  status=rng.choice(TipStatus.ALL))
        tip.deadline_at = created + timedelta(days=20 if i % 3 else 400)  # no random draw: the data stays as it was
        if rng.random() > 0.2:
            tip.first_read_at = created + timedelta(minutes=rng.randint(1, 5000))
        if tip.status == TipStatus.CLOSED:
            tip.outcome = rng.choice(Outcome.ALL)
            tip.closed_at = created + timedelta(hours=rng.randint(1, 900))
        db.session.add(tip)
        db.session.flush()
        if tip.status != TipStatus.NEW or rng.random() > 0.7:
            for _k in range(rng.randint(1, 2)):
                db.session.add(TipEvent(tip_id=tip.id, kind="triaged", data={},
                                        created_at=created + timedelta(minutes=rng.randint(2, 9000))))
        if rng.random() > 0.55:
            for _k in range(rng.randint(1, 2)):
                task = VerificationTask(tip_id=tip.id, village_id=(village or villages[0]).id, brief="Xem giúp.",
                                        due_at=created + timedelta(days=3),
                                        created_at=created + timedelta(minutes=rng.randint(5, 20000)))
                db.session.add(task)
                db.session.flush()
                for verifier in rng.sample(verifiers, rng.randint(1, 2)):
                    a = TaskAssignment(task_id=task.id, verifier_id=verifier.id)
                    if rng.random() > 0.3:
                        a.reported_at = task.created_at + timedelta(hours=rng.randint(1, 200))
                        a.finding = rng.choice(Finding.ALL)
                    db.session.add(a)
    db.session.commit()
    return {"commune": commune.id, "officer": officer.id, "villages": [v.id for v in villages]}


@pytest.fixture
def place(app):
    with app.app_context():
        return make_commune()


def account(who: str) -> User:
    from zaloan.phones import normalize_phone

    return db.session.scalar(select(User).where(User.phone == normalize_phone(PHONE.get(who, who))))


def login(app, who: str):
    c = app.test_client()
    r = c.post("/login", data={"phone": PHONE.get(who, who), "password": PASSWORD})
    assert r.status_code == 302, f"login as {who}: {r.status_code}"
    return c


# --- Brute force: the same figures counted in Python from the rows --------------------------------


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10 if p == 0.9 else 2, method="inclusive")[8 if p == 0.9 else 0]


def in_window(moment: datetime, window: TimeWindow) -> bool:
    t = (moment + H7).time().replace(microsecond=0)
    s, e = window.starts, window.ends
    return s <= t < e if s <= e else (t >= s or t < e)


def brute(commune_id: int, in_scope, villages_in_scope, start: date, end: date, old_days: int = 20) -> dict:
    tips = [t for t in db.session.scalars(select(Tip).where(Tip.commune_id == commune_id))
            if in_scope(t) and start <= local_day(t.created_at) <= end]
    ids = {t.id for t in tips}
    village_names = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.parent_id == commune_id))}
    cat_names = {c.id: c.name for c in db.session.scalars(select(Category).where(Category.commune_id == commune_id))}
    out = {"tips": len(tips), "anonymous": sum(t.informant_id is None for t in tips),
           "informants": len({t.informant_id for t in tips if t.informant_id}),
           "old_open": sum(t.status in TipStatus.OPEN and t.created_at < utcnow() - timedelta(days=old_days)
                           for t in tips),
           "past_deadline": sum(t.status in TipStatus.OPEN and t.deadline_at is not None
                                and t.deadline_at < utcnow() for t in tips)}
    months, cells, urgency = {}, {}, {}
    for t in tips:
        bucket = t.outcome if t.status == TipStatus.CLOSED else "open"
        m = months.setdefault((t.created_at + H7).strftime("%Y-%m"), {})
        m[bucket] = m.get(bucket, 0) + 1
        v = village_names.get(t.village_id)
        c = cat_names.get(t.category_id)
        cells.setdefault(v, {})[c] = cells.setdefault(v, {}).get(c, 0) + 1
        urgency[t.urgency] = urgency.get(t.urgency, 0) + 1
    out.update(months=months, cells=cells, urgency=urgency)
    reported = [a for a in db.session.scalars(select(TaskAssignment).join(VerificationTask)
                                              .where(VerificationTask.tip_id.in_(
                                                  select(Tip.id).where(Tip.commune_id == commune_id))))
                if a.reported_at and start <= local_day(a.reported_at) <= end and in_scope(a.task.tip)]
    findings = {}
    for a in reported:
        if a.finding:
            findings[a.finding] = findings.get(a.finding, 0) + 1
    out["findings"] = findings
    out["verifiers"] = len({a.verifier_id for a in reported})
    speed = {"read": [], "triage": [], "task": [], "outcome": []}
    for t in tips:
        if t.first_read_at:
            speed["read"].append((t.first_read_at - t.created_at).total_seconds())
        triaged = [e.created_at for e in t.events if e.kind == "triaged"]
        if triaged:
            speed["triage"].append((min(triaged) - t.created_at).total_seconds())
        if t.tasks:
            speed["task"].append((min(k.created_at for k in t.tasks) - t.created_at).total_seconds())
        if t.status == TipStatus.CLOSED:
            speed["outcome"].append((t.closed_at - t.created_at).total_seconds())
    out["speed"] = {k: (len(v), percentile(sorted(v), 0.5), percentile(sorted(v), 0.9)) for k, v in speed.items()}
    points = [p for p in db.session.scalars(select(WatchPoint)) if p.active and villages_in_scope(p.village)]
    at = {}
    for t in tips:
        if t.watch_point_id:
            at.setdefault(t.watch_point_id, []).append(t)
    with_points = sum(p.id in at for p in points)
    out["watch_points"] = (with_points, len(points) - with_points)
    windows = [w for p in points for w in p.windows]
    with_windows = sum(any(in_window(t.occurred_at, w) for t in at.get(w.watch_point_id, [])) for w in windows)
    out["time_windows"] = (with_windows, len(windows) - with_windows)
    out["ids"] = ids
    return out


def check(fig: reports.Figures, expected: dict) -> None:
    assert fig.tips == expected["tips"]
    assert fig.anonymous_tips == expected["anonymous"]
    assert fig.informant_tips == expected["tips"] - expected["anonymous"]
    assert fig.informants_active == expected["informants"]
    assert fig.old_open == expected["old_open"]
    assert fig.past_deadline == expected["past_deadline"]
    got_months = {m: {b: n for b, n in parts.items() if n} for m, parts in fig.by_month}
    assert {m: p for m, p in got_months.items() if p} == expected["months"]
    assert all(m in got_months for m in fig.period.months())  # every month of the period has its row
    cells = {v: {c: n for c, n in row.items()} for v, row in fig.cells}
    assert cells == expected["cells"]
    by_village = {v: sum(row.values()) for v, row in expected["cells"].items()}
    assert {v: n for v, n in fig.by_village if n} == by_village
    by_category = {}
    for row in expected["cells"].values():
        for c, n in row.items():
            by_category[c] = by_category.get(c, 0) + n
    assert dict(fig.by_category) == by_category
    assert {u: n for u, n in fig.by_urgency.items() if n} == expected["urgency"]
    assert {f: n for f, n in fig.findings.items() if n} == expected["findings"]
    assert fig.verifiers_active == expected["verifiers"]
    outcomes = {}
    for parts in expected["months"].values():
        for b, n in parts.items():
            outcomes[b] = outcomes.get(b, 0) + n
    assert {b: n for b, n in fig.outcomes.items() if n} == outcomes
    for step, (n, median, p90) in expected["speed"].items():
        got = fig.speed[step]
        assert got["n"] == n, step
        for a, b in ((got["median"], median), (got["p90"], p90)):
            assert (a is None and b is None) or abs(a - b) < 1.0, (step, a, b)
    assert fig.watch_points == expected["watch_points"]
    assert fig.time_windows == expected["time_windows"]


def periods(today: date) -> list[reports.Period]:
    q = reports.recent_quarters(today)
    kinds = [{"period": "year"}, {"period": "month"}, {"period": "quarter"}, {"period": "quarter", "quarter": q[3]},
             {"period": "custom", "start": (today - timedelta(days=400)).strftime("%d/%m/%Y"),
              "end": (today - timedelta(days=200)).isoformat()},
             {"period": "custom", "start": "01/01/2010", "end": today.isoformat()}]
    out = [reports.choose_period(k, today=today, launched_on=None) for k in kinds]
    return out + [p.previous() for p in out[:2]]


def test_every_figure_of_the_commanders_report_matches_a_count_by_hand(app, place):
    with app.app_context():
        commander = account("commander")
        [(_c, scope, _s)] = reports.report_scopes(commander)
        everything = None
        for period in periods(reports.local_today()):
            expected = brute(place["commune"], lambda t: True, lambda v: v.parent_id == place["commune"],
                             period.start, period.end)
            check(reports.figures(scope, period), expected)
            everything = everything or (expected if period.start.year == 2010 else None)
        assert 300 <= everything["tips"] <= 360  # the whole 18 months: the generated tips, none lost
        assert len(everything["months"]) >= 18


def test_an_officer_report_counts_only_their_own_area(app, place):
    with app.app_context():
        officer = account("officer")
        [(_c, scope, _s)] = reports.report_scopes(officer)

        def mine(t):
            if t.village_id is not None:
                return t.village.officer_id == officer.id
            return t.informant is not None and t.informant.handler_id == officer.id

        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        expected = brute(place["commune"], mine, lambda v: v.officer_id == officer.id, period.start, period.end)
        fig = reports.figures(scope, period)
        check(fig, expected)
        assert {v for v, n in fig.by_village} <= {"Thôn Khau Bả", "Thôn Nà Pàn", None}
        whole = reports.figures(reports.report_scopes(account("commander"))[0][1], period)
        assert 0 < fig.tips < whole.tips


def test_the_old_open_tips_follow_the_communes_setting(app, place):
    with app.app_context():
        settings = CommuneSettings.of(place["commune"])
        settings.old_open_days = 90
        db.session.add(settings)
        db.session.commit()
        [(_c, scope, _s)] = reports.report_scopes(account("commander"))
        assert scope.old_open_days == 90
        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        fig = reports.figures(scope, period)
        assert fig.old_open == brute(place["commune"], lambda t: True, lambda v: v.parent_id == place["commune"],
                                     period.start, period.end, old_days=90)["old_open"]
        assert fig.old_open < reports.figures(reports.replace(scope, old_open_days=20), period).old_open


# --- Periods ------------------------------------------------------------------------------------


def test_the_periods_cover_the_days_they_name_and_compare_with_the_same_length_before():
    today = date(2026, 11, 30)
    month = reports.choose_period({"period": "month"}, today=today, launched_on=None)
    assert (month.start, month.end) == (date(2026, 11, 1), today)
    assert (month.previous().start, month.previous().end) == (date(2026, 10, 2), date(2026, 10, 31))
    year = reports.choose_period({}, today=today, launched_on=None)
    assert (year.start, year.end, year.kind) == (date(2025, 12, 1), today, "year")
    assert len(year.months()) == 12
    q = reports.choose_period({"period": "quarter", "quarter": "2026-2"}, today=today, launched_on=None)
    assert (q.start, q.end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert q.previous().days == q.days and q.previous().end == date(2026, 3, 31)
    launch = reports.choose_period({"period": "launch"}, today=today, launched_on=date(2025, 6, 15))
    assert (launch.start, launch.end) == (date(2025, 6, 15), today)
    custom = reports.choose_period({"period": "custom", "start": "05/03/2026", "end": "2026-03-05"}, today=today,
                                   launched_on=None)
    assert custom.days == 1
    first, after = custom.bounds()
    assert (first, after) == (datetime(2026, 3, 4, 17), datetime(2026, 3, 5, 17))  # a day in Hà Nội, in UTC


@pytest.mark.parametrize("args,words", [
    ({"period": "custom", "start": "31/12/2026", "end": "01/01/2026"}, "Ngày đầu đang sau ngày cuối"),
    ({"period": "custom", "start": "hôm qua", "end": "01/01/2026"}, "Vui lòng ghi cả hai ngày"),
    ({"period": "custom", "start": "31/02/2026", "end": "01/03/2026"}, "Vui lòng ghi cả hai ngày"),
    ({"period": "custom", "start": "01/01/1900", "end": "01/03/2026"}, "Vui lòng ghi cả hai ngày"),
    ({"period": "custom"}, "Vui lòng ghi cả hai ngày"),
    ({"period": "custom", "start": "01/01/2099", "end": "02/01/2099"}, "Ngày đầu chưa tới"),
    ({"period": "quarter", "quarter": "2026-9"}, "Vui lòng chọn một quý"),
    ({"period": "quarter", "quarter": "x" * 500}, "Vui lòng chọn một quý"),
    ({"period": "quarter", "quarter": "2099-1"}, "Quý này chưa tới"),
    ({"period": "forever"}, "Vui lòng chọn một kỳ"),
    ({"period": "launch"}, "Chưa có ngày bắt đầu mô hình"),
])
def test_a_period_the_report_cannot_show_is_refused_in_vietnamese(app, login_as, args, words):
    for who in ("commander", "officer", "observer"):
        client = login_as(who)
        r = client.get("/reports/", query_string=args)
        assert r.status_code == 400
        text = r.get_data(as_text=True)
        assert words in text and 'role="alert"' in text
        assert 'name="period"' in text  # the chooser is there to try again
        for path in ("/reports/print", "/reports/figures.csv", "/reports/figures.xlsx"):
            r = client.get(path, query_string=args)
            assert r.status_code == 400 and words in r.get_data(as_text=True)


def test_the_period_form_works_without_javascript(app, login_as):
    text = login_as("commander").get("/reports/?period=quarter").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/reports/".*?</form>', text, re.S).group(0)
    assert 'type="radio" name="period" value="quarter" checked' in form
    assert 'name="start" type="date"' in form and 'name="end" type="date"' in form and "<button" in form
    assert "<script" not in text.split("</head>")[1]


# --- The launch date and the age of an old tip, in the commander's settings ----------------------------


def test_the_commander_sets_the_launch_day_and_then_the_report_runs_since_then(app, login_as):
    client = login_as("commander")
    assert "Ngày bắt đầu mô hình ở xã" in client.get("/commander/settings").get_data(as_text=True)
    r = client.post("/commander/settings/report", data={"launched_on": "15/03/2025", "old_open_days": "30"})
    assert r.status_code == 303
    with app.app_context():
        commander = account("0900000001")
        settings = CommuneSettings.of(commander.commune_id)
        assert (settings.launched_on, settings.old_open_days) == (date(2025, 3, 15), 30)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.report_settings"))
    text = client.get("/reports/?period=launch").get_data(as_text=True)
    assert "Từ 15/03/2025 đến" in text and "nhận quá 30 ngày" in text
    assert login_as("officer").get("/reports/?period=launch").status_code == 200


@pytest.mark.parametrize("data,words", [
    ({"launched_on": "32/13/2025", "old_open_days": "20"}, "Vui lòng nhập ngày"),
    ({"launched_on": "01/01/2099", "old_open_days": "20"}, "Ngày này chưa tới"),
    ({"launched_on": "", "old_open_days": "0"}, "Vui lòng nhập số ngày từ 1 đến 365"),
    ({"launched_on": "", "old_open_days": "abc"}, "Vui lòng nhập số ngày từ 1 đến 365"),
    ({"launched_on": "15/03/2025"}, "Vui lòng nhập số ngày từ 1 đến 365"),
])
def test_bad_report_settings_are_refused_and_change_nothing(app, login_as, data, words):
    client = login_as("commander")
    r = client.post("/commander/settings/report", data=data)
    assert r.status_code == 422 and words in r.get_data(as_text=True)
    with app.app_context():
        settings = CommuneSettings.of(account("0900000001").commune_id)
        assert (settings.launched_on, settings.old_open_days) == (None, 20)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "commune.report_settings")) is None


def test_saving_the_same_report_settings_twice_writes_one_audit_row(app, login_as):
    client = login_as("commander")
    for _i in range(2):
        client.post("/commander/settings/report", data={"launched_on": "2025-03-15", "old_open_days": "20"})
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "commune.report_settings")).all()
        assert len(rows) == 1


# --- What each role reads, and what an observer never reads ------------------------------------------


def secrets_of(commune_id: int) -> list[str]:
    """Every tip text, code, alias and name of the commune's people."""
    out = [SECRET]
    out += list(db.session.scalars(select(Tip.code).where(Tip.commune_id == commune_id)))
    users = db.session.scalars(select(User).where(User.commune_id == commune_id, User.role.in_(
        (Role.INFORMANT, Role.VERIFIER, Role.OFFICER, Role.COMMANDER)))).all()
    out += [u.full_name for u in users] + [u.phone[3:] for u in users]
    out += [u.informant.alias for u in users if u.informant is not None]
    return out


def observer_files(client) -> dict[str, str]:
    pages = {path: client.get(path) for path in ("/reports/", "/reports/print", "/reports/?period=month",
                                                 "/reports/figures.csv", "/reports/figures.xlsx")}
    assert all(r.status_code == 200 for r in pages.values())
    out = {p: r.get_data().decode("utf-8", "replace") for p, r in pages.items() if not p.endswith("xlsx")}
    with zipfile.ZipFile(io.BytesIO(pages["/reports/figures.xlsx"].data)) as z:
        out["xlsx"] = " ".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return out


def test_the_observer_reads_figures_and_never_a_tip_code_alias_or_name(app, place):
    client = login(app, "observer")
    files = observer_files(client)
    with app.app_context():
        markers = secrets_of(place["commune"])
    found = [(path, m) for path, text in files.items() for m in markers if m in text]
    assert found == []
    assert "Tin báo nhận được" in files["/reports/"] and "<svg" in files["/reports/"]
    assert client.post("/reports/tips.csv", data={"period": "year"}).status_code == 404
    assert client.post("/reports/tips.xlsx", data={"period": "year"}).status_code == 404
    assert "Danh sách tin báo" not in files["/reports/"]


def small_cells(commune_id: int, start: date, end: date) -> list[tuple]:
    """The village × category cells of 1 or 2 tips, counted by hand."""
    counted = brute(commune_id, lambda t: True, lambda v: True, start, end)["cells"]
    return [(v, c, n) for v, row in counted.items() if v is not None for c, n in row.items() if 1 <= n <= 2]


def test_every_village_cell_of_one_or_two_is_hidden_from_the_observer_in_pages_and_files(app, place):
    client = login(app, "observer")
    today = date.today()
    args = {"period": "custom", "start": (today - timedelta(days=40)).isoformat(),
            "end": (today - timedelta(days=10)).isoformat()}
    with app.app_context():
        period = reports.choose_period(args, today=reports.local_today(), launched_on=None)
        small = small_cells(place["commune"], period.start, period.end)
        observer = account("observer")
        report = reports.build_report(observer, args)
        [(_c, fig, _before)] = report.parts
        commander_fig = reports.figures(reports.report_scopes(account("commander"))[0][1], period)
    assert small, "the generated days have small cells to hide"
    shown = {(v, c): n for v, row in fig.cells for c, n in row.items()}
    for v, c, _n in small:
        assert shown[(v, c)] == reports.SMALL_CELL
    assert all(n == reports.SMALL_CELL or n == 0 or n >= 3 for n in shown.values())
    # The totals stay exact.
    assert fig.tips == commander_fig.tips and fig.by_village == commander_fig.by_village
    # The file: its village × category rows carry "< 3" and never the small number.
    rows = list(csv.reader(io.StringIO(client.get("/reports/figures.csv", query_string=args).get_data(as_text=True))))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Thôn × loại")
    header = rows[start]
    grid = {}
    for r in rows[start + 1:]:
        if not r:
            break
        for c, value in zip(header[1:], r[1:]):
            grid[(r[0], c)] = value
    for v, c, _n in small:
        assert grid[(v, c or "Chưa phân loại")] == "< 3"
    assert not [k for k, value in grid.items() if value in ("1", "2")]
    # The page shows the same.
    page = client.get("/reports/", query_string=args).get_data(as_text=True)
    assert "&lt; 3" in page
    assert not re.search(r"<dd>[12]</dd>", page)


def test_the_commander_sees_the_small_numbers_and_may_download_the_tip_list(app, place, ):
    client = login(app, "commander")
    page = client.get("/reports/?period=year").get_data(as_text=True)
    assert "&lt; 3" not in page and "Danh sách tin báo (Excel)" in page
    r = client.post("/reports/tips.csv", data={"period": "year"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = r.get_data(as_text=True)
    with app.app_context():
        period = reports.choose_period({"period": "year"}, today=reports.local_today(), launched_on=None)
        expected = brute(place["commune"], lambda t: True, lambda v: True, period.start, period.end)
        codes = set(db.session.scalars(select(Tip.code).where(Tip.id.in_(expected["ids"]))))
        audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.tips"))
        assert audit_row is not None and audit_row.data["rows"] == len(codes)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Mã", "Nhận lúc", "Đóng", "Thôn", "Loại", "Mức độ", "Trạng thái", "Kết quả"] or len(rows[0]) == 8
    assert {r[0] for r in rows[1:]} == codes
    assert SECRET not in text and "Người Báo Tin" not in text and "NT-" not in text
    x = client.post("/reports/tips.xlsx", data={"period": "year"})
    assert x.status_code == 200 and x.data[:2] == b"PK"


def test_an_officers_tip_list_holds_only_their_own_tips(app, place):
    client = login(app, "officer")
    rows = list(csv.reader(io.StringIO(client.post("/reports/tips.csv", data={"period": "year"})
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    with app.app_context():
        officer = account("officer")
        mine = {t.code for t in db.session.scalars(select(Tip).where(Tip.commune_id == place["commune"]))
                if (t.village.officer_id == officer.id if t.village_id else
                    t.informant is not None and t.informant.handler_id == officer.id)}
    got = {r[0] for r in rows[1:]}
    assert got and got <= mine


def test_formulas_in_names_are_neutralised_in_every_file(app, place):
    with app.app_context():
        villages = db.session.scalars(select(Unit).where(Unit.id.in_(place["villages"]))).all()
        villages[0].name = '=HYPERLINK("http://x.example","bấm")'
        villages[1].name = "@SUM(A1)"
        villages[2].name = "+84 Thôn"
        villages[3].name = "-2+3"
        category = db.session.scalar(select(Category).where(Category.commune_id == place["commune"],
                                                            Category.code == "theft"))
        category.name = "\t=1+1"
        db.session.commit()
    for who, files in (("commander", ("/reports/figures.csv", "/reports/figures.xlsx", "tips.csv", "tips.xlsx")),
                       ("observer", ("/reports/figures.csv", "/reports/figures.xlsx"))):
        client = login(app, who)
        for path in files:
            r = (client.post(f"/reports/{path}", data={"period": "year"}) if path.startswith("tips")
                 else client.get(path))
            assert r.status_code == 200
            if path.endswith("csv"):
                cells = [c for row in csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))) for c in row]
                assert cells
                assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], (who, path)
                assert "'=HYPERLINK(\"http://x.example\",\"bấm\")" in cells and "'@SUM(A1)" in cells
            else:
                with zipfile.ZipFile(io.BytesIO(r.data)) as z:
                    sheet = z.read("xl/worksheets/sheet1.xml").decode()
                    strings = z.read("xl/sharedStrings.xml").decode()
                assert "<f>" not in sheet and "<f " not in sheet
                assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings
                assert "'@SUM(A1)" in strings or "&apos;@SUM(A1)" in strings


def test_safe_cell_keeps_numbers_and_quotes_what_a_spreadsheet_would_run():
    from zaloan.exports import safe_cell

    assert safe_cell(12) == 12 and safe_cell(0) == 0
    for raw in ("=1+1", "+1", "-1", "@x", "\tx", "\rx"):
        assert safe_cell(raw) == "'" + raw
    assert safe_cell("Thôn 1") == "Thôn 1" and safe_cell(None) == ""


def test_the_print_view_names_the_commune_period_day_printed_and_checkpoint(app, login_as):
    from zaloan import audit

    with app.app_context():
        cp = audit.take_checkpoint("command", chain=account("0900000001").commune_id)
        db.session.commit()
        code = audit.short_hash(cp.head_hash)
    client = login_as("commander")
    text = client.get("/reports/print?period=custom&start=01/01/2026&end=30/06/2026").get_data(as_text=True)
    assert "Xã Tân Thành" in text and "Từ 01/01/2026 đến 30/06/2026" in text
    assert "In lúc" in text and "nhật ký hệ thống có" in text and code in text
    assert 'name="period"' not in text  # a page to print, not the chooser
    assert "staff.css" in text  # the police's and leaders' styles, where the A4 rules are
    css = (app.static_folder + "/staff.css")
    assert "@page { size: A4" in open(css, encoding="utf-8").read()


def test_the_charts_are_inline_svg_with_a_table_beside_and_no_inline_style(app, place):
    text = login(app, "commander").get("/reports/").get_data(as_text=True)
    assert text.count("<svg class=\"bars\"") == 2
    assert 'class="b-open"' in text and 'class="b-village"' in text
    assert "style=" not in text and "<style" not in text
    assert text.count("<table class=\"figs\">") >= 6
    assert "<caption class=\"sr\">" in text


def test_an_observer_of_the_province_sees_each_commune_side_by_side_and_their_sum(app, place):
    with app.app_context():
        commune = db.session.get(Unit, place["commune"])
        province = commune.parent
        user = accounts.create_user(by=None, phone=PHONE["province_observer"], full_name="Ban Chỉ đạo Tỉnh",
                                    role=Role.OBSERVER, commune=province)
        user.set_password(PASSWORD)
        db.session.commit()
        report = reports.build_report(user, {"period": "year"})
        names = [c.name for c, _f, _b in report.parts]
        assert "Xã Thử Nghiệm" in names and "Xã Tân Thành" in names
        assert report.total[0].tips == sum(f.tips for _c, f, _b in report.parts)
        assert report.total[0].outcomes == {b: sum(f.outcomes[b] for _c, f, _b in report.parts)
                                            for b in reports.BUCKETS}
        assert report.masked and all(f.masked for _c, f, _b in report.parts)
    client = login(app, "province_observer")
    text = client.get("/reports/").get_data(as_text=True)
    assert "Xã Thử Nghiệm" in text and "Xã Tân Thành" in text and "Cộng tất cả các xã (2 xã)" in text
    with app.app_context():
        markers = secrets_of(place["commune"])
    assert not [m for m in markers if m in text]
    assert client.post("/reports/tips.csv", data={}).status_code == 404


def test_the_report_costs_the_same_queries_with_many_more_tips(app, login_as):
    clients = {who: login_as(who) for who in ("commander", "officer", "observer")}
    paths = ("/reports/", "/reports/print", "/reports/figures.csv")
    before = {(who, p): queries(app, c, p) for who, c in clients.items() for p in paths}
    with app.app_context():
        commune = account("0900000001").commune
        villages = commune.villages()
        cat = db.session.scalar(select(Category).where(Category.commune_id == commune.id))
        for i in range(80):
            db.session.add(Tip(code=f"QC{i:05d}", commune_id=commune.id, village_id=villages[i % 3].id,
                               category_id=cat.id, occurred_at=utcnow(), body="x", urgency=2,
                               status=TipStatus.CLOSED if i % 2 else TipStatus.NEW,
                               outcome=Outcome.MEDIATED if i % 2 else None, closed_at=utcnow() if i % 2 else None,
                               first_read_at=utcnow(), created_at=utcnow() - timedelta(days=i * 5)))
        db.session.commit()
    after = {(who, p): queries(app, c, p) for who, c in clients.items() for p in paths}
    assert after == before
