"""Photos on a phone: the page shows thumbnails, a tap opens the whole photo, a second visit reuses them."""
from __future__ import annotations

import time
from contextlib import contextmanager

import pytest

from ..camera import add_tip_with_photos

SHOWN = "() => Array.from(document.querySelectorAll('img.thumb')).every(i => i.complete && i.naturalWidth > 0)"


def wait_for_thumbnails(page) -> None:
    deadline = time.monotonic() + 20
    while not page.evaluate(SHOWN):
        assert time.monotonic() < deadline, "thumbnails not shown"
        page.wait_for_timeout(50)


@contextmanager
def requests_seen(app):
    """Yield the list of paths the live server is asked for while the block runs."""
    asked, inner = [], app.wsgi_app

    def counting(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = counting
    try:
        yield asked
    finally:
        app.wsgi_app = inner


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_a_tap_on_a_thumbnail_opens_the_whole_photo(app, phone, js):
    with app.app_context():
        tip = add_tip_with_photos(seeds=(1,))
    page = phone("officer", java_script_enabled=js)
    page.goto(f"/officer/tips/{tip['tip']}")
    link = page.locator("a.ph").first
    link.scroll_into_view_if_needed()
    wait_for_thumbnails(page)
    assert link.locator("img.thumb").evaluate("i => i.naturalWidth") == 320
    box = link.bounding_box()
    assert box["width"] >= 48 and box["height"] >= 48
    with page.expect_navigation():
        link.click()
    # The photo itself, as a page of its own (htmx must not fetch it and swap it into the page).
    assert f"/photos/{tip['photos'][0]}?v=" in page.url
    assert page.evaluate("() => document.images[0].naturalWidth") == 1600


def test_a_second_visit_takes_the_thumbnails_from_the_browser(app, phone):
    with app.app_context():
        tip = add_tip_with_photos(seeds=(1, 2))
    tip_url = f"/officer/tips/{tip['tip']}"
    page = phone("officer")
    with requests_seen(app) as asked:
        visits = []
        for where in (tip_url, "/officer/", tip_url):
            asked.clear()
            page.goto(where)
            if where == tip_url:
                wait_for_thumbnails(page)
                visits.append([p for p in asked if p.endswith("/thumb")])
    assert len(visits[0]) == 2
    assert tip_url in asked  # the page itself is asked for again: never kept
    assert visits[1] == [], f"thumbnails asked for again: {visits[1]}"


@pytest.mark.parametrize("log_out", [True, False], ids=["logged-out", "still-in"])
def test_after_logging_out_the_browser_keeps_no_photo(app, phone, log_out):
    """Logging out empties the browser's cache: the next person's tab asks the server (which checks) again.

    Without logging out the photo comes from the cache, which shows the
    check is real. The tab is closed in between as a phone passed on would:
    an open tab may still hold in memory the images it has shown.
    """
    from ..conftest import PHONES
    from .phone import login

    with app.app_context():
        tip = add_tip_with_photos(seeds=(1,))
    tip_url = f"/officer/tips/{tip['tip']}"
    page = phone("officer")
    with requests_seen(app) as asked:
        page.goto(tip_url)
        wait_for_thumbnails(page)
        page.goto("/officer/")  # back to the queue (the kept copy is written by now)
        if log_out:
            with page.expect_navigation():
                page.get_by_role("button", name="Đăng xuất").click()  # Clear-Site-Data: "cache"
        context = page.context
        page.close()
        page = context.new_page()
        if log_out:
            login(page, PHONES["officer"])
        asked.clear()
        page.goto(tip_url)
        wait_for_thumbnails(page)
    thumbs = [p for p in asked if p.endswith("/thumb")]
    assert thumbs == ([f"/photos/{tip['photos'][0]}/thumb"] if log_out else [])
