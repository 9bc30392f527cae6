"""An unchanged poll answered before the app builds a request (zaloan.unchanged) answers as the app would.

Each case asks the same address twice, once with the early answer on and once
with every request going through the app, and compares status, headers and
body. The early answer must be given for the plain unchanged poll (that is
its point) and never when anything differs: a stale version, a session ended
in any way, an account the app would stop, another host.
"""
from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from flask import request_started
from sqlalchemy import select, update

from zaloan.extensions import db
from zaloan.models import CommuneSettings, User, UserSession, utcnow

from .conftest import PHONES, make_app
from .helpers import U


def poll_of(client, query: str = "") -> str:
    page = client.get("/officer/" + query).get_data(as_text=True)
    return html.unescape(re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', page).group(1))


def both(app, client, url, **kw):
    """Ask `url` with the early answer on, then through the app: (early, through the app, answered early)."""
    through = []

    def note(_sender, **_extra):
        through.append(1)

    request_started.connect(note, app)
    try:
        app.config["UNCHANGED_EARLY"] = True
        early = client.get(url, **kw)
        answered_early = not through
        app.config["UNCHANGED_EARLY"] = False
        full = client.get(url, **kw)
        assert through, "with UNCHANGED_EARLY off every request goes through the app"
    finally:
        request_started.disconnect(note, app)
        app.config["UNCHANGED_EARLY"] = True
    return early, full, answered_early


def same(early, full) -> None:
    """The same answer: every header but the request's id, and the same body."""
    def shown(r):
        return sorted((k, v) for k, v in r.headers.items() if k != "X-Request-ID")

    assert (early.status_code, shown(early), early.data) == (full.status_code, shown(full), full.data)
    assert re.fullmatch(r"[0-9a-f]{32}", early.headers["X-Request-ID"])


def same_way(early, full) -> None:
    """Two answers of the app to the same request: the same status, and the same place to go."""
    for r in (early, full):
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])
    assert (early.status_code, early.headers.get("Location"), early.headers.get("HX-Redirect")) \
        == (full.status_code, full.headers.get("Location"), full.headers.get("HX-Redirect"))


def sessions_of(app, who: str):
    with app.app_context():
        return UserSession.user_id == U(who).id


def change_sessions(app, who: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.user_id == U(who).id).values(**values))
        db.session.commit()


def test_an_unchanged_poll_is_answered_early_as_the_app_answers_it(app, login_as):
    officer = login_as("officer")
    url = poll_of(officer)
    early, full, answered_early = both(app, officer, url, headers={"HX-Request": "true"})
    assert answered_early and early.status_code == 204
    same(early, full)
    # With filters, a page cursor and the commander's own queue as well.
    for who, query in (("officer", "?status=all&urgency=4"), ("commander", "?unread=1")):
        c = login_as(who)
        early, full, answered_early = both(app, c, poll_of(c, query))
        assert answered_early and early.status_code == 204
        same(early, full)


def test_the_early_answer_sends_one_statement_and_logs_its_line(app, login_as, caplog):
    from .test_queue_cache import counted

    officer = login_as("officer")
    url = poll_of(officer)
    caplog.set_level(logging.INFO, logger="zaloan.request")
    with counted(app) as statements:
        r = officer.get(url, headers={"X-Request-ID": "poll-0001-abcd"})
    assert r.status_code == 204 and r.headers["X-Request-ID"] == "poll-0001-abcd"
    sent = [s for s in statements if s.split()[0] not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(sent) == 1 and "commune_clocks" in sent[0]
    [line] = [rec.getMessage() for rec in caplog.records
              if rec.name == "zaloan.request" and "/queue/poll" in rec.getMessage()]
    assert re.fullmatch(r"request poll-0001-abcd GET /officer/queue/poll 204 [0-9.]+ms", line)


def test_a_changed_queue_or_a_wrong_version_goes_to_the_app(app, login_as):
    from .test_queue_cache import new_tip

    officer = login_as("officer")
    url = poll_of(officer)
    for asked in (url.replace("v=", "v=0"), "/officer/queue/poll", url + "&status=all"):
        early, full, answered_early = both(app, officer, asked)
        assert not answered_early and early.status_code == 200
        same_way(early, full)
    new_tip(app)
    early, full, answered_early = both(app, officer, url)
    assert not answered_early and early.status_code == 200 and b"queue" in early.data


@pytest.mark.parametrize("ended", ["revoked", "expired", "disabled", "another account"])
def test_a_session_that_no_longer_holds_goes_to_the_app(app, login_as, ended):
    officer = login_as("officer")
    url = poll_of(officer)
    now = utcnow()
    if ended == "revoked":
        change_sessions(app, "officer", revoked_at=now)
    elif ended == "expired":
        change_sessions(app, "officer", expires_at=now - timedelta(seconds=1))
    elif ended == "disabled":
        with app.app_context():
            db.session.execute(update(User).where(User.id == U("officer").id).values(active=False))
            db.session.commit()
    else:  # the cookie's session belongs to someone else than the account it names
        with app.app_context():
            db.session.execute(update(UserSession).where(UserSession.user_id == U("officer").id)
                               .values(user_id=U("officer2").id))
            db.session.commit()
    early, full, answered_early = both(app, officer, url, headers={"HX-Request": "true"})
    assert not answered_early and early.status_code == 401 and "/login" in early.headers["HX-Redirect"]
    same_way(early, full)


def test_a_session_ended_by_a_takeover_is_told_by_the_app(app, login_as):
    officer = login_as("officer")
    url = poll_of(officer)
    change_sessions(app, "officer", revoked_at=utcnow(), revoked_reason="takeover")
    app.config["UNCHANGED_EARLY"] = True
    assert officer.get(url).status_code == 302  # the app dropped the session, to tell the browser why
    login = officer.get("/login").get_data(as_text=True)
    assert "logged out on this phone" in login or "đăng xuất" in login


def test_a_session_seen_long_ago_is_refreshed_by_the_app(app, login_as):
    officer = login_as("officer")
    url = poll_of(officer)
    old = utcnow() - timedelta(hours=1)
    change_sessions(app, "officer", last_seen_at=old)
    through = []
    request_started.connect(lambda *_a, **_k: through.append(1), app, weak=False)
    assert officer.get(url).status_code == 204 and through  # through the app, which writes the time
    with app.app_context():
        seen = db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == U("officer").id,
                                                                        UserSession.revoked_at.is_(None)))
    assert seen > old + timedelta(minutes=30)
    through.clear()
    assert officer.get(url).status_code == 204 and not through  # and now early again


