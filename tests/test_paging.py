"""Long lists are read a page at a time from where the last page ended: every row once, in order, both ways."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from zaloan import audit, cases
from zaloan.extensions import db
from zaloan.models import AuditEvent, Category, Tip, Unit, utcnow

from .helpers import U
from .test_access_matrix import session_client

CODE = re.compile(r"<b>([A-Z0-9-]+)</b>")


def many_tips(app, n: int = 120) -> None:
    """`n` tips of the commune, in groups sent the same second (ties in the order) and of every urgency."""
    with app.app_context():
        an = U("informant")
        place = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        start = utcnow() - timedelta(days=3)
        for i in range(n):
            tip, _ = cases.submit_tip(commune=place.commune(), informant=an.informant, category=cat, village=place,
                                      body=f"Tin số {i}.", uploader=an)
            tip.urgency = 1 + i % 4
            tip.created_at = start + timedelta(seconds=i // 5)  # five tips share each second
        db.session.commit()


def walk(client, first: str, link: str = "after") -> list[list[str]]:
    """Follow the "More" links from `first`; return each page's codes."""
    pages, url = [], first
    while url:
        body = client.get(url).get_data(as_text=True)
        pages.append(CODE.findall(body))
        found = re.search(rf'href="([^"]*[?&]{link}=[^"]+)"', body)
        url = html.unescape(found.group(1)) if found else None
        assert len(pages) < 100
    return pages


def test_the_queue_shows_every_tip_once_in_its_order_and_goes_back_a_page(app):
    many_tips(app)
    chief = session_client(app, "commander")
    pages = walk(chief, "/officer/?status=all")
    with app.app_context():
        expected = list(db.session.scalars(
            select(Tip.code).where(Tip.commune_id == U("commander").commune_id)
            .order_by(Tip.urgency.desc(), Tip.created_at, Tip.id)))
    assert len(pages) >= 3 and all(len(p) == 50 for p in pages[:-1])
    assert [code for page in pages for code in page] == expected
    # "Previous" from the last page shows the page before it, whole.
    last = chief.get(walk_url(chief, "/officer/?status=all", len(pages) - 1)).get_data(as_text=True)
    back = re.search(r'href="([^"]*[?&]before=[^"]+)"', last)
    assert CODE.findall(chief.get(html.unescape(back.group(1))).get_data(as_text=True)) == pages[-2]
    # The first page has no "Previous"; "Previous" from the second page is the first page.
    first = chief.get("/officer/?status=all").get_data(as_text=True)
    assert "before=" not in first


def walk_url(client, first: str, hops: int) -> str:
    url = first
    for _ in range(hops):
        body = client.get(url).get_data(as_text=True)
        url = html.unescape(re.search(r'href="([^"]*[?&]after=[^"]+)"', body).group(1))
    return url


def test_a_later_page_polls_itself_and_a_bad_cursor_starts_at_the_first_page(app):
    many_tips(app, 60)
    chief = session_client(app, "commander")
    first = chief.get("/officer/?status=all").get_data(as_text=True)
    second_url = html.unescape(re.search(r'href="([^"]*[?&]after=[^"]+)"', first).group(1))
    second = chief.get(second_url).get_data(as_text=True)
    poll = html.unescape(re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', second).group(1))
    assert "after=" in poll and chief.get(poll).status_code == 204
    # A new tip changes the queue: the poll answers with the same later page, not the first one.
    with app.app_context():
        an = U("informant")
        place = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        new, _ = cases.submit_tip(commune=place.commune(), informant=an.informant, category=cat, village=place,
                                  body="Tin mới.", uploader=an)
        db.session.commit()
        new_code = new.code
    changed = chief.get(poll)
    assert changed.status_code == 200
    shown = set(CODE.findall(changed.get_data(as_text=True)))
    assert shown and shown <= set(CODE.findall(second)) | {new_code} and not shown & set(CODE.findall(first))
    for junk in ("after=x", "after=4.1.1", "before=9.20261301000000000000.1", "after=" + "9" * 300):
        assert CODE.findall(chief.get(f"/officer/?status=all&{junk}").get_data(as_text=True)) \
            == CODE.findall(first), junk


def test_the_audit_log_shows_every_row_once_newest_first(app):
    with app.app_context():
        for i in range(130):
            audit.record("settings.update", actor=U("commander"), field=f"f{i}")
        db.session.commit()
        expected = list(db.session.scalars(select(AuditEvent.id).where(
            AuditEvent.commune_id == U("commander").commune_id).order_by(AuditEvent.id.desc())))
    chief = session_client(app, "commander")
    seen = []
    url = "/audit/"
    while url:
        body = chief.get(url).get_data(as_text=True)
        seen.append(body.count('<li><p class="meta">'))
        found = re.search(r'href="([^"]*[?&]after=[^"]+)"', body)
        url = html.unescape(found.group(1)) if found else None
    assert sum(seen) == len(expected) and all(n == 50 for n in seen[:-1])
