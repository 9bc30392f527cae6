"""Fault suite: nothing lost, nothing doubled, no false alarm, against gunicorn on loopback with SQLite.

    .venv/bin/python bench/faults.py                      # every scenario, a couple of minutes
    .venv/bin/python bench/faults.py --only photos,resend  # some of them
    .venv/bin/python bench/faults.py --code /tmp/old-tree   # the same suite against another copy of the code

A fresh SQLite database with the demo commune is served by gunicorn (3 sync
workers, as in docs/DEPLOY.md) on loopback; clients are threads, each logged
in as an informant, sending tips the way a phone without JavaScript does (the
form, its key, its photos). A client that gets no answer or a 5xx sends the
same form again with the same key, as the page's "Thử lại" does, up to a
number of tries. Scenarios:

- resend: every tip is sent three times at once with the same key.
- kill-worker: sends go on while a worker is killed with SIGKILL, twice.
- kill-master: sends go on while the master is killed with SIGKILL (its
  workers finish what they hold and leave), later the master and its
  workers at once; each time it is started again a second later (systemd's
  Restart=always).
- cut: clients send half of a tip with a photo and close the connection,
  among whole sends.
- full-disk: the upload folder is a small tmpfs, full (root only): tips with
  photos and photos sent on their own are refused with the words for a full
  disk; text tips go through; once space is freed, the refused tips sent
  again are kept, once.
- full-db: the database's own disk is a small tmpfs, full (root only): tips
  are refused with the words, none acknowledged and lost; once space is
  freed, the same sends are kept, once.
- photos: 20 clients each send two tips with three unshrunk 4 MB camera
  photos at once, with no retry (the load that made "database is locked").

For each: acknowledged (keys the server answered "saved"), stored (keys in
the database), duplicated (tips beyond one a key), lost (acknowledged, not
stored), errors (keys never acknowledged, after the tries; a refusal that
says why, such as a full disk, is counted apart), false (errors whose tip was
stored anyway), 5xx (answers of 500 or more seen, retried or not) and stray
files (files in the upload folder no photo row names).
"""
from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
INFORMANTS = ("0900000010", "0900000011")
PASSWORD = "demo-1234"
BODY = "Có người lạ đi xe không biển số quanh chợ, hỏi mua hàng cấm."
OUT_OF_SPACE = "hết chỗ lưu"
CSRF = r'name="csrf_token"[^>]*value="([^"]+)"'
SCENARIOS = ("resend", "kill-worker", "kill-master", "cut", "full-disk", "full-db", "photos")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_jpeg(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((900, 700), 40 + seed % 40).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


# --- The server -----------------------------------------------------------------------------


class Server:
    """gunicorn serving the app from `code` on a loopback port; its log in `log`."""

    def __init__(self, code: Path, env: dict, port: int, log: Path):
        self.code, self.env, self.port, self.log = code, env, port, log
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self, **extra_env) -> None:
        env = {**os.environ, **self.env, **extra_env}
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", "3", "--timeout", "60", "--graceful-timeout", "5", "--reuse-port",
             "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=self.code, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code in (200, 503):
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not start; see {self.log}")

    def workers(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def kill_worker(self) -> None:
        workers = self.workers()
        if workers:
            os.kill(random.choice(workers), signal.SIGKILL)

    def kill_master(self, with_workers: bool = False) -> None:
        """SIGKILL the master (its workers finish what they hold, then leave), or the master and its workers at once."""
        workers = self.workers() if with_workers else []
        os.kill(self.proc.pid, signal.SIGKILL)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- A client -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one scenario's clients saw."""

    sent: set = field(default_factory=set)
    acknowledged: set = field(default_factory=set)
    refused: set = field(default_factory=set)  # refused with words that say why (a full disk)
    failed: set = field(default_factory=set)
    answers: dict = field(default_factory=dict)  # key -> set of tip ids answered
    server_errors: int = 0
    retries: int = 0  # tries that got no answer or a 5xx, sent again with the same key
    lock = threading.Lock()

    def note(self, key: str, outcome: str, tip_id: int | None = None) -> None:
        with self.lock:
            self.sent.add(key)
            if outcome == "ok":
                self.acknowledged.add(key)
                self.answers.setdefault(key, set()).add(tip_id)
                self.failed.discard(key)
                self.refused.discard(key)
            elif key not in self.acknowledged:
                (self.refused if outcome == "refused" else self.failed).add(key)

    def five_hundred(self) -> None:
        with self.lock:
            self.server_errors += 1


class Client:
    """An informant's browser without JavaScript."""

    def __init__(self, server: Server, phone: str):
        self.server, self.phone = server, phone
        self.http = requests.Session()
        self.token = self.category = None

    def login(self, tries: int = 20) -> None:
        for _ in range(tries):
            try:
                page = self.http.get(self.server.base + "/login", timeout=30).text
                token = re.search(CSRF, page)
                r = self.http.post(self.server.base + "/login", timeout=30, allow_redirects=False,
                                   data={"csrf_token": token.group(1), "phone": self.phone, "password": PASSWORD})
                if r.status_code != 302:
                    raise RuntimeError(f"login answered {r.status_code}")
                form = self.http.get(self.server.base + "/informant/tips/new", timeout=30).text
                self.token = re.search(CSRF, form).group(1)
                radio = re.search(r'<input[^>]*name="category_id"[^>]*>', form).group(0)
                self.category = re.search(r'value="(\d+)"', radio).group(1)
                return
            except (requests.RequestException, AttributeError, RuntimeError):
                time.sleep(0.5)
        raise SystemExit("a client could not log in")

    def form(self, key: str, scenario: str) -> dict:
        return {"csrf_token": self.token, "category_id": self.category, "body": f"[{scenario}:{key}] {BODY}",
                "village_id": "0", "watch_point_id": "0", "place_text": "", "urgency": "3", "client_key": key}

    def send(self, tally: Tally, key: str, scenario: str, photos: tuple[bytes, ...] = (), tries: int = 12,
             timeout: float = 120) -> str:
        """Send one tip (its photos with it) until acknowledged, refused with words, or out of tries."""
        for attempt in range(tries):
            files = [("photos", (f"IMG_{i}.jpg", io.BytesIO(p), "image/jpeg")) for i, p in enumerate(photos)]
            try:
                r = self.http.post(self.server.base + "/informant/tips/new", data=self.form(key, scenario),
                                   files=files or None, timeout=timeout, allow_redirects=False)
            except requests.RequestException:
                outcome = "retry"
            else:
                if r.status_code == 303 and "/informant/tips/" in r.headers.get("Location", ""):
                    tally.note(key, "ok", int(re.search(r"/tips/(\d+)", r.headers["Location"]).group(1)))
                    return "ok"
                if OUT_OF_SPACE in r.text:  # a full disk, said plainly (507, or 422 with the form kept)
                    tally.note(key, "refused")
                    return "refused"
                if r.status_code >= 500:
                    tally.five_hundred()
                outcome = "retry" if r.status_code >= 500 else "failed"
            if outcome == "failed" or attempt == tries - 1:
                tally.note(key, "failed")
                return "failed"
            with tally.lock:
                tally.retries += 1
            time.sleep(min(0.25 * 2 ** attempt, 3) * random.uniform(0.5, 1.5))
        return "failed"


def keys(n: int) -> list[str]:
    return [uuid.uuid4().hex[:20] for _ in range(n)]


# --- Counting in the database ---------------------------------------------------------------


def stored_counts(db: Path, scenario: str) -> Counter:
    """Return {key: tips} of a scenario's tips, found by the marker in their text."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute("SELECT body FROM tips WHERE body LIKE ?", (f"[{scenario}:%",)).fetchall()
    return Counter(re.match(r"\[[^:]+:([^\]]+)\]", body).group(1) for (body,) in rows)


def stray_files(db: Path, folder: Path) -> int:
    """Count files in the upload folder that no photo row names (photo or thumbnail)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        names = [n for (n,) in conn.execute("SELECT storage_name FROM attachments")]
    known = set(names) | {Path(n).stem + ".thumb.jpg" for n in names}
    return sum(1 for p in folder.iterdir() if p.is_file() and p.name not in known) if folder.is_dir() else 0


@dataclass
class Result:
    name: str
    sent: int
    acknowledged: int
    stored: int
    duplicated: int
    lost: int
    errors: int
    refused: int
    false: int
    five_hundreds: int
    retries: int
    stray: int
    note: str = ""


def result(name: str, tally: Tally, db: Path, folder: Path, note: str = "") -> Result:
    stored = stored_counts(db, name)
    sent = tally.sent
    mixed = sum(1 for ids in tally.answers.values() if len(ids) > 1)  # one key answered with two tips
    return Result(
        name=name, sent=len(sent), acknowledged=len(tally.acknowledged),
        stored=sum(1 for k in sent if stored[k]), duplicated=sum(n - 1 for n in stored.values() if n > 1) + mixed,
        lost=sum(1 for k in tally.acknowledged if not stored[k]), errors=len(tally.failed),
        refused=len(tally.refused), false=sum(1 for k in tally.failed | tally.refused if stored[k]),
        five_hundreds=tally.server_errors, retries=tally.retries, stray=stray_files(db, folder), note=note)


# --- Scenarios ------------------------------------------------------------------------------


def clients(server: Server, n: int) -> list[Client]:
    made = [Client(server, INFORMANTS[i % len(INFORMANTS)]) for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(Client.login, made))
    return made


def scenario_resend(server, env, db, folder, args) -> Result:
    """Each tip sent three times at once, same key: one tip, three answers naming it."""
    tally, people = Tally(), clients(server, 8)
    work = [(c, k) for c in people for k in keys(4)]
    with ThreadPoolExecutor(24) as pool:
        outcomes = [pool.submit(c.send, tally, k, "resend") for c, k in work for _ in range(3)]
    saved = sum(1 for f in outcomes if f.result() == "ok")
    return result("resend", tally, db, folder, f"{saved} of {len(outcomes)} copies answered saved")


def steady_load(server, tally, scenario, seconds, people, photo: bytes | None = None):
    """Each client sends tips one after another for `seconds`; return when all have finished."""
    stop = time.monotonic() + seconds

    def run(c):
        while time.monotonic() < stop:
            c.send(tally, keys(1)[0], scenario, (photo,) if photo else (), timeout=30)

    threads = [threading.Thread(target=run, args=(c,)) for c in people]
    for t in threads:
        t.start()
    return threads


def scenario_kill_worker(server, env, db, folder, args) -> Result:
    tally, people = Tally(), clients(server, 8)
    threads = steady_load(server, tally, "kill-worker", args.seconds, people, small_jpeg(1))
    kills = 0
    for pause in (0.3, 0.35):
        time.sleep(args.seconds * pause)
        server.kill_worker()
        kills += 1
    for t in threads:
        t.join()
    return result("kill-worker", tally, db, folder, f"{kills} workers killed (SIGKILL) under load")


def scenario_kill_master(server, env, db, folder, args) -> Result:
    tally, people = Tally(), clients(server, 8)
    threads = steady_load(server, tally, "kill-master", args.seconds * 1.5, people, small_jpeg(2))
    for pause, with_workers in ((0.3, False), (0.45, True)):
        time.sleep(args.seconds * pause)
        server.kill_master(with_workers)
        time.sleep(1)
        server.start()
    for t in threads:
        t.join()
    return result("kill-master", tally, db, folder, "master killed (SIGKILL), then master and workers at once; "
                                                    "each time started again 1 s later")


def cut_send(client: Client, key: str) -> None:
    """Send the headers and half the body of a tip with a photo, then close the connection."""
    req = requests.Request("POST", client.server.base + "/informant/tips/new", data=client.form(key, "cut"),
                           files=[("photos", ("IMG.jpg", small_jpeg(3), "image/jpeg"))],
                           cookies=client.http.cookies).prepare()
    head = f"POST /informant/tips/new HTTP/1.1\r\nHost: 127.0.0.1:{client.server.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", client.server.port), timeout=10) as s:
        s.sendall(head.encode("latin-1") + req.body[: len(req.body) // 2])
        time.sleep(random.uniform(0, 0.3))


def scenario_cut(server, env, db, folder, args) -> Result:
    tally, people = Tally(), clients(server, 6)
    cut = keys(30)
    threads = steady_load(server, tally, "cut", min(args.seconds, 8), people, small_jpeg(4))
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda k: cut_send(people[0], k), cut))
    for t in threads:
        t.join()
    stored_cut = sum(stored_counts(db, "cut")[k] for k in cut)
    healthy = requests.get(server.base + "/healthz", timeout=10).status_code == 200
    return result("cut", tally, db, folder, f"{len(cut)} sends cut mid-body: {stored_cut} stored; "
                                            f"health after: {'ok' if healthy else 'FAILED'}")


