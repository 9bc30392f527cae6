"""Server benchmark: the officer's busiest pages at province size under load, next to a hello-world route.

    .venv/bin/python bench/server_load.py                                   # SQLite, one commune of 20,000 tips
    .venv/bin/python bench/server_load.py --communes 200 --tips 200000 --postgres URL   # an empty database

The database is filled by bench/province.py (communes with villages, people,
categories and their share of the tips, messages and tasks, in bulk). As an
officer of a commune in the middle of the province the script loads the
queue, the officer's busiest open tip and the people list, each as it is
served again while nothing changed (drawn once and kept) and drawn every
time (on a server that keeps none), and the queue's poll when nothing
changed (answered 204). Both apps are served the same way
(gunicorn, 4 workers, loopback) and loaded by ApacheBench (`ab`, Debian
package apache2-utils, installed when missing) in the same run, each page
first asked 25 times a client unmeasured (every worker warm), so the
hello-world figure is the framework's own ceiling on this machine. Prints
requests per second, their share of hello-world's, and the 95th percentile
latency.
"""
from __future__ import annotations

import argparse
import html
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_ab() -> str:
    ab = shutil.which("ab")
    if ab:
        return ab
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "apache2-utils"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return shutil.which("ab")
    sys.exit("ab (apache2-utils) is needed: apt-get install apache2-utils")


def build_database(env: dict, communes: int, tips: int, reuse: bool = False) -> dict:
    """Migrate, make the province (bench/province.py) and pick what the pages are loaded with.

    With `reuse`, a database that already holds tips (an earlier run's) is loaded as it is.
    """
    os.environ.update(env)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from province import VILLAGES, officer_phone, populate
    from zaloan.extensions import db
    from zaloan.models import Message, Tip, TipStatus, Unit, User, VerificationTask
    from zaloan import create_app

    app = create_app()
    with app.app_context():
        upgrade()
        started = time.monotonic()
        if reuse and db.session.scalar(select(func.count(Tip.id))):
            commune_ids = db.session.scalars(
                select(Unit.parent_id).where(Unit.kind == "village").group_by(Unit.parent_id)
                .having(func.count(Unit.id) == VILLAGES).order_by(Unit.parent_id)
            ).all()
            print(f"  reusing the database: {len(commune_ids)} communes", flush=True)
        else:
            commune_ids = populate(communes, tips, progress=lambda done, total: print(
                f"  {done}/{total} communes, {time.monotonic() - started:.0f} s", flush=True))
        # An officer of a commune in the middle of the province, and one of their open tips with the most
        # messages and tasks.
        number = len(commune_ids) // 2 + 1
        officer = db.session.scalar(select(User).where(User.phone == officer_phone(number)))
        messages = select(func.count(Message.id)).where(Message.tip_id == Tip.id).scalar_subquery()
        tasks = select(func.count(VerificationTask.id)).where(VerificationTask.tip_id == Tip.id).scalar_subquery()
        tip_id = db.session.scalar(
            select(Tip.id).join(Unit, Unit.id == Tip.village_id)
            .where(Unit.officer_id == officer.id, Tip.status == TipStatus.VERIFYING)
            .order_by((messages + tasks).desc(), Tip.id).limit(1)
        )
        counts = db.session.execute(select(messages, tasks).where(Tip.id == tip_id)).one()
        db.session.commit()
        # Statistics as autovacuum would have them on a database that grew over months.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
        db.engine.dispose()
        return {"phone": officer.phone, "tip": tip_id, "messages": counts[0], "tasks": counts[1]}