def test_an_officer_who_must_set_up_two_step_login_is_sent_there(app, login_as):
    officer = login_as("officer")
    url = poll_of(officer)
    with app.app_context():
        CommuneSettings.of(U("officer").commune_id).require_two_step = True
        db.session.commit()
    early, full, answered_early = both(app, officer, url, headers={"HX-Request": "true"})
    assert not answered_early and early.status_code == 204 and "/two-step" in early.headers["HX-Redirect"]
    same_way(early, full)


@pytest.mark.parametrize("who", ["verifier", "informant", "observer"])
def test_no_other_role_is_answered_early(app, login_as, who):
    """Even with the version its own queue would have, were it allowed one, another role gets the app's 404."""
    from zaloan.models import CommuneClock
    from zaloan.officer.views import filters, queue_fingerprint

    other = login_as(who)
    with app.app_context():
        person = U(who)
        clock = db.session.scalar(select(CommuneClock.version).where(CommuneClock.commune_id == person.commune_id))
        url = "/officer/queue/poll?v=" + queue_fingerprint(clock or 0, person.commune_id, person.id, person.role,
                                                           filters({}))
    early, full, answered_early = both(app, other, url)
    assert not answered_early and early.status_code == 404
    same_way(early, full)


def test_a_bad_cookie_or_a_post_goes_to_the_app(app, login_as):
    officer = login_as("officer")
    url = poll_of(officer)
    stranger = app.test_client()
    stranger.set_cookie("zaloan_session", officer.get_cookie("zaloan_session").value[:-2] + "xx")
    early, full, answered_early = both(app, stranger, url)
    assert not answered_early and early.status_code == 302
    same_way(early, full)
    assert officer.post(url).status_code in (400, 405)


def test_a_database_error_leaves_the_answer_to_the_app(app, login_as, monkeypatch):
    from sqlalchemy import text

    from zaloan import accounts

    officer = login_as("officer")
    url = poll_of(officer)
    monkeypatch.setattr(accounts, "SESSION_FACTS", select(text("no_such_column")))
    early, full, answered_early = both(app, officer, url)
    assert not answered_early and early.status_code == 204
    same_way(early, full)


def test_over_https_through_the_proxy_the_early_answer_carries_hsts(tmp_path, database_url):
    base = "https://zaloan.example.vn"
    app = make_app(tmp_path, database_url, BASE_URL=base, PROXY_HOPS=1)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    c = app.test_client()
    assert c.post("/login", base_url="http://zaloan.example.vn", headers=https,
                  data={"phone": PHONES["officer"], "password": "demo-1234"}).status_code == 302
    page = c.get("/officer/", base_url="http://zaloan.example.vn", headers=https).get_data(as_text=True)
    url = html.unescape(re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', page).group(1))
    early, full, answered_early = both(app, c, url, base_url="http://zaloan.example.vn", headers=https)
    assert answered_early and early.headers["Strict-Transport-Security"] == "max-age=31536000"
    same(early, full)
    # Another host than the app's is refused by the app, as any other page for it.
    early, full, answered_early = both(app, c, url, base_url="http://zaloan.example.vn",
                                       headers={**https, "Host": "evil.example"})
    assert not answered_early and early.status_code == 400
    same_way(early, full)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_early_answer_knows_every_hook_it_stands_in_for(app):
    """The hooks a request goes through before the poll's view, each weighed in zaloan.unchanged: the Host,
    the cookie and its session, reading without a transaction, the rules' reminder (not on a poll), the access
    rule, two-step login, the idle lock (disguised accounts only). A new one must be weighed there too."""
    hooks = {key: [f"{f.__module__}.{f.__name__}" for f in funcs] for key, funcs in app.before_request_funcs.items()}
    assert hooks == {None: [
        "zaloan.ops.start_request", "zaloan.ops.health_first", "zaloan.web.refuse_unknown_host",
        "flask_wtf.csrf.csrf_protect", "zaloan.db_setup.begin_reads_only",
        "zaloan.charter.views.ask_after_a_new_version", "zaloan.permissions.enforce_access",
        "zaloan.twofactor.enforce", "zaloan.safety.lock.enforce",
    ]}, "a new before_request hook: say in zaloan/unchanged.py whether an unchanged poll must pass it"
    assert not app.url_value_preprocessors