def mount_tmpfs(path: Path, size: str) -> str | None:
    """Mount a tmpfs at `path`; return why not, or None."""
    if os.geteuid() != 0:
        return "not root"
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return None if done.returncode == 0 else (done.stderr.decode().strip() or "mount failed")


def scenario_full_disk(server, env, db, folder, args) -> Result:
    small = Path(env["UPLOAD_FOLDER"]).parent / "full"
    why = mount_tmpfs(small, "4m")
    if why:
        return Result("full-disk", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, note=f"skipped: {why}")
    try:
        server.stop()
        server.start(UPLOAD_FOLDER=str(small))
        filler = small / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        tally, people = Tally(), clients(server, 6)
        photo_keys = {c: keys(2) for c in people}
        json_refused = json_ok = 0

        def one(c):
            nonlocal json_refused, json_ok
            for k in photo_keys[c]:
                c.send(tally, k, "full-disk", (small_jpeg(5),), tries=3)
            c.send(tally, keys(1)[0], "full-disk")  # text only: nothing to write but the database
            r = c.http.post(server.base + "/informant/photos", data={"csrf_token": c.token, "client_key": keys(1)[0]},
                            files={"photo": ("IMG.jpg", small_jpeg(6), "image/jpeg")}, timeout=60)
            ok = r.headers.get("Content-Type", "").startswith("application/json") and OUT_OF_SPACE in r.json()["error"]
            with tally.lock:
                json_refused += ok

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(one, people))
        refused_first = len(tally.refused)
        parts = sum(1 for p in small.iterdir() if p.name != "filler")
        filler.unlink()  # space freed: the senders try again, with the same keys
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda c: [c.send(tally, k, "full-disk", (small_jpeg(5),)) for k in photo_keys[c]], people))
        again = "every refused tip sent again was kept" if not tally.refused and not tally.failed else \
            f"{len(tally.refused | tally.failed)} still not kept"
        alert = "storage.full rows: " + str(sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
            "SELECT count(*) FROM audit_events WHERE action = 'storage.full'").fetchone()[0])
        res = result("full-disk", tally, db, small,
                     f"while full: {refused_first} photo tips refused with the words, {json_refused}/6 JSON uploads "
                     f"answered JSON with the words, {parts} files left on the full disk; after freeing space "
                     f"{again}; {alert}")
        return res
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(small)], check=False)
        server.start()


