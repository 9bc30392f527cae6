"""In a phone's browser: one's own logins, and logging out another phone from this one."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .checks import check_page, screenshot
from .phone import sent

DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def path_of(page) -> str:
    return urlsplit(page.url).path


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_two_logins_are_listed_and_one_logs_the_other_out(phone, js):
    here = phone("commander", java_script_enabled=js)
    other = phone("commander", user_agent=DESKTOP)
    assert path_of(other) == "/commander/"

    def go(act):
        if js:
            sent(here, act)
        else:  # no script runs on this page, the tests' own included
            with here.expect_navigation():
                act()

    go(here.get_by_role("link", name="Phiên đăng nhập của tôi").click)
    assert path_of(here) == "/sessions"
    devices = here.locator("ul.devices > li")
    assert devices.count() == 2
    assert "Máy này" in devices.nth(0).inner_text()
    assert "Firefox trên Windows" in devices.nth(1).inner_text()
    if js:
        check_page(here, "sessions")
        assert here.evaluate("() => document.documentElement.scrollWidth") <= 360
    else:
        screenshot(here, "sessions-no-js")  # the checks run scripts: not here

    go(devices.nth(1).get_by_role("button", name="Đăng xuất máy đó").click)
    # With htmx the answer is a 204 that sends the page on to the list (HX-Location): wait for it.
    expect(here.get_by_role("status").filter(has_text="Đã đăng xuất máy đó")).to_be_visible()
    assert path_of(here) == "/sessions"
    expect(here.locator("ul.devices > li")).to_have_count(1)
    assert "Firefox" not in here.locator("ul.devices").inner_text()

    # The other browser is sent to the login page at its next step.
    other.goto("/commander/")
    assert path_of(other) == "/login"
    # This one is still logged in.
    here.goto("/commander/")
    assert path_of(here) == "/commander/"
