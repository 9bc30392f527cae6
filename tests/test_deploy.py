"""The deployment files in deploy/: what they must say, and that docs/DEPLOY.md shows them as they are."""
from __future__ import annotations

import configparser
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "DEPLOY.md"
GUNICORN = ROOT / "deploy" / "gunicorn.conf.py"
UNIT = ROOT / "deploy" / "systemd" / "zaloan.service"


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
    for path in (GUNICORN, UNIT):
        assert path.read_text() in text, f"docs/DEPLOY.md does not show {path.relative_to(ROOT)} as it is"
    for words in ("KillMode=control-group", "Restart=always", "max_requests = 1000", "max_requests_jitter = 100"):
        assert words in text
