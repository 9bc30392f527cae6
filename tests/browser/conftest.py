"""Browser fixtures: the system Chromium as a 360x640 phone, against the app served on loopback.

Without Chromium the browser tests skip and say why; with CI=true a missing
browser fails them instead.
"""
from __future__ import annotations

import os

import pytest

from ..conftest import PHONES
from .checks import watch
from .phone import launch, login, missing_browser, new_phone, serve


# On PostgreSQL (the second run, with CI=true) the browser drives the flows whose server side differs most
# between the engines: a tip from end to end, two communes, photos and faults, the conversation, the figures of
# the reports and the review, commendations, emergencies. The other browser tests check pages (layout,
# script, accessibility) that are the same whatever the engine; they run on SQLite, and every server path
# behind them runs on both engines in the rest of the suite.
ON_POSTGRES = {"test_flow_browser", "test_province_browser", "test_photos_browser", "test_faults_browser",
               "test_channel_browser", "test_reports_browser", "test_review_browser",
               "test_commendations_browser", "test_emergency_browser"}


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("ZALOAN_TEST_DATABASE_URL"):
        return
    here = os.path.dirname(__file__)
    left = [item for item in items if os.path.dirname(str(item.path)) == here
            and item.path.stem not in ON_POSTGRES]
    if left:
        config.hook.pytest_deselected(items=left)
        gone = {id(item) for item in left}
        items[:] = [item for item in items if id(item) not in gone]


@pytest.fixture(scope="session")
def browser():
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the browser tests to run, but there is {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def app_config():
    """The browser sees the app as in production: CSRF tokens on."""
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app):
    """The app on a fresh demo database, served over HTTP on 127.0.0.1; its base URL."""
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def phone(browser, live_server):
    """Return a function that opens a new phone (its own cookies), logged in as `who` when given.

    `who` is a name in PHONES or a phone number; options go to the browser
    context (e.g. java_script_enabled=False).
    """
    opened = []

    def _phone(who: str | None = None, **options):
        page = watch(new_phone(browser, live_server, **options))
        opened.append(page.context)
        if who:
            login(page, PHONES.get(who, who))
        return page

    yield _phone
    for context in opened:
        context.close()
