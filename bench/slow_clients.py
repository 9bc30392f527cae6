"""Slow clients against gunicorn, with and without nginx in front (deploy/nginx/zaloan.conf).

    .venv/bin/python bench/slow_clients.py              # 50 slow clients, 30 s a phase, about 2.5 minutes
    .venv/bin/python bench/slow_clients.py --clients 50 --seconds 60

Needs nginx (Debian: apt-get install -y nginx-light); installs nothing itself.
Starts gunicorn as deployed (deploy/gunicorn.conf.py: 3 sync workers) on a demo
database on SQLite, and nginx in front of it with the deployment's own
settings file, both on loopback. Then, phase by phase, a normal visitor asks
for the login page twice a second while `--clients` connections send their
requests a byte a second (half dribble their headers, half send their
headers at once and dribble a form body), reconnecting whenever they are cut
off. Prints, for each phase, how many of the visitor's requests were
answered within 10 s and how long they took.
"""
from __future__ import annotations

import argparse
import http.client
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import app_env, demo_database, free_port, nginx_binary, start_gunicorn, start_nginx, stop  # noqa: E402

PATIENCE = 10.0  # seconds a visitor waits for an answer


class SlowClients:
    """`count` connections to `port` that each send a request a byte at a time, until stopped."""

    def __init__(self, port: int, count: int, interval: float = 1.0):
        self.port, self.count, self.interval = port, count, interval
        self.stopped = threading.Event()
        self.cut_off = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(count)]

    def request(self, i: int) -> tuple[bytes, bytes]:
        """What client `i` sends slowly, and what it sends at once before that."""
        body = b"phone=0900000010&password=" + b"x" * 2000
        head = (f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nUser-Agent: slow-client-{i}\r\n\r\n").encode()
        return (b"", head + body) if i % 2 == 0 else (head, body)

    def run(self, i: int) -> None:
        at_once, slowly = self.request(i)
        while not self.stopped.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(at_once)
                    for b in slowly:
                        if self.stopped.wait(self.interval):
                            return
                        s.send(bytes([b]))
            except OSError:
                pass
            with self.lock:
                self.cut_off += 1
            self.stopped.wait(0.2)

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(3)  # every connection open and sending
        return self

    def __exit__(self, *exc):
        self.stopped.set()


def visitor(port: int, seconds: float) -> tuple[list[float], int]:
    """Ask for /login twice a second for `seconds`: the answer times (ms) and the requests not answered."""
    times, unanswered = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
        try:
            conn.request("GET", "/login")
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise OSError(f"status {resp.status}")
            times.append((time.monotonic() - started) * 1000)
        except OSError:
            unanswered += 1
        finally:
            conn.close()
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    return times, unanswered


def line(name: str, times: list[float], unanswered: int) -> str:
    asked = len(times) + unanswered
    if not times:
        return f"{name:46} {asked:6} {0:9} {'-':>9} {'-':>9} {'-':>9}"
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) >= 2 else times[0]
    return (f"{name:46} {asked:6} {len(times):9} {statistics.median(times):9.0f} {p95:9.0f} "
            f"{max(times):9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    args = parser.parse_args()
    nginx_binary()  # stop at once, with the words to install it, when nginx is missing
    tmp = Path(tempfile.mkdtemp(prefix="zaloan-slow-"))
    env = app_env(tmp)
    demo_database(env)
    app_port, proxy_port = free_port(), free_port()
    gunicorn = start_gunicorn(app_port, env, tmp / "gunicorn.log")
    nginx = start_nginx(proxy_port, app_port, tmp)
    rows = []
    try:
        visitor(app_port, 2), visitor(proxy_port, 2)  # warm up both ways
        rows.append(line("idle, straight to gunicorn", *visitor(app_port, args.seconds / 3)))
        rows.append(line("idle, through nginx", *visitor(proxy_port, args.seconds / 3)))
        with SlowClients(proxy_port, args.clients) as slow:
            rows.append(line(f"{args.clients} slow clients, all through nginx", *visitor(proxy_port, args.seconds)))
        cut_by_nginx = slow.cut_off
        with SlowClients(app_port, args.clients) as slow:
            rows.append(line(f"{args.clients} slow clients, straight to gunicorn", *visitor(app_port, args.seconds)))
        cut_by_gunicorn = slow.cut_off
    finally:
        stop(nginx, gunicorn)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ngunicorn: deploy/gunicorn.conf.py (3 sync workers); nginx: deploy/nginx/zaloan.conf; loopback, "
          f"{args.clients} clients sending a byte a second; a visitor asks for /login twice a second, "
          f"waits at most {PATIENCE:.0f} s")
    print(f"{'phase':46} {'asked':>6} {'answered':>9} {'median ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for row in rows:
        print(row)
    print(f"slow connections cut off and opened again: {cut_by_nginx} by nginx, {cut_by_gunicorn} by gunicorn")


if __name__ == "__main__":
    main()
