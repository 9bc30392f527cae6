"""Byte budgets for a cheap phone on 2G: compressed bytes on the wire, as a browser receives them.

Budgets (issue: built for a cheap phone on 2G):
- every page's HTML document <= 14 KB (one TCP round trip);
- a navigation after the first page (HTML only, assets cached) <= 4 KB;
- the tip form page complete (HTML + CSS + our JS, htmx excluded) <= 14 KB;
- htmx plus our JS <= 20 KB, under content-hashed URLs cached for a year;
- a tip page with three camera photos (HTML + thumbnails, scripts and CSS
  cached) <= 40 KB for the informant, the officer and the verifier; one
  thumbnail <= 20 KB and 320 px; the full photo, opened on a tap, <= 350 KB.
"""
import re
from urllib.parse import urljoin, urlparse

import brotli
import pytest

KB = 1024
PAGE_BUDGET = 14 * KB
NAV_BUDGET = 4 * KB
SCRIPTS_BUDGET = 20 * KB
PHOTO_PAGE_BUDGET = 40 * KB
THUMB_BUDGET = 20 * KB
FULL_PHOTO_BUDGET = 350 * KB
BR = {"Accept-Encoding": "gzip, deflate, br"}
ROLES = ["informant", "verifier", "officer", "commander", "observer"]
# Pages whose size grows with the data shown get their own budget elsewhere.
OWN_BUDGET = ("/officer/",)


def wire_size(resp) -> int:
    """Return the compressed size of a response body as sent."""
    assert resp.headers.get("Content-Encoding") in ("br", None), resp.headers.get("Content-Encoding")
    return len(resp.get_data())


def same_site_links(html: str, base: str) -> set[str]:
    links = set()
    for href in re.findall(r'href="([^"#]+)"', html):
        url = urljoin(base, href.replace("&amp;", "&"))
        parsed = urlparse(url)
        if parsed.netloc in ("", "localhost") and not parsed.path.startswith("/static/"):
            links.add(parsed.path + (f"?{parsed.query}" if parsed.query else ""))
    return links


def reachable_pages(c, start: str, limit: int = 60) -> dict[str, object]:
    """Follow same-site links from `start`; return {url: response} of the HTML pages found."""
    seen, todo, pages = set(), [start], {}
    while todo and len(seen) < limit:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = c.get(url, headers=BR)
        if resp.status_code in (301, 302, 303):
            todo.append(urlparse(resp.headers["Location"]).path)
            continue
        if resp.status_code != 200 or not resp.mimetype == "text/html":
            continue
        pages[url] = resp
        body = brotli.decompress(resp.get_data()) if resp.headers.get("Content-Encoding") == "br" else resp.get_data()
        todo.extend(sorted(same_site_links(body.decode(), url) - seen))
    return pages


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_one_round_trip_and_a_navigation_fits_4kb(login_as, role):
    c = login_as(role)
    pages = reachable_pages(c, "/")
    assert pages, "no page reached"
    for url, resp in pages.items():
        size = wire_size(resp)
        assert size <= PAGE_BUDGET, f"{url} is {size} bytes compressed (budget {PAGE_BUDGET})"
        if not url.startswith(OWN_BUDGET):
            assert size <= NAV_BUDGET, f"{url} is {size} bytes compressed (navigation budget {NAV_BUDGET})"


def test_login_page_fits(client):
    assert wire_size(client.get("/login", headers=BR)) <= NAV_BUDGET


def asset_urls(html: str) -> tuple[list[str], list[str]]:
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    return scripts, styles


def test_scripts_fit_their_budget_and_cache_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    scripts, styles = asset_urls(html)
    assert any("htmx" in s for s in scripts)
    total = 0
    for url in scripts + styles:
        assert "?v=" in url, f"{url} has no content hash"
        resp = client.get(url, headers=BR)
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        if url in scripts:
            total += wire_size(resp)
    assert total <= SCRIPTS_BUDGET, f"htmx + our JS are {total} bytes compressed (budget {SCRIPTS_BUDGET})"


def test_tip_form_page_complete_fits_one_round_trip(login_as, app):
    c = login_as("informant")
    with app.test_request_context():
        from flask import url_for

        form_url = url_for("informant.new_tip")
    resp = c.get(form_url, headers=BR)
    assert resp.status_code == 200
    total = wire_size(resp)
    scripts, styles = asset_urls(resp.get_data(as_text=True) if resp.headers.get("Content-Encoding") != "br"
                                 else brotli.decompress(resp.get_data()).decode())
    for url in styles + [s for s in scripts if "htmx" not in s]:
        total += wire_size(c.get(url, headers=BR))
    assert total <= PAGE_BUDGET, f"tip form page complete is {total} bytes (budget {PAGE_BUDGET})"


