"""Commendations on a 360x640 phone: an officer proposes, the commander approves and prints the decision's list.
Every page is checked (axe-core, touch targets, labels, CSP, nothing wider than 360 px); the proposal and the
approval are kept as screenshots in docs/screenshots/."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect

from .checks import check_page
from .phone import sent

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
IDENTITY = ("Nguyễn Văn An", "Trần Thị Bình", "0900000010", "0900 000 010")


def fits(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url


def keep(page, name: str) -> None:
    """Keep what the phone shows (one screen) as a README screenshot.

    Written when missing or with ZALOAN_DOCS_SCREENSHOTS=1, so a test run does not leave the
    committed pictures changed by a clock on screen.
    """
    target = DOCS / f"{name}.png"
    if target.exists() and os.environ.get("ZALOAN_DOCS_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(target))


def no_identity(page) -> None:
    html = page.content()
    assert not [s for s in IDENTITY if s in html], page.url


def test_a_proposal_and_its_approval_on_a_phone(app, phone):
    officer = phone("officer")
    officer.goto("/commendations/")
    check_page(officer, "commend-index")
    officer.goto("/commendations/candidates")
    check_page(officer, "commend-candidates")
    fits(officer)
    no_identity(officer)
    sent(officer, officer.get_by_role("link", name="🏅 Đề nghị khen", exact=True).first.click)
    assert urlsplit(officer.url).path == "/commendations/propose"
    check_page(officer, "commend-propose")
    fits(officer)
    no_identity(officer)
    officer.get_by_label("Thành tích (đã giúp việc gì)").fill("Báo tin kịp thời vụ trộm xe máy ở chợ Tân Thành.")
    officer.get_by_label("Hình thức khen thưởng").fill("Giấy khen")
    tips = officer.locator("input[name=tip_ids]")
    if tips.count():
        tips.first.check()
    sent(officer, officer.get_by_role("button", name="Gửi đề nghị").click)
    # With htmx the answer is a 204 that sends the page on to the proposal (HX-Location): wait for it.
    expect(officer.get_by_role("status").filter(has_text="Đã lưu đề nghị")).to_be_visible()
    check_page(officer, "commend-proposed")
    fits(officer)
    no_identity(officer)
    keep(officer, "commendation-proposal")
    proposal = urlsplit(officer.url).path

    boss = phone("commander")
    boss.goto(proposal)
    no_identity(boss)
    # Declining needs a note: the refusal says so beside the field, and nothing changes.
    boss.get_by_label("Không duyệt", exact=True).check()
    sent(boss, boss.get_by_role("button", name="Lưu quyết định").click)
    expect(boss.get_by_role("alert").filter(has_text="Vui lòng cho biết ngắn gọn vì sao không duyệt")).to_be_visible()
    assert "Chờ duyệt" in boss.content()
    boss.get_by_label("Duyệt", exact=True).check()
    boss.get_by_label("Ghi chú").fill("Đồng ý khen thưởng.")
    sent(boss, boss.get_by_role("button", name="Lưu quyết định").click)
    expect(boss.get_by_role("status").filter(has_text="Đã duyệt")).to_be_visible()
    check_page(boss, "commend-approved")
    fits(boss)
    no_identity(boss)
    keep(boss, "commendation-approved")

    # The decision: number, date, signer; its list by alias, then the list to print with the name.
    boss.goto("/commendations/decisions/new")
    check_page(boss, "commend-decision-new")
    boss.get_by_label("Số quyết định").fill("12/QĐ-CAX")
    sent(boss, boss.get_by_role("button", name="Lưu quyết định").click)
    expect(boss.get_by_role("status").filter(has_text="Đã lưu quyết định")).to_be_visible()
    assert "/commendations/decisions/" in boss.url
    check_page(boss, "commend-decision")
    fits(boss)
    no_identity(boss)
    sent(boss, boss.get_by_role("button", name="Mở danh sách để in, có họ tên").click)
    assert "Nguyễn Văn An" in boss.content()
    check_page(boss, "commend-print")
    fits(boss)

    # The informant sees their own recognition, in plain words.
    an = phone("informant")
    an.goto("/informant/")
    assert "Công an xã ghi nhận sự giúp đỡ của bạn: Giấy khen" in an.content()
    check_page(an, "commend-informant-home")
