"""The tip form's village and place are chosen together: grouped without JavaScript, narrowed with htmx."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from zaloan.extensions import db
from zaloan.models import Tip, Unit, WatchPoint

from .test_tips_public import form_data, send


def ids(app):
    with app.app_context():
        v1 = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Đồng Bé"))
        v4 = db.session.scalar(select(Unit.id).where(Unit.name == "Thôn Trung Tâm"))
        market = db.session.scalar(select(WatchPoint.id).where(WatchPoint.name == "Chợ Tân Thành"))
        cross = db.session.scalar(select(WatchPoint.id).where(WatchPoint.name == "Ngã tư Trung Tâm"))
        return v1, v4, market, cross


def group_of(html: str, label: str) -> str:
    m = re.search(r'<optgroup label="' + re.escape(label) + r'">(.*?)</optgroup>', html, re.S)
    assert m, f"no group {label}"
    return m.group(1)


def test_without_javascript_the_places_are_grouped_by_village(app, client, login_as):
    for html in (client.get("/report/").get_data(as_text=True),
                 login_as("informant").get("/informant/tips/new").get_data(as_text=True)):
        assert "Chợ Tân Thành" in group_of(html, "Thôn Đồng Bé")
        assert "Ngã tư Trung Tâm" in group_of(html, "Thôn Trung Tâm")
        assert "Chợ Tân Thành" not in group_of(html, "Thôn Trung Tâm")
        # "Not at a listed place" stays outside every group.
        assert re.search(r'<select id="watch_point_id" name="watch_point_id">\s*<option value="0"', html)


def test_the_village_chooser_asks_for_its_places(app, client, login_as):
    html = login_as("informant").get("/informant/tips/new").get_data(as_text=True)
    assert re.search(r'<select[^>]*hx-get="/informant/tips/new/places"[^>]*name="village_id"|'
                     r'<select[^>]*name="village_id"[^>]*hx-get="/informant/tips/new/places"', html)
    public = client.get("/report/").get_data(as_text=True)
    assert re.search(r'hx-get="/x/[a-z0-9-]+/report/places"', public)


def test_choosing_a_village_narrows_the_places_to_it(app, client, login_as):
    v1, v4, market, cross = ids(app)
    for c, url in ((login_as("informant"), "/informant/tips/new/places"), (client, "/report/places")):
        r = c.get(url, query_string={"village_id": v4, "watch_point_id": cross})
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and 'id="place-field"' in html and "<html" not in html
        assert "Ngã tư Trung Tâm" in html and "Chợ Tân Thành" not in html
        assert f'<option value="{cross}" selected>' in html
        # A place of another village is not kept selected.
        html = c.get(url, query_string={"village_id": v4, "watch_point_id": market}).get_data(as_text=True)
        assert f'value="{market}"' not in html and '<option value="0" selected>' in html
        # "Not sure" (or nonsense) offers every village's places again, grouped.
        for village in ("0", "abc", "999999"):
            html = c.get(url, query_string={"village_id": village}).get_data(as_text=True)
            assert "Chợ Tân Thành" in group_of(html, "Thôn Đồng Bé") and "Ngã tư Trung Tâm" in html


def test_the_public_chooser_shows_only_the_form_s_own_names(app, client):
    html = client.get("/report/places").get_data(as_text=True)
    with app.app_context():
        hidden = db.session.scalars(select(WatchPoint.name).where(WatchPoint.active.is_(False))).all()
    for name in hidden:
        assert name not in html
    # Nothing about who keeps watch there: no time windows, no notes, no names of people.
    assert "Nguyễn Văn An" not in html and ":" not in re.sub(r"<[^>]+>", "", html)


def test_a_place_of_another_village_is_refused_on_the_field_and_the_text_kept(app, client, login_as):
    v1, v4, market, cross = ids(app)
    with app.app_context():
        before = db.session.scalar(select(func.count(Tip.id)))
    r = send(client, app, village_id=str(v4), watch_point_id=str(market), body="Có cãi nhau to ở chợ sáng nay.",
             key="anon-mismatch-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    field = re.search(r'<div class="field bad" id="place-field">(.*?)</div>', html, re.S)
    assert field and "Địa điểm này không thuộc thôn đã chọn." in field.group(1)
    assert "Có cãi nhau to ở chợ sáng nay." in html
    informant = login_as("informant")
    data = form_data(app, village_id=str(v1), watch_point_id=str(cross), key="informant-mismatch-1")
    r = informant.post("/informant/tips/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and 'class="field bad" id="place-field"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Tip.id))) == before


def test_the_chooser_ignores_numbers_that_are_no_ids(app, client, login_as):
    """"²" passes str.isdigit() but is no number; a huge id overflows a bind: both read as no choice, never a 500."""
    for c, url in ((client, "/report/places"), (login_as("informant"), "/informant/tips/new/places")):
        for query in ("village_id=%C2%B2", "village_id=99999999999999999999999", "watch_point_id=%C2%B2",
                      "village_id=1&watch_point_id=-1"):
            resp = c.get(f"{url}?{query}")
            assert resp.status_code == 200, (url, query)
            assert "<select" in resp.get_data(as_text=True)
