"""The commune report at the size of a busy commune: 10,000 tips over 18 months, on SQLite, timed in process.

    .venv/bin/python bench/report.py                  # 10,000 tips, 15 runs of each page
    .venv/bin/python bench/report.py --tips 20000 --runs 5

A migrated, empty SQLite database is filled by bench/province.py (one commune
with its villages, people, places and tips spread over about 18 months with
their reads, triage, tasks, reports and outcomes). Then, as the commander, an
officer and an observer of that commune, the report page (the last 12 months
and since the launch, each with the period before it), the page to print and
the figures' CSV are asked for through the app (Flask's test client: routing,
access rules, queries, templates and compression, no network), and the
median and slowest time of each are printed. The goal: the report page under
300 ms on the machine the app runs on.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from province import populate
    from zaloan import accounts, create_app
    from zaloan.extensions import db
    from zaloan.models import CommuneSettings, Role, Tip, Unit, User, UserSession, utcnow

    folder = Path(tempfile.mkdtemp(prefix="zaloan-report-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}", "SECRET_KEY": "bench",
                      "UPLOAD_FOLDER": str(folder / "uploads"), "AUDIT_KEY": "bench-audit-key-" + "0" * 32,
                      "AUDIT_KEY_FILE": str(folder / "audit.key"),
                      "AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.txt")})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        [commune_id] = populate(1, args.tips)
        commune = db.session.get(Unit, commune_id)
        settings = CommuneSettings.of(commune_id)
        settings.launched_on = (utcnow() - timedelta(days=540)).date()
        db.session.add(settings)
        accounts.create_user(by=None, phone="0988000030", full_name="Ban Chỉ đạo", role=Role.OBSERVER,
                             commune=commune)
        db.session.commit()
        tips = db.session.scalar(select(func.count(Tip.id)).where(Tip.commune_id == commune_id))
        print(f"{tips} tips in {commune.name}, made in {time.perf_counter() - started:.1f} s")
        people = {role: db.session.scalar(select(User.id).where(User.commune_id == commune_id, User.role == role)
                                          .order_by(User.id)) for role in (Role.COMMANDER, Role.OFFICER, Role.OBSERVER)}

    def client_of(user_id: int):
        c = app.test_client()
        token = secrets.token_urlsafe(32)
        with app.app_context():
            db.session.add(UserSession(user_id=user_id, token_hash=accounts.sha256(token),
                                       expires_at=utcnow() + timedelta(days=1)))
            db.session.commit()
        with c.session_transaction() as s:
            s["sid"], s["_user_id"], s["_fresh"] = token, str(user_id), True
        return c

    pages = ("/reports/", "/reports/?period=launch", "/reports/print", "/reports/figures.csv")
    print(f"{'who':<10} {'page':<26} {'median ms':>10} {'slowest ms':>11} {'bytes':>8}")
    for role, user_id in people.items():
        c = client_of(user_id)
        for page in pages:
            resp = c.get(page)
            assert resp.status_code == 200, (role, page, resp.status_code)
            times = []
            for _i in range(args.runs):
                t = time.perf_counter()
                resp = c.get(page)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{role:<10} {page:<26} {statistics.median(times):>10.0f} {max(times):>11.0f} {len(resp.data):>8}")


if __name__ == "__main__":
    main()
