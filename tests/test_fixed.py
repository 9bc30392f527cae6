"""Fragments kept per worker (web.fixed): each page is the page drawn without keeping, for every role and language.

The navigation, the bell, the emergency bar, the head's links and the footer's
links are drawn once per role, count and language. A kept fragment that read
anything else (the person, the request) would show someone else's on the next
page: every page each role reaches is drawn with the fragments kept (twice:
drawn, then from what was kept) and without, and must be the same.
"""
from __future__ import annotations

import re

import pytest

from zaloan.extensions import db

from .conftest import PHONES
from .helpers import U
from .test_budgets import reachable_pages

ROLES = [r for r in PHONES if r not in ("officer2", "informant2", "verifier2")]


def masked(html: str) -> str:
    """A page without its form tokens, which change every second, and its forms' one-time keys."""
    return re.sub(r'(csrf_token" value="|"X-CSRFToken": "|client_key" type="hidden" value=")[^"]+', r"\1-", html)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_with_kept_fragments_is_the_page_drawn_without(app, login_as, role):
    c = login_as(role)
    for lang in ("vi", "en"):
        if lang == "en":
            c.post("/language", data={"lang": "en", "next": "/"})
        urls = list(reachable_pages(c, "/", limit=25))
        assert len(urls) > 2
        for url in urls:
            c.get(url)  # a first reading may change what the page shows (a tip opened for the first time)
            drawn = []
            for keep in (False, True, True):
                app.config["FIXED_FRAGMENTS"] = keep
                r = c.get(url)
                drawn.append((r.status_code, masked(r.get_data(as_text=True))))
            assert drawn[0] == drawn[1] == drawn[2], f"{role} {lang} {url}"
        app.config["FIXED_FRAGMENTS"] = True
    assert app.extensions["zaloan.fixed"], "nothing was kept"


def test_the_kept_navigation_follows_the_language_and_the_counts(app, login_as):
    from .test_emergency import new_tip

    officer = login_as("officer")
    vi = officer.get("/officer/").get_data(as_text=True)
    assert "Tin cần xử lý" in vi and 'lang="vi"' in vi
    officer.post("/language", data={"lang": "en", "next": "/"})
    en = officer.get("/officer/").get_data(as_text=True)
    assert "Tips to handle" in en and "Tin cần xử lý" not in en
    officer.post("/language", data={"lang": "vi", "next": "/"})
    # A new emergency: the bar under the navigation counts it on the next page, the bell its notice.
    before = re.search(r'<div id="alarm">(.*?)</div>', officer.get("/officer/").get_data(as_text=True), re.S).group(1)
    bell_before = re.search(r'<span id="bell".*?</span></a></span>', officer.get("/officer/").get_data(as_text=True))
    new_tip(app)
    page = officer.get("/officer/").get_data(as_text=True)
    after = re.search(r'<div id="alarm">(.*?)</div>', page, re.S).group(1)
    assert after != before and "🚨" in after
    with app.app_context():
        from zaloan.notify import unread_count

        n = unread_count(U("officer"))
        db.session.rollback()
    bell = re.search(r'<span id="bell".*?</span></a></span>', page).group(0)
    assert (f"<b>{n}</b>" in bell) if n else ("<b>" not in bell)
    assert bell_before is not None


def test_two_roles_get_their_own_navigation_from_one_worker(app, login_as):
    """The commander's navigation and the officer's are kept side by side, each under its role."""
    officer, commander = login_as("officer"), login_as("commander")
    for _ in range(2):
        o = officer.get("/officer/").get_data(as_text=True)
        c = commander.get("/officer/").get_data(as_text=True)
        o_nav = re.search(r'<nav class="nav">.*?</nav>', o, re.S).group(0)
        c_nav = re.search(r'<nav class="nav">.*?</nav>', c, re.S).group(0)
        assert "Tin cần xử lý" in o_nav and "Tin cần xử lý" not in c_nav and "Địa bàn" in c_nav