def fill(folder: Path) -> Path:
    """Fill the disk under `folder` to the last byte; return the filler file."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def scenario_full_db(server, env, db, folder, args) -> Result:
    """The database's own disk is full: a send is refused with the words, never acknowledged and lost."""
    small = Path(env["UPLOAD_FOLDER"]).parent / "full-db"
    why = mount_tmpfs(small, "16m")
    if why:
        return Result("full-db", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, note=f"skipped: {why}")
    own_db = small / "faults.sqlite"
    shutil.copy(db, own_db)
    other = Server(server.code, {**env, "DATABASE_URL": f"sqlite:///{own_db}"}, free_port(), server.log)
    try:
        other.start()
        tally, people = Tally(), clients(other, 6)
        filler = fill(small)
        sent = {c: keys(3) for c in people}
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda c: [c.send(tally, k, "full-db", tries=3) for k in sent[c]], people))
        refused_first = len(tally.refused)
        filler.unlink()
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda c: [c.send(tally, k, "full-db") for k in sent[c]], people))
        other.stop()
        res = result("full-db", tally, own_db, folder,
                     f"while full: {refused_first} of {sum(map(len, sent.values()))} tips refused with the words "
                     f"(any others fitted in the WAL file's room); "
                     f"after freeing space {'every one sent again was kept' if not tally.refused else 'NOT all kept'}")
        res.stray = 0  # the photos' folder is not this scenario's
        return res
    finally:
        other.stop()
        subprocess.run(["umount", "-l", str(small)], check=False)


