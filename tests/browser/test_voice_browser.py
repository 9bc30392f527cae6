"""A voice tip on a phone: record in the page (Chromium's fake microphone), hear it back, send it; the officer plays it.

With ZALOAN_DOCS_SCREENSHOTS=1 (or when missing) the recorder is kept in docs/screenshots/ for the README.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Tip, VoiceNote

from ..conftest import PHONES
from .checks import check_page, watch
from .phone import CHROMIUM, CHROMIUM_ARGS, login, new_phone, sent

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A microphone that plays a beep, asked for without a prompt; a player that may start without a tap.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"),
                                reason="ffmpeg is not installed (Debian package ffmpeg; scripts/test.sh installs it)")


@pytest.fixture(scope="module")
def media_browser(browser):
    """A Chromium of its own with the fake microphone (the shared one has no media flags)."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield chromium
    chromium.close()


def open_phone(media_browser, live_server, who: str):
    page = watch(new_phone(media_browser, live_server))
    page.context.grant_permissions(["microphone"])
    login(page, PHONES[who])
    return page


def keep(page, name: str) -> None:
    target = DOCS / f"{name}.png"
    if target.exists() and os.environ.get("ZALOAN_DOCS_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))


def test_record_hear_and_send_a_voice_tip_then_the_officer_plays_it(app, media_browser, live_server):
    page = open_phone(media_browser, live_server, "informant")
    page.goto("/informant/tips/new")
    page.locator("fieldset.choices label.choice").first.click()  # the type of incident
    box = page.locator("[data-voice]")
    box.scroll_into_view_if_needed()
    speak = box.get_by_role("button", name="Bấm để nói")
    assert speak.bounding_box()["height"] >= 48
    speak.click()
    stop = box.get_by_role("button", name="Dừng")
    stop.wait_for()
    page.wait_for_function("() => /^0:0[2-9] \\/ 2:00$/.test(document.querySelector('.rec-time').textContent)")
    keep(page, "voice-recording")
    stop.click()
    # Heard back on the phone, sent on its own, and its id waits in the form.
    box.locator("text=Đã tải lên").wait_for()
    assert box.locator("audio").is_visible()
    assert page.locator("input[name=voice_ids]").count() == 1
    assert page.evaluate("() => document.querySelector('[data-voice] audio').src.startsWith('blob:')")
    check_page(page, "voice-recorded")
    keep(page, "voice-recorded")
    sent(page, page.locator("form button.btn.main").click, "/informant/tips/new")
    page.locator("text=Đã gửi").first.wait_for()
    with app.app_context():
        tip = db.session.scalar(select(Tip).order_by(Tip.id.desc()))
        note = db.session.scalar(select(VoiceNote).where(VoiceNote.tip_id == tip.id))
        assert note is not None and 1500 < note.duration_ms < 10_000
        tip_id, note_id = tip.id, note.id

    officer = open_phone(media_browser, live_server, "officer")
    officer.goto(f"/officer/tips/{tip_id}")
    player = officer.locator(f"#voice-{note_id} audio")
    player.scroll_into_view_if_needed()
    with officer.expect_response(lambda r: r.url.endswith(f"/voices/{note_id}")) as answer:
        player.evaluate("a => a.play()")
    resp = answer.value
    assert resp.headers["content-type"] == "audio/ogg" and resp.headers["cache-control"].startswith("private")
    officer.wait_for_function(f"() => document.querySelector('#voice-{note_id} audio').currentTime > 0.3")
    check_page(officer, "voice-officer")
    page.context.close()
    officer.context.close()
