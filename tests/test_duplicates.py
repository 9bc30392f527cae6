"""Likely duplicates shown to the officer who opens a tip, and the one-tap join."""
import random
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from zaloan import duplicates
from zaloan.duplicates import plain
from zaloan.extensions import db
from zaloan.models import Category, Tip, TipStatus, Unit, WatchPoint

from .helpers import U

# Two or three different happenings of each kind: a kind alone never makes two tips the same.
HAPPENINGS = {
    "disorder": [
        "Hai thanh niên đánh nhau trước cổng chợ, một người bị chảy máu đầu",
        "Say rượu gây rối, đập phá bàn ghế ở quán ăn, chủ quán phải bỏ chạy",
        "Nhóm xe máy nẹt pô, lạng lách quanh sân vận động lúc nửa đêm",
    ],
    "drugs": [
        "Có người lạ bán thuốc lắc ở quán karaoke, khách ra vào liên tục",
        "Nhóm người tiêm chích ma túy ở bãi cỏ sau trường tiểu học",
    ],
    "gambling": [
        "Nhóm người tụ tập đánh bạc ăn tiền trong nhà ông Tư cuối ngõ",
        "Ghi số đề công khai ở quán nước đầu làng, nhiều người đến mua",
    ],
    "theft": [
        "Mất trộm xe máy Wave màu đỏ trước nhà văn hóa thôn",
        "Kẻ gian bẻ khóa chuồng, bắt trộm mười con gà trong đêm",
        "Trộm đột nhập cửa hàng tạp hóa, lấy két tiền và thuốc lá",
    ],
    "dispute": [
        "Hai gia đình cãi nhau to vì tranh chấp ranh giới đất vườn",
        "Hàng xóm xô xát vì nước thải chảy sang ruộng nhà bên",
    ],
    "traffic": [
        "Xe tải chở gỗ chạy quá tốc độ, suýt đâm học sinh ở ngã tư",
        "Ô tô con va chạm xe đạp điện, người đi xe đạp bị thương ở chân",
    ],
    "suspicious": [
        "Người đàn ông khả nghi đi dò hỏi nhà nào có người già ở một mình",
        "Hai người lạ chụp ảnh cổng các nhà trong xóm rồi đi xe không biển số",
    ],
}
FILLERS = ["mọi người ra xem", "lúc tối", "tôi thấy tận mắt", "đề nghị công an xuống", "rất đông người",
           "khoảng mấy phút trước", "báo để các anh biết"]


def retell(text: str, rng: random.Random) -> str:
    """Tell the same happening as another villager would: other order, a word dropped, a word added, no accents."""
    words = text.replace(",", "").split()
    cut = rng.randrange(2, len(words) - 2)
    words = words[cut:] + words[:cut] if rng.random() < 0.5 else words
    for _ in range(rng.randint(0, 2)):
        words.pop(rng.randrange(len(words)))
    words.insert(rng.randrange(len(words)), rng.choice(FILLERS))
    told = " ".join(words)
    return plain(told) if rng.random() < 0.3 else told


def make_tips(app, seed=7, events=24):
    """Add a generated month of tips in officer 1's villages; return {tip id: ids of the same happening}."""
    rng = random.Random(seed)
    with app.app_context():
        commune_id = U("officer").commune_id
        cats = {c.code: c for c in db.session.scalars(select(Category).where(Category.commune_id == commune_id))}
        villages = db.session.scalars(select(Unit).where(Unit.officer_id == U("officer").id).order_by(Unit.id)).all()
        points = {p.village_id: p for p in db.session.scalars(select(WatchPoint))}
        start = datetime(2026, 10, 1, 6)
        groups, n = [], 0
        told = []  # (text, village, when) of the happenings so far
        while len(groups) < events:
            kind = rng.choice(sorted(HAPPENINGS))
            text = rng.choice(HAPPENINGS[kind])
            village = rng.choice(villages)
            point = points.get(village.id) if rng.random() < 0.5 else None
            when = start + timedelta(hours=rng.randrange(0, 24 * 20))
            # The same thing at the same place again within three days would be the same happening: draw again.
            if any(x == text and v == village.id and abs(w - when) < timedelta(days=3) for x, v, w in told):
                continue
            told.append((text, village.id, when))
            group = []
            for i in range(rng.choice([1, 2, 2, 3])):
                n += 1
                at = when + timedelta(minutes=rng.randrange(0, 240)) if i else when
                t = Tip(code=f"DUP{n:05d}", commune_id=commune_id, category_id=cats[kind].id, village_id=village.id,
                        watch_point_id=point.id if point and (i == 0 or rng.random() < 0.7) else None,
                        occurred_at=at, created_at=at + timedelta(minutes=5), urgency=2,
                        body=text if i == 0 else retell(text, rng), status=TipStatus.NEW)
                db.session.add(t)
                group.append(t)
            groups.append(group)
        db.session.commit()
        return {t.id: {o.id for o in g if o.id != t.id} for g in groups for t in g}


def test_suggestions_find_the_known_duplicates_at_the_top(app, capsys):
    truth = make_tips(app)
    hits = shown = relevant = top_right = with_dupes = 0
    with app.app_context():
        officer = U("officer")
        for tip_id, same in truth.items():
            tip = db.session.get(Tip, tip_id)
            found = [s.tip.id for s in duplicates.suggestions(tip, officer) if s.tip.id in truth]
            hits += len(set(found) & same)
            shown += len(found)
            relevant += len(same)
            if same:
                with_dupes += 1
                top_right += bool(found) and found[0] in same
    precision, recall = hits / shown, hits / relevant
    with capsys.disabled():
        print(f"\nduplicates: precision {precision:.2f}, recall {recall:.2f}, top one right "
              f"{top_right}/{with_dupes} ({len(truth)} tips)")
    assert precision >= 0.8 and recall >= 0.8
    assert top_right >= 0.8 * with_dupes


