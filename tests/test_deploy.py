"""The deployment files in deploy/: what they must say, and that docs/DEPLOY.md shows them as they are."""
from __future__ import annotations

import configparser
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "DEPLOY.md"
GUNICORN = ROOT / "deploy" / "gunicorn.conf.py"
UNIT = ROOT / "deploy" / "systemd" / "zaloan.service"
NGINX = ROOT / "deploy" / "nginx" / "zaloan.conf"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def test_gunicorn_recycles_workers_with_jitter_and_serves_the_app():
    conf = runpy.run_path(str(GUNICORN))
    # Worker memory grew from 76 to 164 MB in ten minutes: each worker is replaced after a while,
    # not all at once.
    assert 500 <= conf["max_requests"] <= 5000
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["wsgi_app"] == "wsgi:app"
    assert conf["worker_class"] == "sync" and conf["workers"] >= 2
    assert conf["bind"].startswith("127.0.0.1:")  # only nginx talks to gunicorn
    assert conf["graceful_timeout"] <= conf["timeout"]
    assert conf.get("accesslog") is None  # the app's own log leaves out query strings and codes


def test_every_name_in_the_gunicorn_file_is_a_gunicorn_setting():
    from gunicorn.config import Config

    cfg = Config()
    names = {k: v for k, v in runpy.run_path(str(GUNICORN)).items() if not k.startswith("__")}
    # gunicorn ignores a name it does not know: a misspelt "max_request" would recycle nothing.
    assert [k for k in names if k not in cfg.settings] == []
    for k, v in names.items():
        cfg.set(k, v)  # and each value is one gunicorn accepts
    assert cfg.max_requests == names["max_requests"] and cfg.max_requests_jitter == names["max_requests_jitter"]


def unit_settings() -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return dict(parser["Service"])


def test_systemd_unit_takes_the_workers_down_with_the_master_and_restarts():
    service = unit_settings()
    # A killed master must not leave its workers serving unsupervised and holding the port.
    assert service["KillMode"] == "control-group"
    assert service["Restart"] == "always"
    assert "--config deploy/gunicorn.conf.py" in service["ExecStart"]
    conf = runpy.run_path(str(GUNICORN))
    # A stop waits for the requests in progress (gunicorn's graceful timeout) before it kills.
    assert int(service["TimeoutStopSec"]) > conf["graceful_timeout"]


def test_the_guide_shows_the_deployment_files_as_they_are():
    text = guide()
    for path in (GUNICORN, UNIT, NGINX):
        assert path.read_text() in text, f"docs/DEPLOY.md does not show {path.relative_to(ROOT)} as it is"
    for words in ("KillMode=control-group", "Restart=always", "max_requests = 1000", "max_requests_jitter = 100"):
        assert words in text


def nginx_settings() -> dict[str, str]:
    """The nginx file's directives (the last value of each), comments left out."""
    text = re.sub(r"#[^\n]*", "", NGINX.read_text())
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s*([a-z_]+)\s+([^;{]*);", text, re.M)}


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()
    return int(number) * (60 if unit == "m" else 1)


def test_nginx_buffers_every_request_before_gunicorn_and_cuts_slow_headers(app):
    s = nginx_settings()
    # A request reaches a sync worker only once nginx has it whole, and the answer is taken whole.
    assert s["proxy_request_buffering"] == "on"
    assert s["proxy_buffering"] == "on"
    # Slow headers are cut off well before a worker's timeout would have been reached.
    assert seconds(s["client_header_timeout"]) <= 30
    assert seconds(s["client_body_timeout"]) <= 120 and seconds(s["send_timeout"]) <= 120
    assert s["client_body_buffer_size"].endswith("k")
    # The largest request the app takes gets through, and nothing much larger.
    body_mb = int(re.fullmatch(r"(\d+)m", s["client_max_body_size"]).group(1))
    assert app.config["MAX_CONTENT_LENGTH"] < body_mb * 1024 * 1024 <= app.config["MAX_CONTENT_LENGTH"] + 2 * 1024 * 1024
    assert s["proxy_pass"] == "http://zaloan"
    assert s["proxy_set_header"]  # Host, X-Forwarded-For (set, not appended), X-Forwarded-Proto
    text = NGINX.read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text and "$proxy_add_x_forwarded_for" not in text


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="nginx is not installed")
def test_nginx_accepts_the_file_inside_a_server_block(tmp_path):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    upstream zaloan {{ server 127.0.0.1:8000; }}
    server {{ listen 127.0.0.1:8080; include {NGINX}; }}
}}
""")
    check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
