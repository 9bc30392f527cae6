"""Take the README's screenshots: each role's main screen on a 360x640 phone, as small PNGs.

Also the screens of the tip flow's hard moments: the page an informant sees
after sending an emergency ("Khẩn cấp, đang xảy ra"), the officer's page of
that tip, and the verifier's page of a task (what the officer chose to
share, nothing else). And the province administrator's: a second commune,
its commander's one-time code, that commander's first screen, and an
observer of the province with each commune's counts side by side.

    .venv/bin/python scripts/screenshots.py            # into docs/screenshots/

Serves a fresh demo commune (SQLite in a temporary folder) on loopback and
drives the system Chromium (Debian package `chromium`) through Playwright.
Each picture is reduced to a palette PNG of at most 60 KB. For the emoji in
the pages, install the Debian package `fonts-noto-color-emoji` first.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.phone import launch, login, missing_browser, new_phone, serve  # noqa: E402

MAX_BYTES = 60_000


def shots(app) -> list[tuple[str, str, str]]:
    """(file name, phone of the demo account, page) for each main screen."""
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    informant_page = "/informant/tips/new" if "/informant/tips/new" in rules else "/informant/"
    return [
        ("informant", "0900000010", informant_page),
        ("verifier", "0900000020", "/verifier/"),
        ("officer", "0900000002", "/officer/"),
    ]


def small_png(png: bytes) -> bytes:
    """Reduce a screenshot to a palette PNG under MAX_BYTES (flat UI colours survive well)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colors in (128, 64, 32, 16):
        out = io.BytesIO()
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            break
    return out.getvalue()


def demo_app(folder: Path):
    from flask_migrate import upgrade

    from zaloan import create_app
    from zaloan.demo import load_demo
    from zaloan.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite'}", "SECRET_KEY": "screenshots",
                      "UPLOAD_FOLDER": str(folder / "uploads")})
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
    return app


def send_emergency(page) -> None:
    """Send an emergency tip through the informant's form, as a person would; stay on the sent page."""
    from tests.browser.phone import sent

    page.goto("/informant/tips/new")
    page.locator("input[name=category_id]").first.check()
    page.fill("textarea[name=body]", "Có hai nhóm thanh niên cầm gậy đang đánh nhau trước quán, đông người xem.")
    page.locator("input[name=urgency][value='4']").check()
    sent(page, lambda: page.click("form button.btn.main"))


def flow_shots(app, browser, base_url: str, out: Path) -> None:
    """The emergency sent page, the officer's page of that tip, a verifier's task page."""
    from sqlalchemy import select

    from zaloan.extensions import db
    from zaloan.models import TaskAssignment, Tip, User

    informant = new_phone(browser, base_url)
    login(informant, "0900000010")
    send_emergency(informant)
    informant.evaluate("() => window.scrollTo(0, 0)")  # the page the sender lands on, from its top
    save(informant, out / "sent-emergency.png", "the emergency sent page")
    informant.context.close()

    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).order_by(Tip.id.desc()))
        verifier_id = db.session.scalar(select(User.id).where(User.phone == "+84900000020"))
        assignment_id = db.session.scalar(
            select(TaskAssignment.id).where(TaskAssignment.verifier_id == verifier_id).order_by(TaskAssignment.id))
    officer = new_phone(browser, base_url)
    login(officer, "0900000002")
    officer.goto(f"/officer/tips/{tip_id}")
    save(officer, out / "officer-tip.png", f"/officer/tips/{tip_id}")
    save(officer, out / "officer-tip-full.png", f"/officer/tips/{tip_id} (whole page)", full_page=True)
    officer.context.close()

    verifier = new_phone(browser, base_url)
    login(verifier, "0900000020")
    verifier.goto(f"/verifier/tasks/{assignment_id}")
    save(verifier, out / "verifier-task.png", f"/verifier/tasks/{assignment_id}")
    verifier.context.close()


def province_shots(browser, base_url: str, out: Path) -> None:
    """The province administrator: a second commune and its commander's code; that commander's first screen;
    an observer of the province with every commune's counts side by side."""
    import re

    from tests.browser.phone import sent

    admin = new_phone(browser, base_url)
    login(admin, "0900000040")
    admin.goto("/province/communes/new")
    admin.get_by_label("Tên xã").fill("Xã Yên Thường")
    sent(admin, admin.get_by_role("button", name="Tạo xã").click)
    admin.wait_for_url(re.compile(r".*/province/communes/\d+$"))

    def account(name: str, number: str) -> str:
        admin.get_by_label("Họ và tên").fill(name)
        admin.get_by_label("Số điện thoại").fill(number)
        sent(admin, admin.get_by_role("button", name="Tạo tài khoản").click)
        admin.locator("p.code").wait_for()
        return admin.locator("p.code").inner_text().replace("-", "")

    chief_code = account("Hà Văn Sơn", "0912 345 701")
    save(admin, out / "province-commander-code.png", "the commander's one-time code")
    admin.goto("/province/observers/new")
    admin.locator("input[name=unit_id]").first.check()  # the province
    observer_code = account("Ban Chỉ đạo 138 tỉnh", "0912 345 702")
    admin.goto("/province/")
    save(admin, out / "province.png", "/province/")
    admin.context.close()

    for code, name, what in ((chief_code, "province-new-commander.png", "the new commune's commander"),
                             (observer_code, "province-observer.png", "the province's observer")):
        page = new_phone(browser, base_url)
        page.goto(f"/activate/{code}")
        page.fill("input[name=password]", "suoi-trong-xanh-9")
        page.fill("input[name=confirm]", "suoi-trong-xanh-9")
        with page.expect_navigation():
            page.click("form button.btn.main")
        save(page, out / name, what)
        page.context.close()


def save(page, path: Path, what: str, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    data = small_png(page.screenshot(full_page=full_page))
    path.write_bytes(data)
    print(f"{path}: {what}, {len(data)} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    reason = missing_browser()
    if reason:
        sys.exit(f"Cannot take screenshots: {reason}.")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zaloan-shots-") as tmp:
        app = demo_app(Path(tmp))
        with serve(app) as base_url, sync_playwright() as playwright:
            browser = launch(playwright)
            for name, phone_number, path in shots(app):
                page = new_phone(browser, base_url)
                login(page, phone_number)
                page.goto(path)
                save(page, args.out / f"{name}.png", path)
                page.context.close()
            flow_shots(app, browser, base_url, args.out)
            province_shots(browser, base_url, args.out)
            browser.close()


if __name__ == "__main__":
    main()
