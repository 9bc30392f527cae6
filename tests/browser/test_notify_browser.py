"""On a 360x640 phone: the unread count in the header, the notification list, the settings page, the commander's
undelivered messages."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from zaloan.extensions import db

from ..test_notify import send_tip
from .checks import check_page, screenshot, watch
from .phone import sent


def path_of(page) -> str:
    return urlsplit(page.url).path


def bell(page) -> int:
    text = page.locator("#bell a").inner_text()
    found = re.search(r"\d+", text)
    return int(found.group(0)) if found else 0


def new_tip(app, body="Có người lạ hỏi mua xe máy cũ ở chợ."):
    with app.app_context():
        tip = send_tip(body=body)
        db.session.commit()
        return tip.id


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_bell_counts_and_the_list_opens_and_reads(app, phone, js):
    officer = phone("officer", java_script_enabled=js)
    start = bell(officer)
    tip_id = new_tip(app, body="Ông Lý Văn Thắng bán hàng cấm ở chợ.")
    officer.goto("/officer/")
    assert bell(officer) == start + 1
    expect(officer.locator("#bell a")).to_have_attribute("href", "/notifications/")

    def go(act):
        if js:
            sent(officer, act)
        else:
            with officer.expect_navigation():
                act()

    go(officer.locator("#bell a").click)
    assert path_of(officer) == "/notifications/"
    first = officer.locator("ul.notes > li").first
    expect(first).to_contain_text("Có tin báo mới cần xử lý")
    assert "Thắng" not in officer.content()
    if js:
        check_page(officer, "notifications")
        assert officer.evaluate("() => document.documentElement.scrollWidth") <= 360
    else:
        screenshot(officer, "notifications-no-js")
    go(first.get_by_role("button").click)
    officer.wait_for_url(f"**/officer/tips/{tip_id}")
    assert bell(officer) == start

    go(officer.locator("#bell a").click)
    if start:
        go(officer.get_by_role("button", name="Đánh dấu đã xem tất cả").click)
        expect(officer.get_by_role("status").filter(has_text="Đã đánh dấu đã xem")).to_be_visible()
    assert bell(officer) == 0
    expect(officer.locator("ul.notes .tag")).to_have_count(0)


def test_the_count_comes_by_itself_when_something_new_arrives(app, phone):
    officer = phone("officer")
    start = bell(officer)
    new_tip(app)
    # The header asks every minute; the test asks now, as that timer would.
    with officer.expect_response(lambda r: "/notifications/count" in r.url) as answer:
        officer.evaluate("() => htmx.ajax('GET', document.querySelector('#bell').getAttribute('hx-get'),"
                         " {target: '#bell', swap: 'outerHTML'})")
    assert answer.value.status == 200
    expect(officer.locator("#bell a b")).to_have_text(str(start + 1))
    # Asked again with the count now shown: nothing to send.
    with officer.expect_response(lambda r: "/notifications/count" in r.url) as again:
        officer.evaluate("() => htmx.ajax('GET', document.querySelector('#bell').getAttribute('hx-get'),"
                         " {target: '#bell', swap: 'outerHTML'})")
    assert again.value.status == 204
    expect(officer.locator("#bell a b")).to_have_text(str(start + 1))


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_settings_page_saves_channels_and_quiet_hours(phone, js):
    informant = phone("informant", java_script_enabled=js)
    informant.goto("/notifications/settings")
    expect(informant.get_by_role("heading", name="Cách báo cho tôi khi có việc mới")).to_be_visible()
    if js:
        check_page(informant, "notify-settings")
        assert informant.evaluate("() => document.documentElement.scrollWidth") <= 360
    else:
        screenshot(informant, "notify-settings-no-js")
    informant.fill("input[name=email]", "khong-phai-email")
    informant.fill("input[name=quiet_from]", "22:00")
    informant.fill("input[name=quiet_to]", "06:00")

    def save():
        if js:
            sent(informant, informant.get_by_role("button", name="Lưu").click)
        else:
            with informant.expect_navigation():
                informant.get_by_role("button", name="Lưu").click()

    save()
    expect(informant.locator(".err")).to_contain_text("Hãy nhập địa chỉ email")
    assert informant.input_value("input[name=quiet_from]") == "22:00"  # what was typed stays
    informant.fill("input[name=email]", "an@example.vn")
    save()
    expect(informant.get_by_role("status").filter(has_text="Đã lưu")).to_be_visible()
    assert informant.input_value("input[name=email]") == "an@example.vn"
    assert informant.input_value("input[name=quiet_to]") == "06:00"


def test_the_commander_reads_the_undelivered_messages(phone):
    commander = phone("commander")
    commander.goto("/notifications/outbox")
    expect(commander.get_by_role("heading", name="Tin báo chưa gửi được")).to_be_visible()
    check_page(commander, "notify-outbox")
    assert commander.evaluate("() => document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_notices_on_this_phone_are_offered_only_with_javascript(app, phone, tmp_path, js):
    from zaloan import outbox

    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid.pem")
    with app.app_context():
        outbox.make_vapid_key(app.config["VAPID_PRIVATE_KEY_FILE"])
    officer = phone("officer", java_script_enabled=js)
    officer.goto("/notifications/settings")
    button = officer.get_by_role("button", name="Bật thông báo trên điện thoại này")
    hint = officer.get_by_text("Muốn bật thông báo, trình duyệt này cần bật JavaScript.")
    if js:
        expect(button).to_be_visible()  # the script ran under the page's CSP and registered its worker
        expect(hint).to_be_hidden()
        assert officer.evaluate("() => navigator.serviceWorker.getRegistrations().then(r => r.length)") == 1
        check_page(officer, "notify-settings-push")
        # Saving brings the whole page back, so the script runs again and the button is still offered.
        with officer.expect_navigation():
            officer.get_by_role("button", name="Lưu").click()
        expect(officer.get_by_role("status").filter(has_text="Đã lưu")).to_be_visible()
        expect(button).to_be_visible()
    else:
        expect(button).to_be_hidden()
        expect(hint).to_be_visible()
        # SMS and email are still chosen and saved without the script.
        with officer.expect_navigation():
            officer.get_by_role("button", name="Lưu").click()
        expect(officer.get_by_role("status").filter(has_text="Đã lưu")).to_be_visible()


# The endpoint of this phone's push subscription, as Chromium keeps it (null when there is none).
SUBSCRIPTION = """() => navigator.serviceWorker.getRegistrations()
    .then(regs => regs[0].pushManager.getSubscription()).then(s => s && s.endpoint)"""


def test_notices_are_turned_on_on_this_phone_with_the_permission_granted(app, browser, live_server, tmp_path,
                                                                         monkeypatch):
    """The officer grants notifications and Chromium's own push client subscribes, with the app's VAPID key,
    through a local push service (tests/browser/push_service.py); the server keeps the subscription, the worker
    sends the notice encrypted to the key Chromium made, and turning notices off removes the subscription."""
    import base64

    import requests

    from zaloan import outbox
    from zaloan.models import OutboxMessage, PushSubscription

    from ..conftest import PHONES
    from .phone import CHROMIUM, CHROMIUM_ARGS, PHONE, login
    from .push_service import push_service

    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid.pem")
    with app.app_context():
        outbox.make_vapid_key(app.config["VAPID_PRIVATE_KEY_FILE"])
    with push_service() as (service, switches):
        # Push needs a profile on disk: Chromium offers no push in the throwaway profiles of new_context().
        context = browser.browser_type.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS + switches,
            base_url=live_server, **PHONE)
        try:
            context.set_default_timeout(15_000)
            context.grant_permissions(["notifications"], origin=live_server)
            officer = watch(context.new_page())
            login(officer, PHONES["officer"])
            officer.goto("/notifications/settings")
            assert officer.evaluate("() => Notification.permission") == "granted"
            officer.get_by_role("button", name="Bật thông báo trên điện thoại này").click()
            off = officer.get_by_role("button", name="Tắt thông báo trên điện thoại này")
            expect(off).to_be_visible()
            vapid = officer.locator("#push").get_attribute("data-vapid-key")
            # Chromium registered with the push service under the app's own VAPID key.
            (registration,) = service.registrations
            assert registration["sender"] == vapid
            assert registration["X-subtype"].startswith("wp:" + live_server)
            with app.app_context():
                (kept,) = db.session.query(PushSubscription).all()
                assert kept.endpoint.startswith("https://") and kept.endpoint.endswith("/local-push-1")
                point = base64.urlsafe_b64decode(kept.p256dh + "=" * (-len(kept.p256dh) % 4))
                assert len(point) == 65 and point[0] == 4  # a P-256 public key Chromium made for this phone
                assert len(base64.urlsafe_b64decode(kept.auth + "=" * (-len(kept.auth) % 4))) == 16
                assert officer.evaluate(SUBSCRIPTION) == kept.endpoint
            expect(officer.locator("#push .push-count")).to_be_hidden()  # "not on for any phone" was drawn before
            screenshot(officer, "notify-push-on")

            # The worker's push goes to that endpoint, encrypted to Chromium's key and signed for its origin.
            posted = []

            def push_service_answers(url, data=None, headers=None, **kwargs):
                posted.append((url, data, headers))
                answer = requests.Response()
                answer.status_code = 201
                return answer

            monkeypatch.setattr(requests, "post", push_service_answers)
            with app.app_context():
                new_tip(app)
                for row in db.session.query(OutboxMessage).all():
                    row.next_attempt_at = datetime(2026, 1, 1)
                db.session.commit()
                assert outbox.run_once(now=datetime(2026, 1, 1)) == {"sent": 1}
            ((url, body, headers),) = posted
            assert url == kept.endpoint and headers["content-encoding"] == "aes128gcm"
            assert f"k={outbox_key(app)}" in headers["authorization"]
            assert "Thắng".encode() not in body and "chợ".encode() not in body

            off.click()
            expect(officer.get_by_role("button", name="Bật thông báo trên điện thoại này")).to_be_visible()
            assert officer.evaluate(SUBSCRIPTION) is None
            with app.app_context():
                assert db.session.query(PushSubscription).count() == 0
        finally:
            context.close()


def outbox_key(app) -> str:
    from zaloan import outbox

    with app.app_context():
        return outbox.vapid_public_key()
