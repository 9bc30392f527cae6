"""A closed tip, seen by its sender: what happened in plain words, and no answer box nobody would read."""
import pytest
from sqlalchemy import func, select

from zaloan import cases
from zaloan.extensions import db
from zaloan.models import Message, Outcome, Tip, TipEvent, TipStatus

from .test_tips_public import receipt, send

AN_PHONE = "+84900000010"
SECRET_NOTE = "Ghi chú nội bộ: đã làm việc với ông Lò Văn Tám"
REFUSED = "Tin này đã xử lý xong; nếu có việc mới, hãy gửi tin mới."

# One plain sentence per outcome, as the sender reads it.
SENTENCES = {
    Outcome.COMMUNE_POLICE: "Công an xã đã xử lý xong.",
    Outcome.HIGHER_POLICE: "chuyển việc này lên công an cấp trên",
    Outcome.MEDIATED: "Các bên đã được mời đến hòa giải",
    Outcome.SANCTION: "người vi phạm đã bị phạt",
    Outcome.NO_VIOLATION: "không thấy có vi phạm pháp luật",
    Outcome.FALSE_REPORT: "không thấy có vi phạm pháp luật",
}
MERGED = "Tin của bạn được gộp vào tin đó"


def officer(user):
    return user("officer")


def open_tip_of_an(user) -> Tip:
    """The demo's new tip of the first informant."""
    return db.session.scalar(select(Tip).where(Tip.informant_id == user("informant").informant.id,
                                               Tip.status == TipStatus.NEW).order_by(Tip.id))


def close(app, user, tip_id, outcome):
    with app.app_context():
        tip = db.session.get(Tip, tip_id)
        cases.record_outcome(tip, by=officer(user), outcome=outcome, note=SECRET_NOTE)
        db.session.commit()


def anonymous_tip(app, client) -> int:
    code, _key = receipt(send(client, app).get_data(as_text=True))
    with app.app_context():
        return db.session.scalar(select(Tip.id).where(Tip.code == code))


def counts(tip_id):
    return (db.session.scalar(select(func.count(Message.id)).where(Message.tip_id == tip_id)),
            db.session.scalar(select(func.count(TipEvent.id)).where(TipEvent.tip_id == tip_id)))


# --- No answer into a closed tip ---------------------------------------------------------------


def test_an_informant_cannot_answer_a_closed_tip_and_is_told_to_send_a_new_one(app, login_as, user):
    with app.app_context():
        tip_id = open_tip_of_an(user).id
    c = login_as("informant")
    # Sent before the tip closed: a retry of it later is the same answer, not a refusal.
    sent = {"body": "Họ đi xe Wave đỏ.", "client_key": "early-answer-01"}
    assert c.post(f"/informant/tips/{tip_id}/messages", data=sent).status_code == 303
    close(app, user, tip_id, Outcome.COMMUNE_POLICE)
    assert c.post(f"/informant/tips/{tip_id}/messages", data=sent).status_code == 303
    page = c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert f'action="/informant/tips/{tip_id}/messages"' not in page  # no answer box
    assert REFUSED in page and 'href="/informant/tips/new"' in page
    with app.app_context():
        before = counts(tip_id)
    # A POST anyway (an old page left open): refused, with the words kept to copy into a new tip.
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Hôm nay họ lại đến.",
                                                           "client_key": "late-answer-001"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and REFUSED in html and "Hôm nay họ lại đến." in html
    assert html.count(REFUSED) == 1
    r = c.post(f"/informant/tips/{tip_id}/messages", data={"body": "Lại đến.", "client_key": "late-answer-002"},
               headers={"HX-Request": "true"})
    assert r.status_code == 409 and REFUSED in r.get_data(as_text=True)
    with app.app_context():
        assert counts(tip_id) == before


def test_a_tip_reopened_takes_answers_again(app, login_as, user):
    with app.app_context():
        tip_id = open_tip_of_an(user).id
    close(app, user, tip_id, Outcome.NO_VIOLATION)
    with app.app_context():
        cases.reopen(db.session.get(Tip, tip_id), by=officer(user), reason="Có tin mới")
        db.session.commit()
    c = login_as("informant")
    assert f'action="/informant/tips/{tip_id}/messages"' in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert c.post(f"/informant/tips/{tip_id}/messages",
                  data={"body": "Thêm chi tiết.", "client_key": "reopened-ans-01"}).status_code == 303


def test_an_anonymous_sender_cannot_answer_a_closed_tip(app, client, user):
    tip_id = anonymous_tip(app, client)
    close(app, user, tip_id, Outcome.HIGHER_POLICE)
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert f'action="/report/status/{tip_id}/messages"' not in page
    assert REFUSED in page and 'href="/x/tan-thanh/report/"' in page
    with app.app_context():
        before = counts(tip_id)
    r = client.post(f"/report/status/{tip_id}/messages", data={"body": "Xe lại quay lại.",
                                                               "client_key": "anon-late-0001"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and REFUSED in html and "Xe lại quay lại." in html
    with app.app_context():
        assert counts(tip_id) == before


def test_a_merged_tip_says_so_instead_of_taking_answers(app, login_as, user):
    with app.app_context():
        dup = db.session.scalar(select(Tip).where(Tip.duplicate_of_id.is_not(None)))
        tip_id = dup.id
    page = login_as("informant2").get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert "được gộp vào một tin báo trước" in page and f'action="/informant/tips/{tip_id}/messages"' not in page


# --- What happened, in plain words ---------------------------------------------------------------


@pytest.mark.parametrize("outcome", sorted(SENTENCES))
def test_a_closed_tip_tells_the_informant_what_happened(app, login_as, user, outcome):
    with app.app_context():
        tip_id = open_tip_of_an(user).id
    c = login_as("informant")
    assert SENTENCES[outcome] not in c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    close(app, user, tip_id, outcome)
    for page in (c.get(f"/informant/tips/{tip_id}").get_data(as_text=True),
                 c.get("/informant/tips").get_data(as_text=True)):
        assert SENTENCES[outcome] in page
        assert SECRET_NOTE not in page and "Lò Văn Tám" not in page


@pytest.mark.parametrize("outcome", sorted(SENTENCES))
def test_a_closed_anonymous_tip_tells_its_sender_what_happened(app, client, user, outcome):
    tip_id = anonymous_tip(app, client)
    close(app, user, tip_id, outcome)
    page = client.get(f"/report/status/{tip_id}").get_data(as_text=True)
    assert SENTENCES[outcome] in page and SECRET_NOTE not in page


def test_a_merged_tip_says_it_was_joined_then_how_the_first_one_ended(app, login_as, user):
    with app.app_context():
        dup = db.session.scalar(select(Tip).where(Tip.duplicate_of_id.is_not(None)))
        tip_id, first_id = dup.id, dup.duplicate_of_id
    c = login_as("informant2")
    for page in (c.get(f"/informant/tips/{tip_id}").get_data(as_text=True),
                 c.get("/informant/tips").get_data(as_text=True)):
        assert MERGED in page and SENTENCES[Outcome.COMMUNE_POLICE] not in page
    close(app, user, first_id, Outcome.COMMUNE_POLICE)
    page = c.get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert MERGED in page and SENTENCES[Outcome.COMMUNE_POLICE] in page and SECRET_NOTE not in page


def test_an_open_tip_has_no_outcome_sentence(app, login_as, user):
    with app.app_context():
        tip_id = open_tip_of_an(user).id
    page = login_as("informant").get(f"/informant/tips/{tip_id}").get_data(as_text=True)
    assert not any(s in page for s in SENTENCES.values()) and REFUSED not in page
