"""The anonymous tip's receipt when the form was sent by htmx: the page's content, not a page in the form."""
from .test_tips_public import ADDRESS, AGENT, form_data, receipt


def test_an_htmx_send_gets_the_receipt_for_main_not_a_whole_page(app, client):
    r = client.post("/report/", data=form_data(app, key="anon-htmx-00001"), content_type="multipart/form-data",
                    environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT, "HX-Request": "true",
                                                                    "HX-Target": "tip-form"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<header" not in html and "<main" not in html and "<footer" not in html and "<html" not in html
    assert r.headers["HX-Retarget"] == "#main" and r.headers["HX-Reswap"].startswith("innerHTML")
    code, key = receipt(html)
    assert code and key and "data-clear-draft" in html
    # Without htmx (and for a boosted request) the same send is the whole page.
    r = client.post("/report/", data=form_data(app, key="anon-plain-0001"), content_type="multipart/form-data",
                    environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT})
    assert r.get_data(as_text=True).count("<main") == 1 and "HX-Retarget" not in r.headers
