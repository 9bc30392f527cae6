"""The tip's private thread on a phone: answers go once, and the box is empty after each."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import Message, Tip, User

from .checks import check_page
from .test_flow_browser import photo, submit  # noqa: F401 (photo is a fixture)


def tip_with_a_question(app) -> int:
    """Return the demo tip of informant 0900000011 whose thread has the officer's question."""
    with app.app_context():
        binh = db.session.scalar(select(User).where(User.phone == "+84900000011"))
        tip = db.session.scalar(
            select(Tip).join(Message).where(Tip.informant_id == binh.informant.id, Message.from_police.is_(True))
        )
        return tip.id


def answers(app, tip_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(Message.body).where(Message.tip_id == tip_id, Message.from_police.is_(False)).order_by(Message.id)
        ))


def test_two_answers_in_a_row_are_two_messages(app, phone):
    tip_id = tip_with_a_question(app)
    before = answers(app, tip_id)
    page = phone("informant2")
    page.goto(f"/informant/tips/{tip_id}")
    check_page(page, "informant-thread")
    for text in ("Lúc đó khoảng 9 giờ tối.", "Tôi nhớ thêm: xe không có gương."):
        form = page.locator("#thread form")
        form.locator("textarea[name=body]").fill(text)
        submit(page, form)
        page.wait_for_selector(f"text={text}")
        # The answer went: the box is empty again, with a new key, even after a reload.
        assert page.locator("#thread textarea[name=body]").input_value() == ""
        page.reload()
        page.wait_for_load_state("networkidle")
        assert page.locator("#thread textarea[name=body]").input_value() == ""
    assert answers(app, tip_id) == before + ["Lúc đó khoảng 9 giờ tối.", "Tôi nhớ thêm: xe không có gương."]


def lose_the_answer(page, path):
    """Let the next POST to `path` reach the server, but drop its answer on the way back (a weak signal)."""

    def handle(route):
        route.fetch()  # the server receives and saves it
        route.abort("connectionreset")

    page.route(f"**{path}", handle)


def test_an_answer_whose_reply_was_lost_is_not_offered_again(app, phone):
    """After a reload the draft of a message that did arrive is dropped, instead of being refused forever."""
    tip_id = tip_with_a_question(app)
    before = answers(app, tip_id)
    page = phone("informant2")
    page.goto(f"/informant/tips/{tip_id}")
    page.wait_for_load_state("networkidle")
    form = page.locator("#thread form")
    form.locator("textarea[name=body]").fill("Trả lời khi sóng yếu.")
    lose_the_answer(page, f"/informant/tips/{tip_id}/messages")
    form.locator("button.btn.main").click()
    page.wait_for_selector("text=Chưa gửi được — thử lại")
    page.unroute(f"**/informant/tips/{tip_id}/messages")
    assert answers(app, tip_id) == before + ["Trả lời khi sóng yếu."]
    page.reload()
    page.wait_for_load_state("networkidle")
    assert "Trả lời khi sóng yếu." in page.locator("#thread ol").inner_text()
    assert page.locator("#thread textarea[name=body]").input_value() == ""
    # Something new goes as a new message, not refused as a changed copy of the first.
    form = page.locator("#thread form")
    form.locator("textarea[name=body]").fill("Thêm một ý nữa.")
    submit(page, form)
    assert answers(app, tip_id) == before + ["Trả lời khi sóng yếu.", "Thêm một ý nữa."]


def test_a_tip_whose_reply_was_lost_is_not_offered_again(app, phone):
    page = phone("informant")
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill("Tin gửi đi nhưng không nhận được trả lời.")
    key = form.locator("input[name=client_key]").input_value()
    lose_the_answer(page, "/informant/tips/new")
    form.locator("button.btn.main").click()
    page.wait_for_selector("text=Chưa gửi được — thử lại")
    page.unroute("**/informant/tips/new")
    with app.app_context():
        assert db.session.scalar(select(Tip.body).where(Tip.client_key == key)) == "Tin gửi đi nhưng không nhận được trả lời."
    page.reload()
    page.wait_for_load_state("networkidle")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    assert form.locator("textarea[name=body]").input_value() == ""
    assert form.locator("input[name=client_key]").input_value() != key


def test_a_refused_send_brings_its_reason_into_view(app, phone):
    """The form is long on a phone: after a refused send the first error is on screen, not above it."""
    from playwright.sync_api import expect

    from .phone import sent

    page = phone("informant")
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    button = form.locator("button.btn.main")
    button.scroll_into_view_if_needed()
    sent(page, button.click, "/informant/tips/new")
    error = page.locator(".err[role=alert]").first
    expect(error).to_be_in_viewport()
    assert error.inner_text().strip()
    check_page(page, "informant-tip-refused")


@pytest.mark.parametrize("js", [True, False], ids=["htmx", "no-js"])
def test_an_anonymous_sender_answers_with_a_photo(app, phone, photo, js):
    """Without an account: send a tip, open it from the receipt, answer with a photo, see it in the thread."""
    from .phone import sent

    page = phone(java_script_enabled=js)
    page.goto("/report/")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill("Có người lạ hỏi đường vào xóm.")
    sent(page, form.locator("button.btn.main").click, "/report/")
    sent(page, page.get_by_role("link", name="Xem tin của tôi").click)
    if js:
        check_page(page, "anonymous-status")
    thread = page.locator("#thread form")
    thread.locator("textarea[name=body]").fill("Ảnh người đó đây.")
    thread.locator("input[name=photos]").set_input_files(str(photo))
    sent(page, thread.locator("button.btn.main").click)
    img = page.locator("#thread ol img.thumb").first
    assert "/photos/" in img.get_attribute("src") and "/report/status/" in img.get_attribute("src")
    if js:
        img.scroll_into_view_if_needed()
        page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle())
        check_page(page, "anonymous-answered")
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.body == "Ảnh người đó đây."))
        assert len(msg.attachments) == 1 and msg.attachments[0].uploader_id is None


def test_an_anonymous_photo_is_shrunk_on_the_phone_before_it_goes(app, phone, tmp_path):
    """No account, so no upload one by one: the form's own photo is made small in place, then sent."""
    import io
    import random

    from PIL import Image

    from .phone import sent

    rng = random.Random(3)
    img = Image.new("RGB", (80, 60))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(80 * 60)])
    big = tmp_path / "may-anh.jpg"
    buf = io.BytesIO()
    img.resize((4000, 3000)).save(buf, "JPEG", quality=95)
    big.write_bytes(buf.getvalue())
    page = phone()
    page.goto("/report/")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=category_id]").first.check()
    form.locator("textarea[name=body]").fill("Ảnh chụp từ xa.")
    form.locator("input[name=photos]").set_input_files(str(big))
    sizes = []  # what reached the server: the browser does not hand a file body to the test
    inner = app.wsgi_app

    def measure(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/report/":
            sizes.append(int(environ.get("CONTENT_LENGTH") or 0))
        return inner(environ, start_response)

    app.wsgi_app = measure
    try:
        sent(page, form.locator("button.btn.main").click, "/report/")
    finally:
        app.wsgi_app = inner
    assert len(sizes) == 1 and sizes[0] < big.stat().st_size / 3, (sizes, big.stat().st_size)
    assert page.locator("span.code").count() == 2  # the receipt: the tip went, with its photo
    with app.app_context():
        tip = db.session.scalar(select(Tip).where(Tip.body == "Ảnh chụp từ xa."))
        assert len(tip.attachments) == 1 and max(tip.attachments[0].width, tip.attachments[0].height) == 1600
