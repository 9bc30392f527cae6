"""A load run: 50 informants and officers of one commune on gunicorn as deployed, for 10 minutes (Locust).

    .venv/bin/python bench/load_run.py                   # 50 users, 10 minutes
    .venv/bin/python bench/load_run.py --minutes 1       # a first try

Installs Locust (bench/requirements-load.txt) into a venv of its own,
`.venv-load`, the first time, so the app's venv keeps its pinned packages.
Seeds a SQLite database with bench/province.py (one commune: 8 villages,
3 officers, 30 informants, `--tips` earlier tips), makes small real JPEGs
(tests/camera.py, 1024x768, as a phone's page sends them after shrinking),
starts gunicorn with deploy/gunicorn.conf.py on loopback and runs
bench/locustfile.py headless against it. Every 10 s it notes the resident
memory of each gunicorn worker. Prints the failed requests with their
errors, the 50th and 95th percentile of each kind of request, the workers'
memory at the start and the end, how many workers were replaced
(`max_requests`), and what the app's log says about errors (tracebacks,
"database is locked", worker timeouts).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, app_env, free_port, rss_mb, start_gunicorn, stop, worker_pids  # noqa: E402

LOAD_VENV = ROOT / ".venv-load"
REQUIREMENTS = ROOT / "bench" / "requirements-load.txt"


def locust_binary() -> Path:
    """Locust from .venv-load, installed there (again) when bench/requirements-load.txt changed."""
    stamp = LOAD_VENV / ".requirements"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == wanted):
        print("installing Locust into .venv-load ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LOAD_VENV)], check=True)
        subprocess.run([str(LOAD_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    return LOAD_VENV / "bin" / "locust"


SEED = """
import sys
sys.path.insert(0, "bench")
from flask_migrate import upgrade
from sqlalchemy import select
from province import INFORMANTS_PER_OFFICER, OFFICERS, officer_phone, phone, populate
from zaloan import create_app
from zaloan.extensions import db
app = create_app()
with app.app_context():
    upgrade()
    populate(1, {tips})
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
print(",".join(phone(1, 1000 + i) for i in range(OFFICERS * INFORMANTS_PER_OFFICER)))
print(",".join(officer_phone(1, k) for k in range(OFFICERS)))
"""

PHOTOS = """
import sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.camera import camera_jpeg
for seed in range(4):
    Path(sys.argv[1], f"photo{seed}.jpg").write_bytes(camera_jpeg(seed=seed, size=(1024, 768), limit=150_000))
"""


def prepare(env: dict, tmp: Path, tips: int) -> tuple[str, str, Path]:
    """Seed the database and make the photos; return the informants' and officers' phones and the photo folder."""
    seeded = subprocess.run([sys.executable, "-c", SEED.format(tips=tips)], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True)
    if seeded.returncode:
        sys.exit("seeding the database failed:\n" + seeded.stderr[-3000:])
    informants, officers = seeded.stdout.strip().splitlines()[-2:]
    photos = tmp / "photos"
    photos.mkdir()
    subprocess.run([sys.executable, "-c", PHOTOS, str(photos)], cwd=ROOT, check=True)
    return informants, officers, photos


class MemorySampler(threading.Thread):
    """Every `every` seconds, the resident memory (MB) of each worker of the gunicorn master `master`."""

    def __init__(self, master: int, every: float = 10):
        super().__init__(daemon=True)
        self.master, self.every = master, every
        self.samples: list[tuple[float, dict[int, float]]] = []
        self.stopped = threading.Event()

    def sample(self) -> None:
        now = {pid: rss_mb(pid) for pid in worker_pids(self.master)}
        self.samples.append((time.monotonic(), {pid: mb for pid, mb in now.items() if mb is not None}))

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.sample()


def read_stats(prefix: Path) -> tuple[list[dict], list[dict]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = list(csv.DictReader(f))
    failures_file = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(open(failures_file, newline=""))) if failures_file.exists() else []
    return stats, failures


def log_findings(log: Path) -> dict[str, int]:
    text = log.read_text(errors="replace")
    statuses = [line.split()[4] for line in text.splitlines()
                if line.startswith("request ") and len(line.split()) >= 6]
    return {
        "requests logged by the app": len(statuses),
        "answers 5xx": sum(s.startswith("5") for s in statuses),
        "tracebacks": text.count("Traceback (most recent call last)"),
        '"database is locked"': text.count("database is locked"),
        "worker timeouts": text.count("WORKER TIMEOUT"),
        "workers replaced after max_requests": text.count("Autorestarting worker"),
    }


def server_times(log: Path) -> list[str]:
    """The app's own time for each kind of request (its request log), apart from any waiting for a worker."""
    times: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split()
        if line.startswith("request ") and len(parts) == 6 and parts[5].endswith("ms"):
            times.setdefault(f"{parts[2]} {parts[3]}", []).append(float(parts[5][:-2]))
    lines = []
    for name, ms in sorted(times.items(), key=lambda kv: -len(kv[1])):
        ms.sort()
        lines.append(f"{name:42} {len(ms):7} {ms[len(ms) // 2]:7.0f} {ms[min(len(ms) - 1, int(len(ms) * 0.95))]:7.0f}")
    return lines


