"""A full disk on a phone: a photo that goes up on its own says the server is out of space, and can be sent again."""
from __future__ import annotations

import errno
import os

from zaloan import storage

from .test_flow_browser import photo  # noqa: F401  (fixture)


def test_a_photo_sent_to_a_full_disk_says_so_and_offers_a_retry(app, phone, photo, monkeypatch):  # noqa: F811
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage, "_write", full)
    page = phone("informant")
    page.goto("/informant/tips/new")
    form = page.locator("form[method=post]", has=page.locator("textarea[name=body]"))
    form.locator("input[name=photos]").set_input_files(str(photo))
    row = form.locator(".up").first
    row.locator(".pct", has_text="hết chỗ lưu").wait_for(timeout=20000)
    assert row.locator("button", has_text="Thử lại").is_visible()
    monkeypatch.undo()  # space is freed: the same photo goes up on a tap
    row.locator("button", has_text="Thử lại").click()
    form.locator("input[name=photo_ids]").wait_for(state="attached", timeout=20000)
    assert row.locator(".pct", has_text="hết chỗ lưu").count() == 0