def scenario_photos(server, env, db, folder, args) -> Result:
    """20 clients, two tips each with three unshrunk 4 MB camera photos, at once; no retry."""
    sys.path.insert(0, str(ROOT / "tests"))
    from camera import camera_jpeg

    photos = tuple(camera_jpeg(seed) for seed in (1, 2, 3))
    tally, people = Tally(), clients(server, 20)
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda c: [c.send(tally, k, "photos", photos, tries=1) for k in keys(2)], people))
    size = sum(len(p) for p in photos) / 1e6
    return result("photos", tally, db, folder, f"3 photos of {size / 3:.1f} MB each per tip, no retry")


RUN = {"resend": scenario_resend, "kill-worker": scenario_kill_worker, "kill-master": scenario_kill_master,
       "cut": scenario_cut, "full-disk": scenario_full_disk, "full-db": scenario_full_db,
       "photos": scenario_photos}


def prepare(code: Path, env: dict) -> None:
    full = {**os.environ, **env}
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=code, env=full, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--seconds", type=float, default=10, help="length of the scenarios under steady load")
    parser.add_argument("--code", type=Path, default=ROOT, help="the copy of the code to serve")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    tmp = Path(tempfile.mkdtemp(prefix="zaloan-faults-"))
    db, folder = tmp / "faults.sqlite", tmp / "uploads"
    env = {"SECRET_KEY": "bench-secret", "DATABASE_URL": f"sqlite:///{db}", "UPLOAD_FOLDER": str(folder),
           "AUDIT_KEY": "bench-audit-key-0123456789abcdef0123456789", "FLASK_DEBUG": "0"}
    print(f"preparing the demo commune in {tmp} ...", flush=True)
    prepare(args.code, env)
    server = Server(args.code, env, free_port(), tmp / "gunicorn.log")
    server.start()
    results = []
    try:
        for name in chosen:
            started = time.monotonic()
            print(f"{name} ...", flush=True)
            res = RUN[name](server, env, db, folder, args)
            res.note = (res.note + "; " if res.note else "") + f"{time.monotonic() - started:.0f} s"
            results.append(res)
    finally:
        server.stop()
    log = (tmp / "gunicorn.log").read_text(errors="replace")
    reconcile = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "reconcile-files", "--dry-run"],
                               cwd=args.code, env={**os.environ, **env}, capture_output=True, text=True)
    print(f"\nSQLite, gunicorn 3 sync workers on loopback, {os.cpu_count()} cores; code: {args.code}")
    head = f"{'scenario':12} {'sent':>5} {'ack':>5} {'stored':>6} {'dup':>4} {'lost':>5} {'errors':>6} " \
           f"{'refused':>7} {'false':>5} {'5xx':>4} {'retries':>7} {'stray':>5}"
    print(head)
    for r in results:
        print(f"{r.name:12} {r.sent:5} {r.acknowledged:5} {r.stored:6} {r.duplicated:4} {r.lost:5} {r.errors:6} "
              f"{r.refused:7} {r.false:5} {r.five_hundreds:4} {r.retries:7} {r.stray:5}")
    for r in results:
        if r.note:
            print(f"  {r.name}: {r.note}")
    locked = log.count("database is locked")
    print(f"server log: {locked} 'database is locked', {len(re.findall(r' 500 [0-9.]+ms', log))} answers of 500")
    print("reconcile-files --dry-run: " + (reconcile.stdout.splitlines() or [reconcile.stderr.strip()])[0])
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