def memory_lines(samples: list[tuple[float, dict[int, float]]]) -> list[str]:
    if not samples:
        return ["no memory samples"]
    first, last = samples[0][1], samples[-1][1]
    every_pid = {pid for _, s in samples for pid in s}
    peak = max((mb for _, s in samples for mb in s.values()), default=0)
    return [
        f"workers at the first sample (10 s): {', '.join(f'{mb:.0f}' for mb in first.values())} MB",
        f"workers at the last sample:         {', '.join(f'{mb:.0f}' for mb in last.values())} MB",
        f"largest worker seen: {peak:.0f} MB; worker processes seen: {len(every_pid)} "
        f"({len(every_pid) - len(first)} started during the run)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started a second")
    parser.add_argument("--tips", type=int, default=2000, help="tips already in the commune")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    args = parser.parse_args()
    locust = locust_binary()
    tmp = Path(tempfile.mkdtemp(prefix="zaloan-load-"))
    env = app_env(tmp)
    print(f"seeding SQLite: one commune, {args.tips} tips; photos ...", flush=True)
    informants, officers, photos = prepare(env, tmp, args.tips)
    port = free_port()
    log = tmp / "gunicorn.log"
    load_before = open("/proc/loadavg").read().split()[:3]
    server = start_gunicorn(port, env, log)
    sampler = MemorySampler(server.pid)
    sampler.sample()
    sampler.start()
    prefix = tmp / "locust"
    seconds = int(args.minutes * 60)
    print(f"running {args.users} users for {seconds} s against gunicorn on 127.0.0.1:{port} "
          f"(load average {' '.join(load_before)}) ...", flush=True)
    started = time.monotonic()
    try:
        subprocess.run(
            [str(locust), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--users", str(args.users),
             "--spawn-rate", str(args.spawn_rate), "--run-time", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
             "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "30"],
            cwd=ROOT, env={**os.environ, "LOAD_INFORMANTS": informants, "LOAD_OFFICERS": officers,
                           "LOAD_PHOTOS": str(photos)},
            stdout=subprocess.DEVNULL, stderr=open(tmp / "locust.log", "wb"),
        )
        elapsed = time.monotonic() - started
        sampler.stopped.set()
        sampler.sample()
        load_after = open("/proc/loadavg").read().split()[:3]
    finally:
        stop(server)
    if not Path(f"{prefix}_stats.csv").exists():
        sys.exit("Locust wrote no figures:\n" + (tmp / "locust.log").read_text()[-3000:])
    stats, failures = read_stats(prefix)
    findings = log_findings(log)
    total = next(s for s in stats if s["Name"] == "Aggregated")
    print(f"\n{args.users} users ({args.users * 4 // 5} informants, {args.users - args.users * 4 // 5} officers), "
          f"{elapsed:.0f} s, gunicorn deploy/gunicorn.conf.py, SQLite, loopback, {os.cpu_count()} cores; "
          f"load average {' '.join(load_before)} at the start, {' '.join(load_after)} at the end")
    print(f"requests: {total['Request Count']}, failed: {total['Failure Count']}, "
          f"{float(total['Requests/s']):.1f} a second")
    print(f"{'request':42} {'count':>7} {'failed':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for s in sorted((s for s in stats if s["Name"] != "Aggregated"), key=lambda s: s["Name"]):
        print(f"{s['Name']:42} {s['Request Count']:>7} {s['Failure Count']:>7} {s['50%']:>7} {s['95%']:>7} "
              f"{float(s['Max Response Time']):7.0f}")
    print(f"{'all':42} {total['Request Count']:>7} {total['Failure Count']:>7} {total['50%']:>7} {total['95%']:>7} "
          f"{float(total['Max Response Time']):7.0f}")
    if failures:
        print("\nfailures:")
        for f in failures:
            print(f"  {f['Occurrences']:>5} x {f['Method']} {f['Name']}: {f['Error'][:300]}")
    print("\nthe app's own time in the worker (its request log), without the wait for a free worker:")
    print(f"{'request':42} {'count':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for line in server_times(log):
        print(line)
    print("\nworker memory (resident, MB):")
    for line in memory_lines(sampler.samples[1:] or sampler.samples):
        print("  " + line)
    print("\nthe app's log:")
    for name, count in findings.items():
        print(f"  {name}: {count}")
    if args.keep:
        print(f"\nkept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
