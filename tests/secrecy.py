"""What a verifier can reach, and a check that none of it carries the tip.

A verifier must see only what the officer wrote or ticked on the task form.
`assert_verifier_never_sees` walks everything a logged-in verifier can reach
and fails on the first answer that holds one of the given secrets:

- their home (`/verifier/`), full page and htmx fragment;
- every task page linked from it, full page and fragment;
- every same-site link, htmx URL and form action those pages hold (a GET
  crawl, so a new page linked from the verifier's screens is checked too);
- every photo they are shown (the bytes and the headers);
- the answers to accept and report on each open task, refused ones first
  (a bad finding, a second accept, a second report), with and without htmx,
  following redirects to the page a flashed message would land on;
- error pages: an unknown task, other verifiers' tasks, the officer's and
  the informant's pages of the tips in `tip_ids`, an unknown URL, a refused
  photo upload;
- every response header.

It accepts and reports on the verifier's open tasks: call it when the test is
done changing things. Each secret is looked for as typed (after HTML
unescaping) and folded (case, accents and punctuation ignored, see
`zaloan.secrecy.words`), so "CHO TAN THANH" counts as "Chợ Tân Thành".

Reuse it for a new verifier-visible page: link the page from the verifier's
screens (the crawl finds it), or pass its URL in `extra_urls`; for a new POST
a verifier can send, pass `extra_posts` as (url, form data) pairs, e.g.

    from .secrecy import assert_verifier_never_sees, tip_secrets

    def test_my_new_page_keeps_the_tip_secret(app, login_as):
        ...  # make a tip and a task for "verifier"
        assert_verifier_never_sees(login_as("verifier"), tip_secrets(app, tip_id), tip_ids=[tip_id],
                                   extra_urls=["/verifier/my-page"])
"""
from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import urljoin, urlparse

from zaloan.secrecy import words

HTMX = {"HX-Request": "true", "HX-Target": "task"}
LINK_ATTRS = re.compile(r'(?:href|hx-get|hx-post|action|src)="([^"]+)"')
TASK_LINK = re.compile(r'href="(/verifier/tasks/(\d+))"')
SKIP = ("/logout", "/logout-everywhere", "/language", "/static/")


def tip_secrets(app, tip_id: int) -> list[str]:
    """Return every piece of the tip a verifier must not learn unless the officer wrote it in the task.

    The text, the free-text place, the sender's messages, the watch point's name
    and time windows, the time it happened, the category wording, the code and
    the sender (alias, name, phone).
    """
    from zaloan.extensions import db
    from zaloan.models import Tip

    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        env = app.jinja_env
        out = [tip.body, tip.place_text, tip.code, env.filters["dt"](tip.occurred_at)]
        out += [m.body for m in tip.messages if not m.from_police and m.body]
        if tip.watch_point:
            out.append(tip.watch_point.name)
            out += [str(w) for w in tip.watch_point.windows]
            out += [w.label for w in tip.watch_point.windows if w.label]
        if tip.category:
            out.append(tip.category.name)
        if tip.informant:
            user = tip.informant.user
            out += [tip.informant.alias, user.full_name, user.phone, "0" + user.phone.removeprefix("+84")]
        return [s for s in out if s and s.strip()]


def _folded(text: str) -> str:
    return " " + " ".join(words(text)) + " "


def _text_of(resp) -> str:
    body = resp.get_data()
    text = body.decode("utf-8", "replace") if resp.mimetype.startswith(("text", "application/json")) else \
        body.decode("latin-1")  # a photo: its bytes, where metadata would hide
    headers = " ".join(f"{k}: {v}" for k, v in resp.headers.items())
    return unescape(text) + "\n" + headers


def _check(url: str, resp, secrets: list[str]) -> None:
    assert resp.status_code < 500, f"{url} answered {resp.status_code}"
    text = _text_of(resp)
    folded = _folded(text)
    for secret in secrets:
        assert secret not in text, f"{secret!r} is shown to the verifier at {url}"
        fs = _folded(secret)
        if fs.strip():
            assert fs not in folded, f"{secret!r} (folded) is shown to the verifier at {url}"