def test_each_suggestion_says_why_in_plain_vietnamese(app, login_as):
    with app.app_context():
        officer = U("officer")
        cat = db.session.scalar(select(Category).where(Category.commune_id == officer.commune_id,
                                                       Category.code == "disorder"))
        point = db.session.scalar(select(WatchPoint).where(WatchPoint.name == "Chợ Tân Thành"))
        at = datetime(2026, 11, 2, 8)
        first = Tip(code="SAME00001", commune_id=officer.commune_id, category_id=cat.id, village_id=point.village_id,
                    watch_point_id=point.id, occurred_at=at, body="Hai thanh niên đánh nhau trước cổng chợ",
                    status=TipStatus.NEW)
        second = Tip(code="SAME00002", commune_id=officer.commune_id, category_id=cat.id,
                     village_id=point.village_id, watch_point_id=point.id, occurred_at=at + timedelta(hours=3),
                     body="Đánh nhau trước cổng chợ, hai thanh niên", status=TipStatus.NEW)
        db.session.add_all([first, second])
        db.session.commit()
        second_id = second.id
    html = login_as("officer").get(f"/officer/tips/{second_id}").get_data(as_text=True)
    section = re.search(r'<section class="card" id="tip-likely">(.*?)</section>', html, re.S).group(1)
    assert "SAME00001" in section
    assert re.search(r"cùng điểm, cách 3 giờ, cùng loại, nội dung giống \d+%", section), section
    assert 'name="code" value="SAME00001"' in section


def test_suggestions_never_reach_beyond_the_officers_scope(app, login_as):
    truth = make_tips(app)
    with app.app_context():
        # The same happenings, told again in officer 2's village: officer 1 must not be offered them.
        other_village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Trung Tâm"))
        copies = []
        for tip_id in list(truth)[:15]:
            t = db.session.get(Tip, tip_id)
            copies.append(Tip(code=f"OUT{tip_id:05d}", commune_id=t.commune_id, category_id=t.category_id,
                              village_id=other_village.id, occurred_at=t.occurred_at, body=t.body,
                              status=TipStatus.NEW))
        db.session.add_all(copies)
        db.session.commit()
        officer = U("officer")
        outside = {c.id for c in copies}
        for tip_id in truth:
            found = {s.tip.id for s in duplicates.suggestions(db.session.get(Tip, tip_id), officer)}
            assert not found & outside
        # Officer 2 sees their copies' likely twins only among their own tips (none of officer 1's).
        officer2 = U("officer2")
        for cid in outside:
            found = {s.tip.id for s in duplicates.suggestions(db.session.get(Tip, cid), officer2)}
            assert not found & set(truth)
    page = login_as("officer2").get(f"/officer/tips/{min(outside)}").get_data(as_text=True)
    assert "DUP0" not in page


def test_one_tap_joins_and_each_sender_is_told(app, login_as):
    """The informant's tip is joined to the anonymous one: both threads stay, each sender reads a sentence."""
    with app.app_context():
        an = U("informant")
        mine = db.session.scalar(select(Tip).where(Tip.informant_id == an.informant.id, Tip.status == "new")
                                 .order_by(Tip.id))
        twin = Tip(code="TWIN00001", commune_id=mine.commune_id, category_id=mine.category_id,
                   village_id=mine.village_id, watch_point_id=mine.watch_point_id,
                   occurred_at=mine.occurred_at + timedelta(hours=1), body=mine.body, status=TipStatus.NEW,
                   informant_id=U("informant2").informant.id)
        db.session.add(twin)
        db.session.commit()
        mine_id, twin_id, mine_code = mine.id, twin.id, mine.code
    officer = login_as("officer")
    page = officer.get(f"/officer/tips/{twin_id}").get_data(as_text=True)
    assert f'name="code" value="{mine_code}"' in page
    r = officer.post(f"/officer/tips/{twin_id}/duplicate", data={"code": mine_code},
                     headers={"HX-Request": "true", "HX-Target": "tip"})
    assert r.status_code == 200 and 'id="tip-likely"' not in r.get_data(as_text=True)  # closed: nothing more to join
    with app.app_context():
        assert db.session.get(Tip, twin_id).duplicate_of_id == mine_id
    told_twin = login_as("informant2").get(f"/informant/tips/{twin_id}").get_data(as_text=True)
    assert "Tin của bạn được gộp vào tin đó" in told_twin
    told_mine = login_as("informant").get(f"/informant/tips/{mine_id}").get_data(as_text=True)
    assert "Một người khác cũng báo" in told_mine
    assert 'id="thread"' in told_mine and 'id="thread"' in told_twin


def test_the_verifier_never_sees_suggestions(app, login_as):
    make_tips(app)
    verifier = login_as("verifier")
    for url in ("/verifier/",):
        html = verifier.get(url).get_data(as_text=True)
        assert 'id="tip-likely"' not in html and "Có thể cùng một việc" not in html
    with app.app_context():
        tip_id = db.session.scalar(select(Tip.id).where(Tip.code == "DUP00002"))
    assert verifier.get(f"/officer/tips/{tip_id}").status_code == 404