def serve(app_spec: str, port: int, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """Start gunicorn; its request log goes to a file, as a deployment's goes to the journal."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
            cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
        )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"server on port {port} did not start")


def login_cookie(base: str, phone: str, password: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "phone": phone, "password": password}).encode()
    opener.open(base + "/login", data=data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def load(ab: str, url: str, seconds: int, concurrency: int, cookie: str | None) -> tuple[float, float]:
    args = [ab, "-q", "-k", "-c", str(concurrency), "-H", "Accept-Encoding: br"]
    if cookie:
        args += ["-C", cookie]
    # Unmeasured first: every worker compiles the page's templates and draws what it keeps, as a server that
    # has been up for a while has.
    subprocess.run(args + ["-n", str(25 * concurrency), url], capture_output=True, check=True)
    out = subprocess.run(args + ["-t", str(seconds), "-n", "1000000", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    p95 = float(re.search(r"^\s+95%\s+(\d+)", out, re.M).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    # ab counts a body of another length as failed; pages carry per-session tokens.
    length = re.search(r"Length: (\d+)", out)
    failed -= int(length.group(1)) if length else 0
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if failed or non2xx:
        print(f"  warning: {failed} failed, {non2xx.group(1) if non2xx else 0} non-2xx responses", file=sys.stderr)
    return rps, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--communes", type=int, default=1)
    parser.add_argument("--tips", type=int, default=20_000, help="tips in all, shared by the communes")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database (postgresql+psycopg://...)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --postgres: load a database an earlier run filled, as it is")
    args = parser.parse_args()
    ab = ensure_ab()
    tmp = Path(tempfile.mkdtemp(prefix="zaloan-bench-"))
    env = {
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": args.postgres or f"sqlite:///{tmp / 'bench.sqlite'}",
        "UPLOAD_FOLDER": str(tmp / "uploads"),
    }
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"building {engine} database: {args.communes} communes, {args.tips} tips ...", flush=True)
    picked = build_database(env, args.communes, args.tips, reuse=args.reuse)
    app_port, hello_port, drawn_port = free_port(), free_port(), free_port()
    procs = [serve("wsgi:app", app_port, env, ROOT, tmp / "app.log"),
             serve("hello:app", hello_port, {}, ROOT / "bench", tmp / "hello.log")]
    base = f"http://127.0.0.1:{app_port}"
    # The same app keeping no drawn queue list, tip page or people list: what each costs when it changed since
    # it was last drawn.
    drawn = serve("wsgi:app", drawn_port, {**env, "QUEUE_LISTS_KEPT": "0", "PAGE_PARTS_KEPT": "0"}, ROOT,
                  tmp / "drawn.log")
    procs.append(drawn)
    try:
        cookie = login_cookie(base, picked["phone"], "demo-1234")
        queue = fetch(base + "/officer/", cookie)
        poll = html.unescape(re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', queue).group(1))
        status = urllib.request.urlopen(urllib.request.Request(base + poll, headers={"Cookie": cookie})).status
        assert status == 204, f"the unchanged poll answered {status}"
        rows = len(re.findall(r'<li class="u\d">', queue))
        pages = [
            ("hello-world Flask route", f"http://127.0.0.1:{hello_port}/", None),
            (f"officer queue ({rows} rows), unchanged", base + "/officer/", cookie),
            (f"officer queue ({rows} rows), drawn each time", f"http://127.0.0.1:{drawn_port}/officer/", cookie),
            ("unchanged queue poll (204)", base + poll, cookie),
            (f"tip page ({picked['messages']} messages, {picked['tasks']} tasks), unchanged",
             f"{base}/officer/tips/{picked['tip']}", cookie),
            ("tip page, drawn each time", f"http://127.0.0.1:{drawn_port}/officer/tips/{picked['tip']}", cookie),
            ("people list, unchanged", base + "/people/", cookie),
            ("people list, drawn each time", f"http://127.0.0.1:{drawn_port}/people/", cookie),
        ]
        results = [(name, load(ab, url, args.seconds, args.concurrency, c)) for name, url, c in pages]
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    hello = results[0][1][0]
    print(f"\n{engine}, {args.communes} communes, {args.tips} tips; as an officer of one commune")
    print(f"gunicorn 4 workers, ab -k -c {args.concurrency} for {args.seconds}s each, loopback, "
          f"{os.cpu_count()} cores")
    print(f"{'page':52} {'req/s':>8} {'% hello':>8} {'p95 ms':>8}")
    for name, (rps, p95) in results:
        print(f"{name:52} {rps:8.1f} {100 * rps / hello:7.1f}% {p95:8.0f}")


def fetch(url: str, cookie: str) -> str:
    return urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie})).read().decode()


if __name__ == "__main__":
    main()
