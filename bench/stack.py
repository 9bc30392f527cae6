"""The production stack on loopback, for the benches: gunicorn with deploy/gunicorn.conf.py, nginx with
deploy/nginx/zaloan.conf, a throwaway SQLite database.

Nothing here installs anything; a bench that needs nginx says so and stops when it is missing.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX_CONF = ROOT / "deploy" / "nginx" / "zaloan.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(tmp: Path) -> dict:
    """The settings of a throwaway deployment in `tmp` (SQLite, photos, keys)."""
    return {
        "SECRET_KEY": "bench-secret-key",
        "AUDIT_KEY": "bench-audit-key-" + "0" * 32,
        "AUDIT_CHECKPOINT_FILE": str(tmp / "audit-checkpoints.txt"),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
        "UPLOAD_FOLDER": str(tmp / "uploads"),
    }


def demo_database(env: dict) -> None:
    """Migrate the database of `env` and load the demo commune, in a process of its own."""
    code = ("from flask_migrate import upgrade\nfrom zaloan import create_app\nfrom zaloan.demo import load_demo\n"
            "from zaloan.extensions import db\napp = create_app()\nwith app.app_context():\n"
            "    upgrade()\n    load_demo()\n    db.session.commit()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit("making the demo database failed:\n" + done.stderr[-3000:])


def wait_for(url: str, proc: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"{what} did not start (exit {proc.poll()})")
            time.sleep(0.2)


def start_gunicorn(port: int, env: dict, log: Path, *extra: str) -> subprocess.Popen:
    """gunicorn as deployed (deploy/gunicorn.conf.py), on 127.0.0.1:`port`; its output (the app's log) in `log`."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
             "--log-level", "info", *extra],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
        )
    wait_for(f"http://127.0.0.1:{port}/healthz", proc, "gunicorn")
    return proc


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if not found:
        sys.exit("nginx is not installed. On Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y nginx-light")
    return found


def start_nginx(port: int, upstream_port: int, tmp: Path) -> subprocess.Popen:
    """nginx on 127.0.0.1:`port` in front of gunicorn, with deploy/nginx/zaloan.conf included as it is."""
    binary = nginx_binary()
    prefix = tmp / "nginx"
    prefix.mkdir(exist_ok=True)
    prefix.chmod(0o755)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(f"""{user}worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    upstream zaloan {{
        server 127.0.0.1:{upstream_port};
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        include {NGINX_CONF};
    }}
}}
""")
    check = subprocess.run([binary, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    if check.returncode:
        sys.exit("nginx refused the configuration:\n" + check.stderr)
    proc = subprocess.Popen([binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)])
    wait_for(f"http://127.0.0.1:{port}/healthz", proc, "nginx")
    return proc


def stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=40)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def worker_pids(master: int) -> list[int]:
    """The worker processes of a gunicorn master (its children), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