def _links(url: str, resp) -> list[str]:
    if not resp.mimetype.startswith("text/html"):
        return []
    out = []
    for link in LINK_ATTRS.findall(resp.get_data(as_text=True)):
        target = urlparse(urljoin(url, unescape(link)))
        if target.netloc in ("", "localhost"):
            out.append(target.path + (f"?{target.query}" if target.query else ""))
    return out


def assert_verifier_never_sees(client, secrets, *, tip_ids=(), written: str = "", extra_urls=(), extra_posts=(),
                               limit: int = 200) -> list[str]:
    """Visit all the logged-in verifier `client` can reach; assert no answer holds any of `secrets`.

    A secret the officer typed into a task (`written`: its briefs and place
    hints) is theirs to share and is not looked for. Return the URLs visited
    (GETs and POSTs), so a test can also assert the walk went where it should.
    """
    chosen = _folded(written)
    secrets = [s for s in secrets if s and s.strip() and _folded(s) not in chosen]
    assert secrets, "nothing to look for"
    visited: list[str] = []

    def get(url, headers=None):
        resp = client.get(url, headers=headers or {})
        visited.append(url)
        _check(url, resp, secrets)
        return resp

    def post(url, data=None, headers=None, follow=False):
        resp = client.post(url, data=data or {}, headers=headers or {}, follow_redirects=follow,
                           content_type="multipart/form-data")
        visited.append(f"POST {url}")
        _check(f"POST {url}", resp, secrets)
        return resp

    # The crawl: home, tasks, photos, anything linked (GET only: a form's action is fetched, never sent).
    home = get("/verifier/")
    assert home.status_code == 200, "the client is not logged in as a verifier"
    seen, to_visit = set(), ["/verifier/", *extra_urls]
    while to_visit and len(seen) < limit:
        url = to_visit.pop(0)
        if url in seen or url.startswith(SKIP):
            continue
        seen.add(url)
        for headers in ({}, HTMX):
            resp = get(url, headers)
            if resp.status_code in (301, 302, 303) and "Location" in resp.headers:
                to_visit.append(urlparse(resp.headers["Location"]).path)
            to_visit += _links(url, resp)
    tasks = sorted({(path, int(n)) for path, n in TASK_LINK.findall(home.get_data(as_text=True))})
    assert tasks or extra_urls, "the verifier has no task to look at"

    # The answers to every action on every task, refused ones included.
    for path, _n in tasks:
        post(f"{path}/report", {"finding": "no-such-finding", "client_key": "secrecy-bad-0001"})
        post(f"{path}/report", {"finding": "no-such-finding", "client_key": "secrecy-bad-0002"}, HTMX)
        post(f"{path}/report", {"finding": "confirmed", "client_key": "x"}, HTMX)  # a damaged form
        post(f"{path}/report", {"finding": "confirmed", "client_key": "secrecy-pic-0001",
                                "photos": (io.BytesIO(b"not a photo"), "x.jpg")}, HTMX)
        post(f"{path}/accept", headers=HTMX)
        post(f"{path}/accept", follow=True)  # the second one is refused
        post(f"{path}/report", {"finding": "partly", "notes": "Đã đi xem.",
                                "client_key": f"secrecy-rep-{_n:06d}"}, follow=True)
        post(f"{path}/report", {"finding": "confirmed", "client_key": f"secrecy-two-{_n:06d}"}, HTMX)
        post(f"{path}/accept", headers=HTMX)
        get(path)
        get(path, HTMX)
    for url, data in extra_posts:
        post(url, data, follow=True)
        post(url, data, HTMX)

    # Error pages, and a photo that is refused.
    post("/verifier/photos", {"photo": (io.BytesIO(b"not a photo"), "x.jpg"), "client_key": "secrecy-up-0001"})
    errors = ["/verifier/tasks/999999", "/verifier/tasks/999999/accept", "/verifier/no-such-page", "/photos/999999"]
    # Other verifiers' tasks, by the ids around the verifier's own: each is refused.
    own = {n for _p, n in tasks}
    errors += [f"/verifier/tasks/{n}" for n in range(1, max(own, default=0) + 4) if n not in own]
    for tip_id in tip_ids:
        errors += [f"/officer/tips/{tip_id}", f"/informant/tips/{tip_id}"]
    for url in errors:
        assert get(url).status_code in (404, 405), url
        get(url, HTMX)
    return visited
