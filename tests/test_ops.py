"""Operations: /healthz for a load balancer, one log line per request that gives nothing away."""
from __future__ import annotations

import json
import logging
import shutil
from collections import namedtuple

import pytest

from tests.conftest import PHONES

from zaloan import ops

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def request_log(caplog):
    """The request log's records, as caplog holds them."""
    caplog.set_level(logging.INFO, logger="zaloan.request")
    return caplog


def request_records(caplog):
    return [r for r in caplog.records if r.name == "zaloan.request"]


# --- /healthz ------------------------------------------------------------------------------


def test_healthz_answers_ok_and_nothing_else(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == "ok"
    assert resp.mimetype == "text/plain"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers


def test_healthz_sets_no_cookie_even_for_a_signed_in_browser(login_as):
    c = login_as("officer")
    resp = c.get("/healthz")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "ok"
    assert "Set-Cookie" not in resp.headers


def test_healthz_says_db_when_the_database_does_not_answer(app, client, monkeypatch):
    class Broken:
        def connect(self):
            raise OSError("connection refused")

    monkeypatch.setattr(ops, "db", type("DB", (), {"engine": Broken()})())
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_data(as_text=True) == "db"
    assert "connection refused" not in resp.get_data(as_text=True)


def test_healthz_says_db_for_a_database_file_that_cannot_be_opened(tmp_path, database_url):
    from tests.conftest import make_app

    app = make_app(tmp_path, database_url)
    # Point the engine at a file in a folder that does not exist: SQLite cannot open it.
    from sqlalchemy import create_engine

    from zaloan.extensions import db

    with app.app_context():
        broken = create_engine(f"sqlite:///{tmp_path}/missing/folder/x.sqlite")
        db._app_engines[app][None] = broken
    resp = app.test_client().get("/healthz")
    assert (resp.status_code, resp.get_data(as_text=True)) == (503, "db")


def test_healthz_says_disk_below_the_threshold(app, client, monkeypatch):
    app.config["HEALTH_MIN_FREE_MB"] = 200
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 10**12 - 150 * 2**20, 150 * 2**20))
    resp = client.get("/healthz")
    assert (resp.status_code, resp.get_data(as_text=True)) == (503, "disk")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 250 * 2**20))
    assert client.get("/healthz").status_code == 200


def test_healthz_checks_the_upload_folder_too(app, client, monkeypatch):
    low = app.config["UPLOAD_FOLDER"]
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 0, 0 if path == low else 10**12))
    assert client.get("/healthz").get_data(as_text=True) == "disk"


def test_healthz_names_every_failed_check(app, client, monkeypatch):
    monkeypatch.setattr(ops, "database_ok", lambda: False)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(1, 1, 0))
    resp = client.get("/healthz")
    assert (resp.status_code, resp.get_data(as_text=True)) == (503, "db disk")


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://zaloan.example.vn"}])
def test_healthz_answers_a_probe_by_ip_while_other_pages_refuse_the_host(client):
    assert client.get("/login", base_url="http://10.0.0.5").status_code == 400
    resp = client.get("/healthz", base_url="http://10.0.0.5")
    assert (resp.status_code, resp.get_data(as_text=True)) == (200, "ok")
    assert client.get("/healthz", base_url="https://zaloan.example.vn").status_code == 200


def test_healthz_answers_head_without_a_body(client):
    resp = client.head("/healthz")
    assert resp.status_code == 200 and resp.get_data() == b""
    assert "Set-Cookie" not in resp.headers


def test_healthz_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405


# --- One log line per request ----------------------------------------------------------------


def test_a_request_logs_one_line_with_id_method_rule_status_and_time(client, request_log):
    resp = client.get("/login")
    records = request_records(request_log)
    assert len(records) == 1
    fields = records[0].zaloan_request
    assert fields["request_id"] == resp.headers["X-Request-ID"]
    assert (fields["method"], fields["rule"], fields["status"]) == ("GET", "/login", 200)
    assert isinstance(fields["ms"], float) and fields["ms"] >= 0
    line = records[0].getMessage()
    assert line.startswith(f"request {fields['request_id']} GET /login 200 ") and line.endswith("ms")


def test_json_mode_writes_one_valid_json_object_per_line(app, client, request_log):
    app.config["LOG_FORMAT"] = "json"
    client.get("/login")
    client.get("/no-such-page")
    lines = [json.loads(r.getMessage()) for r in request_records(request_log)]
    assert [(x["method"], x["rule"], x["status"]) for x in lines] == [("GET", "/login", 200), ("GET", "-", 404)]
    assert {"ts", "request_id", "method", "rule", "status", "ms"} <= set(lines[0])


def test_a_wrong_log_format_stops_the_start(tmp_path, database_url):
    from tests.conftest import make_app

    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_app(tmp_path, database_url, LOG_FORMAT="yaml")


def test_the_log_holds_no_code_phone_key_or_session(app, client, login_as, request_log, capsys):
    client.get("/activate/SECRETCODE123")
    client.post("/login", data={"phone": "0987654321", "password": "wrong-password-x"})
    c = login_as("officer")
    cookie = c.get_cookie("zaloan_session").value
    c.get("/report/status?key=FOLLOWUPKEY9")
    client.get("/healthz?token=QUERYSECRET")
    text = "\n".join(r.getMessage() for r in request_log.records) + capsys.readouterr().err
    rules = [r.zaloan_request["rule"] for r in request_records(request_log)]
    assert "/activate/<code>" in rules and "/report/status" in rules and "/login" in rules
    for secret in ("SECRETCODE123", "0987654321", PHONES["officer"], "wrong-password-x", "FOLLOWUPKEY9",
                   "QUERYSECRET", "key=", cookie, "127.0.0.1"):
        assert secret not in text, secret


def test_the_request_id_comes_back_and_a_sane_one_from_the_proxy_is_kept(client, request_log):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/login").headers["X-Request-ID"]
    assert first != second and len(first) == 32
    resp = client.get("/login", headers={"X-Request-ID": "3f2a9c1e-77b0-4d5e-9a61-0c2b8d4e6f10"})
    assert resp.headers["X-Request-ID"] == "3f2a9c1e-77b0-4d5e-9a61-0c2b8d4e6f10"
    assert request_records(request_log)[-1].zaloan_request["request_id"] == "3f2a9c1e-77b0-4d5e-9a61-0c2b8d4e6f10"


@pytest.mark.parametrize("bad", ["abc\r\nX-Evil: 1", "x" * 500, "short", "id with spaces", "<script>alert(1)</script>",
                                 "0987654321 Nguyễn"])
def test_a_malicious_request_id_is_replaced(client, request_log, bad):
    # Straight into the WSGI environ: the test client would refuse a header with a newline.
    resp = client.get("/login", environ_overrides={"HTTP_X_REQUEST_ID": bad})
    given = resp.headers["X-Request-ID"]
    assert given != bad and len(given) == 32 and given.isalnum()
    assert bad not in request_records(request_log)[-1].getMessage()


def test_the_handler_writes_to_the_stderr_of_the_moment(client, request_log, capsys):
    client.get("/login")
    assert "GET /login 200" in capsys.readouterr().err