def test_text_is_brotli_when_accepted_and_gzip_otherwise(client):
    br = client.get("/login", headers={"Accept-Encoding": "gzip, br"})
    gz = client.get("/login", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/login", headers={"Accept-Encoding": ""})
    assert br.headers["Content-Encoding"] == "br"
    assert gz.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in br.headers["Vary"]
    # The same page once decompressed; a CSRF token carries its second, which may tick between the requests.
    token = re.compile(rb'("X-CSRFToken": "|name="csrf_token" value=")[^"]+')
    same = lambda body: token.sub(rb"\1T", body)  # noqa: E731
    assert same(brotli.decompress(br.get_data())) == same(plain.get_data())
    assert b"csrf" in plain.get_data().lower()


def test_queue_with_fifty_tips_fits_20kb_and_an_unchanged_poll_1kb(app, login_as):
    from sqlalchemy import select

    from zaloan import cases
    from zaloan.extensions import db
    from zaloan.models import Category, Unit, User

    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
        cat = db.session.scalar(select(Category).where(Category.code == "theft"))
        an = db.session.scalar(select(User).where(User.phone == "+84900000010"))
        for i in range(50):
            cases.submit_tip(commune=village.commune(), informant=an.informant, category=cat, village=village,
                             body=f"Tin thử số {i}: mất trộm tài sản ở khu chợ.", uploader=an)
        db.session.commit()
    c = login_as("officer")
    resp = c.get("/officer/", headers=BR)
    html = brotli.decompress(resp.get_data()).decode()
    assert html.count('href="/officer/tips/') >= 50
    assert wire_size(resp) <= 20 * KB, f"queue with 50 tips is {wire_size(resp)} bytes"
    poll = re.search(r'hx-get="(/officer/queue/poll[^"]+)"', html).group(1).replace("&amp;", "&")
    unchanged = c.get(poll, headers={**BR, "HX-Request": "true"})
    wire = len(unchanged.get_data()) + sum(len(k) + len(v) + 4 for k, v in unchanged.headers.items())
    assert unchanged.status_code == 204 and wire <= KB, f"an unchanged poll costs {wire} bytes"


def test_the_icon_is_tiny_and_named_on_every_page_under_its_hashed_url(client, login_as):
    # Browsers ask for /favicon.ico on their own: it must answer, not 404 on every page.
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/x-icon"
    assert resp.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert len(resp.get_data()) <= 1024
    assert "max-age=" in resp.headers["Cache-Control"] and "no-store" not in resp.headers["Cache-Control"]
    # Pages name it under its content-hashed URL, cached for a year, so /favicon.ico is rarely asked for.
    for c, url in ((client, "/login"), (login_as("informant"), "/informant/"), (login_as("officer"), "/officer/")):
        html = c.get(url).get_data(as_text=True)
        m = re.search(r'<link rel="icon" href="([^"]+)">', html)
        assert m and "?v=" in m.group(1), url
    icon = client.get(m.group(1))
    assert icon.status_code == 200 and icon.get_data() == resp.get_data()
    assert icon.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.fixture
def tip_with_three_photos(app):
    """A tip of informant 1 with three photos from a phone camera, all shared with verifier 1's task."""
    from .camera import add_tip_with_photos

    with app.app_context():
        return add_tip_with_photos()


def page_and_images(c, url: str) -> tuple[int, list[str], list[str]]:
    """Return (bytes on the wire of the page and its thumbnails, thumbnail URLs, linked photo URLs)."""
    resp = c.get(url, headers=BR)
    assert resp.status_code == 200, url
    html = brotli.decompress(resp.get_data()).decode()
    pairs = re.findall(r'<a class="ph" href="([^"]+)" hx-boost="false"><img class="thumb" src="([^"]+)"', html)
    links, thumbs = [p[0].replace("&amp;", "&") for p in pairs], [p[1].replace("&amp;", "&") for p in pairs]
    total = wire_size(resp)
    for thumb in thumbs:
        img = c.get(thumb, headers=BR)
        assert img.status_code == 200 and img.mimetype == "image/jpeg", thumb
        total += wire_size(img)
    return total, thumbs, links


@pytest.mark.parametrize("who,template", [
    ("informant", "/informant/tips/{tip}"), ("officer", "/officer/tips/{tip}"), ("verifier", "/verifier/tasks/{a}"),
])
def test_a_tip_page_with_three_photos_fits_40kb(login_as, tip_with_three_photos, who, template):
    c = login_as(who)
    total, thumbs, links = page_and_images(c, template.format(**tip_with_three_photos))
    ids = tip_with_three_photos["photos"]
    # Each photo once, as its thumbnail, linked to the whole photo.
    assert [urlparse(t).path for t in thumbs] == [f"/photos/{i}/thumb" for i in ids]
    assert [urlparse(u).path for u in links] == [f"/photos/{i}" for i in ids]
    assert total <= PHOTO_PAGE_BUDGET, f"{who}'s page with three photos is {total} bytes (budget {PHOTO_PAGE_BUDGET})"


def test_a_thumbnail_is_small_and_the_full_photo_fits_350kb(app, login_as, tip_with_three_photos):
    import io

    from PIL import Image

    c = login_as("officer")
    for i in tip_with_three_photos["photos"]:
        thumb, full = c.get(f"/photos/{i}/thumb", headers=BR), c.get(f"/photos/{i}", headers=BR)
        assert wire_size(thumb) <= THUMB_BUDGET, f"thumbnail {i} is {wire_size(thumb)} bytes"
        assert max(Image.open(io.BytesIO(thumb.get_data())).size) <= 320
        assert wire_size(full) <= FULL_PHOTO_BUDGET, f"photo {i} is {wire_size(full)} bytes"
        assert max(Image.open(io.BytesIO(full.get_data())).size) == 1600  # still readable: not the thumbnail
