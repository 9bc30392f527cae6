"""Words and screens on a phone: the village narrows the places, lists stay readable at 16 px and more."""
from __future__ import annotations

import re

from .checks import check_page, screenshot, small_text


def place_names(page) -> list[str]:
    return page.eval_on_selector_all("#watch_point_id option", "els => els.map(e => e.textContent.trim())")


def test_choosing_a_village_narrows_the_places(phone):
    page = phone("informant2")
    page.goto("/informant/tips/new")
    assert "Chợ Tân Thành" in place_names(page) and "Ngã tư Trung Tâm" in place_names(page)
    with page.expect_response(lambda r: "/tips/new/places" in r.url):
        page.select_option("#village_id", label="Thôn Trung Tâm")
    page.wait_for_function("() => !document.querySelector('#watch_point_id').textContent.includes('Chợ Tân Thành')")
    names = place_names(page)
    assert "Ngã tư Trung Tâm" in names and "Chợ Tân Thành" not in names
    check_page(page, "tip-form-village-chosen")
    # Back to "not sure": every village's places again.
    with page.expect_response(lambda r: "/tips/new/places" in r.url):
        page.select_option("#village_id", index=0)
    page.wait_for_function("() => document.querySelector('#watch_point_id').textContent.includes('Chợ Tân Thành')")


def test_the_anonymous_form_narrows_too(phone):
    page = phone()
    page.goto("/report/")
    with page.expect_response(lambda r: "/report/places" in r.url):
        page.select_option("#village_id", label="Thôn Đồng Bé")
    page.wait_for_function("() => !document.querySelector('#watch_point_id').textContent.includes('Ngã tư Trung Tâm')")
    assert "Chợ Tân Thành" in place_names(page)


def test_without_javascript_the_places_are_grouped_by_village(phone):
    page = phone(java_script_enabled=False)
    page.goto("/report/")
    groups = re.findall(r'<optgroup label="([^"]+)">', page.content())
    assert "Thôn Đồng Bé" in groups and "Thôn Trung Tâm" in groups
    screenshot(page, "report-no-js")  # the checks run scripts: not here


def test_lists_keep_every_text_at_16_px_or_more(phone):
    officer = phone("officer")
    for path, name in (("/officer/", "queue"), ("/people/", "people-officer")):
        officer.goto(path)
        assert not small_text(officer), name
        check_page(officer, f"words-{name}")
    commander = phone("commander")
    commander.goto("/audit/")
    assert "đã đăng nhập." in commander.inner_text("main")
    check_page(commander, "words-audit-log")
