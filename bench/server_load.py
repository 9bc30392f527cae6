"""Server benchmark: the officer's queue with many tips under load, next to a hello-world route.

    .venv/bin/python bench/server_load.py                 # SQLite
    .venv/bin/python bench/server_load.py --postgres URL  # PostgreSQL (an empty database)

Both apps are served the same way (gunicorn, 4 workers, loopback) and loaded by
ApacheBench (`ab`, Debian package apache2-utils, installed when missing) in the
same run, so the hello-world figure is the framework's own ceiling on this
machine. Prints requests per second and the 95th percentile latency.
"""
from __future__ import annotations

import argparse
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


def build_database(env: dict, tips: int) -> None:
    """Migrate, load the demo commune and add `tips` tips in the first officer's villages."""
    os.environ.update(env)
    from zaloan import create_app
    from zaloan.demo import load_demo
    from zaloan.extensions import db
    from zaloan.models import Category, Tip, TipStatus, Unit, Urgency, utcnow
    from flask_migrate import upgrade

    app = create_app()
    with app.app_context():
        upgrade()
        commune = load_demo()
        villages = [v for v in commune.villages() if v.officer and v.officer.phone == "+84900000002"]
        categories = db.session.scalars(db.select(Category).where(Category.commune_id == commune.id)).all()
        rng = random.Random(7)
        now = utcnow()
        rows = []
        for i in range(tips):
            created = now - timedelta(minutes=rng.randint(1, 60 * 24 * 365))
            rows.append(Tip(
                code=f"B{i:07d}", commune_id=commune.id, category_id=rng.choice(categories).id,
                village_id=rng.choice(villages).id, occurred_at=created, created_at=created, updated_at=created,
                urgency=rng.choice(Urgency.ALL), body="Tin thử tải " * 8,
                status=rng.choices(TipStatus.ALL, weights=(2, 2, 1, 15))[0],
            ))
            if len(rows) == 1000:
                db.session.add_all(rows)
                db.session.flush()
                rows = []
        db.session.add_all(rows)
        db.session.commit()
        db.engine.dispose()


def serve(app_spec: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=cwd, env={**os.environ, **env},
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
    args = [ab, "-q", "-k", "-t", str(seconds), "-n", "1000000", "-c", str(concurrency), "-H", "Accept-Encoding: br"]
    if cookie:
        args += ["-C", cookie]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
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
    parser.add_argument("--tips", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database (postgresql+psycopg://...)")
    parser.add_argument("--path", default="/officer/", help="the queue page")
    args = parser.parse_args()
    ab = ensure_ab()
    tmp = Path(tempfile.mkdtemp(prefix="zaloan-bench-"))
    env = {
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": args.postgres or f"sqlite:///{tmp / 'bench.sqlite'}",
        "UPLOAD_FOLDER": str(tmp / "uploads"),
    }
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"building {engine} database with {args.tips} tips ...", flush=True)
    build_database(env, args.tips)
    app_port, hello_port = free_port(), free_port()
    procs = [serve("wsgi:app", app_port, env, ROOT), serve("hello:app", hello_port, {}, ROOT / "bench")]
    try:
        cookie = login_cookie(f"http://127.0.0.1:{app_port}", "0900000002", "demo-1234")
        rows = [
            ("hello-world Flask route", load(ab, f"http://127.0.0.1:{hello_port}/", args.seconds, args.concurrency, None)),
            (f"officer queue, {args.tips} tips ({engine})",
             load(ab, f"http://127.0.0.1:{app_port}{args.path}", args.seconds, args.concurrency, cookie)),
        ]
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ngunicorn 4 workers, ab -k -c {args.concurrency} for {args.seconds}s each, loopback, {os.cpu_count()} cores")
    print(f"{'page':45} {'req/s':>8} {'p95 ms':>8}")
    for name, (rps, p95) in rows:
        print(f"{name:45} {rps:8.1f} {p95:8.0f}")


if __name__ == "__main__":
    main()
