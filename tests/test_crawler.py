"""Crawl the app as the verifier, the second informant and the observer: the first informant's
identity appears nowhere they can reach (pages, fragments, htmx URLs, images, errors, headers)."""
import re
from html import unescape
from urllib.parse import urljoin, urlparse

import pytest

from zaloan.extensions import db
from zaloan.models import Informant, User

FORBIDDEN = ["Nguyễn Văn An", "Nguyen Van An", "+84900000010", "0900000010", "0900 000 010", "84900000010"]
LINK_ATTRS = re.compile(r'(?:href|hx-get|hx-post|action|src)="([^"]+)"')
SKIP = ("/logout", "/logout-everywhere", "/language")


def crawl(client, start="/", limit=300):
    seen, todo, bodies = set(), [start], []
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen or url.startswith(SKIP):
            continue
        seen.add(url)
        for headers in ({}, {"HX-Request": "true", "HX-Target": "main"}):
            resp = client.get(url, headers=headers)
            text = resp.get_data(as_text=True) if resp.mimetype.startswith("text") else ""
            bodies.append((url, text + " " + " ".join(f"{k}: {v}" for k, v in resp.headers.items())))
            if resp.status_code in (301, 302, 303) and "Location" in resp.headers:
                todo.append(urlparse(resp.headers["Location"]).path)
            for link in LINK_ATTRS.findall(text):
                target = urlparse(urljoin(url, unescape(link)))
                if target.netloc in ("", "localhost"):
                    todo.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen, bodies


@pytest.mark.parametrize("who", ["verifier", "informant2", "observer"])
def test_first_informant_is_never_revealed(app, login_as, who):
    with app.app_context():
        alias = db.session.scalar(db.select(Informant.alias).join(User, Informant.user_id == User.id)
                                  .where(User.phone == "+84900000010"))
    seen, bodies = crawl(login_as(who))
    assert len(seen) >= 3, f"the crawl reached too little: {seen}"
    for url, body in bodies:
        for secret in FORBIDDEN + [alias]:
            assert secret not in body, f"{secret!r} found at {url} as {who}"


def test_the_crawl_follows_htmx_urls(app, login_as):
    seen, _ = crawl(login_as("officer"), limit=80)
    assert any(u.startswith("/officer/queue/poll") for u in seen)


@pytest.mark.parametrize("who", ["verifier", "verifier2"])
def test_a_verifier_learns_nothing_of_the_tips_behind_the_demo_tasks(app, login_as, who):
    """Their watch points and time windows, text, places, times, categories, codes and senders stay out."""
    from zaloan.models import TaskAssignment, VerificationTask

    from .conftest import PHONES
    from .secrecy import assert_verifier_never_sees, tip_secrets

    with app.app_context():
        tasks = db.session.scalars(
            db.select(VerificationTask).join(TaskAssignment).join(User, TaskAssignment.verifier_id == User.id)
            .where(User.phone == "+84" + PHONES[who][1:])
        ).all()
        written = " ".join(f"{t.brief} {t.place_hint}" for t in tasks)
        tip_ids = sorted({t.tip_id for t in tasks})
    assert tip_ids, "the demo gives this verifier tasks"
    secrets = [s for t in tip_ids for s in tip_secrets(app, t)]
    assert any(s in ("Chợ Tân Thành", "Ngã tư Trung Tâm") for s in secrets)
    assert_verifier_never_sees(login_as(who), secrets, tip_ids=tip_ids, written=written)
