"""Hostile input never breaks the app: every route's query string and path ids, and every form of
every role, fed huge numbers, impossible dates, junk and very long text, answer below 500.

The routes come from app.url_map and the forms from the pages themselves (each role's pages are
fetched and their <form method=post> fields read), so a new route or form is covered without
editing this file. Hypothesis runs derandomized: the same examples on every run. For a longer
hunt with fresh examples, set ZALOAN_HOSTILE_SCALE (e.g. 20): that many times the examples, random.
"""
from __future__ import annotations

import io
import os
from html.parser import HTMLParser
from urllib.parse import urlencode, urlparse

import pytest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing.converters import AnyConverter
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from zaloan.permissions import ANY_USER, PUBLIC, access_rule

from .test_access_matrix import (
    ROLE_OF,
    ROLES,
    SKIP,
    demo_objects,
    endpoints,
    make_app_for_listing,
    own_value,
    session_client,
)

# Every name a view reads from the query string (grep request.args / request.values in zaloan/).
QUERY_PARAMS = ["after", "before", "village", "category", "status", "actor", "action", "target", "since", "until", "v",
                "next", "role", "commune", "answered", "sent", "q", "id"]

# Values that broke, or could break, a parser or a database bind.
NASTY = [
    "99999999999999999999", str(2**31), str(2**31 - 1), str(2**63), str(2**64), "-1", "0", "-99999999999999999999",
    "1e9", "1.5", "0x10", " 1", "²", "٣", "१२", "NaN", "inf", "",
    "0001-01-01", "0001-01-01T00:00", "0001-01-01T00:00:00", "9999-12-31", "9999-12-31T23:59", "2026-02-30",
    "2026-13-01T25:61", "10000-01-01T00:00", "-0001-01-01", "1899-12-31T23:59", "2026-11-30T",
    "\x00", "a\x00b", "x" * 20000, "🙂" * 500, "<script>alert(1)</script>", "' OR 1=1 --", "%", "%00",
    "../../etc/passwd", "\r\n", "//evil.example", "https://evil.example/", "javascript:alert(1)",
    "1,2", "[]", "{}", "None", "true",
]
TEXT = st.characters(exclude_categories=("Cs",))  # no lone surrogates: they cannot travel as UTF-8
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(TEXT, max_size=40),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M") if d.year >= 1000 else d.isoformat()[:16]),
)
HUGE_IDS = [0, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**20, 10**40]

# Actions that end the session or lock an account would leave the rest of the run logged out.
NOT_POSTED = {"auth.logout", "auth.logout_everywhere", "people.disable", "people.lost_phone"}

SCALE = int(os.environ.get("ZALOAN_HOSTILE_SCALE", "1"))
# No "explain" phase: it traces every line of the app for each shrunk example, minutes for one failure.
SETTINGS = settings(max_examples=8 * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ENDPOINTS = endpoints(make_app_for_listing())


def may(app, who: str, endpoint: str) -> bool:
    with app.test_request_context():
        rule = access_rule(endpoint)
    if PUBLIC in rule:
        return True
    return who != "anonymous" and (ANY_USER in rule or ROLE_OF[who] in rule)


def own_url(rule, who: str, objects: dict, ident: int | None = None) -> str | None:
    """Build the rule's URL with the role's own objects, or with `ident` for every int argument."""
    values = {}
    for arg in rule.arguments:
        # An `any(...)` part (a file kind) takes only its own words: those are given below.
        fixed = isinstance(rule._converters.get(arg), AnyConverter)
        if ident is not None and arg != "code" and arg != "filename" and not fixed:
            values[arg] = ident
        else:
            values[arg] = own_value(rule.endpoint, arg, who, objects)
        if values[arg] is SKIP:
            return None
    return rule.build(values)[1]


def check(resp, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code}"


# --- Query strings and path numbers ----------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_hostile_query_strings_and_path_ids_never_answer_5xx(app, who):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500 instead of raising in the test
    with app.app_context():
        objects = demo_objects()
    client = session_client(app, who)
    # GET routes, and POST routes too: a form's action can carry the filters in its query string.
    routes = [(r, "GET" if "GET" in m else "POST") for e, r, m in ENDPOINTS
              if e != "static" and e not in NOT_POSTED and may(app, who, e)]

    @SETTINGS
    @given(params=st.dictionaries(st.sampled_from(QUERY_PARAMS), HOSTILE, min_size=1, max_size=4),
           ident=st.one_of(st.none(), st.sampled_from(HUGE_IDS), st.integers(min_value=0, max_value=2**80)),
           htmx=st.booleans())
    def run(params, ident, htmx):
        headers = {"HX-Request": "true", "HX-Target": "main"} if htmx else {}
        for rule, method in routes:
            url = own_url(rule, who, objects, ident if rule.arguments else None)
            if url is None:
                continue
            resp = client.open(url + "?" + urlencode(params), method=method, headers=headers)
            check(resp, f"{method} {url}?{urlencode(params)[:200]} as {who}")

    run()


# --- Forms ----------------------------------------------------------------------------------------


class FormReader(HTMLParser):
    """Read every <form method=post> of a page: its action and its fields with their first values."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.current = {"action": a.get("action") or "", "fields": {}, "files": []}
            self.forms.append(self.current)
        if self.current is None or not a.get("name"):
            return
        fields, name = self.current["fields"], a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self.current["files"].append(name)
            elif kind in ("checkbox", "radio"):
                if kind == "checkbox" or name not in fields:
                    fields.setdefault(name, []).append(a.get("value") or "on")
            elif kind not in ("submit", "button", "reset", "image"):
                fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select":
            self.select = name
            fields.setdefault(name, [])
        elif tag == "option" and self.select and not self.current["fields"][self.select]:
            fields[self.select].append(a.get("value") or "")
        elif tag == "textarea":
            self.textarea = name
            fields.setdefault(name, []).append("")
        elif tag == "button" and a.get("value") is not None:
            fields.setdefault(name, []).append(a["value"])

    def handle_data(self, data):
        if self.current is not None and self.textarea:
            self.current["fields"][self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def collect_forms(app, client, who: str, objects: dict) -> list[dict]:
    """Fetch every page the role may open and return its post forms (one per action), plus a bare form
    for each POST route the role may call that no page shows (uploads sent by the page's script)."""
    found: dict[str, dict] = {}
    for endpoint, rule, methods in ENDPOINTS:
        if "GET" not in methods or endpoint == "static" or not may(app, who, endpoint):
            continue
        url = own_url(rule, who, objects)
        resp = client.get(url) if url else None
        if resp is None or resp.status_code != 200 or not resp.mimetype.startswith("text/html"):
            continue
        reader = FormReader()
        reader.feed(resp.get_data(as_text=True))
        for form in reader.forms:
            action = urlparse(form["action"] or url).path
            found.setdefault(action, form | {"action": action})
    adapter = app.url_map.bind("localhost")
    by_endpoint: dict[str, dict] = {}
    for action, form in found.items():
        endpoint = post_endpoint(adapter, action)
        if endpoint not in NOT_POSTED:
            by_endpoint.setdefault(endpoint or action, form)  # one of the commune's ten category forms is enough
    forms = list(by_endpoint.values())
    # A form no page shows gets the names its route reads from a form sent with every field name the role's
    # pages use (sweeping the names it ignores would try nothing new; a name it looks for that no page uses,
    # such as a push subscription's keys, is tried too).
    every_name = {name: [""] for form in forms for name in form["fields"]}
    for endpoint, rule, methods in ENDPOINTS:
        if "POST" in methods and endpoint not in by_endpoint and endpoint not in NOT_POSTED and may(app, who, endpoint):
            url = own_url(rule, who, objects)
            if url:
                read = names_read(app, client, url, every_name)
                forms.append({"action": url, "fields": {n: every_name.get(n, [""]) for n in sorted(read)}
                              | {"client_key": ["hostile-key-0001"]}, "files": ["photo"]})
    return sorted(forms, key=lambda f: f["action"])


class RecordingForm(ImmutableMultiDict):
    """A request's form that notes each name the app looks up in it."""

    asked: set[str] | None = None

    def _note(self, key):
        if RecordingForm.asked is not None:
            RecordingForm.asked.add(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, *args, **kwargs):
        self._note(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key, *args, **kwargs):
        self._note(key)
        return super().getlist(key, *args, **kwargs)


def names_read(app, client, url: str, fields: dict) -> set[str]:
    """Post `fields` to `url` once and return the names its route read from the form."""
    original = app.request_class
    app.request_class = type("RecordingRequest", (original,), {"parameter_storage_class": RecordingForm})
    RecordingForm.asked = set()
    try:
        check(client.post(url, data=fields | {"client_key": ["hostile-key-0000"]}), f"POST {url} (probe)")
        return set(RecordingForm.asked)
    finally:
        RecordingForm.asked = None
        app.request_class = original


def post_endpoint(adapter, path: str) -> str | None:
    """Return the endpoint a form's action posts to (None for an action without a POST route)."""
    try:
        return adapter.match(path, method="POST")[0]
    except Exception:  # noqa: BLE001  (NotFound or MethodNotAllowed: such a post would answer 4xx, still fine)
        return None


# Fields some forms read outside WTForms, or that a page's script adds; sent to every form now and then.
EXTRA_FIELDS = ["photo_ids", "verifier_ids", "village_id", "category_id", "occurred_at", "due_at", "to_id",
                "handler_id", "officer_id", "post", "to"] + QUERY_PARAMS  # request.values reads the body too
FIELD_CHANGE = st.one_of(
    st.just(("drop",)),
    HOSTILE.map(lambda v: ("set", v)),
    st.lists(HOSTILE, min_size=2, max_size=12).map(lambda vs: ("many", vs)),
)


@pytest.mark.parametrize("who", ROLES)
def test_hostile_form_values_never_answer_5xx(app, who):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        objects = demo_objects()
    client = session_client(app, who)
    forms = collect_forms(app, client, who, objects)
    assert forms, f"no form found for {who}"
    if who in ("officer", "commander", "informant", "verifier"):
        assert len(forms) >= 3, f"too few forms found for {who}: {[f['action'] for f in forms]}"

    @settings(SETTINGS, max_examples=3 * SCALE * len(forms))
    @given(data=st.data())
    def run(data):
        form = data.draw(st.sampled_from(forms))
        # A valid form with one to three fields changed reaches the code past validation, too.
        names = list(dict.fromkeys(list(form["fields"]) + EXTRA_FIELDS))
        targets = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        body = {name: values for name, values in form["fields"].items() if name not in targets}
        for name in targets:
            change = data.draw(FIELD_CHANGE)
            if change[0] == "set":
                body[name] = [change[1]]
            elif change[0] == "many":
                body[name] = change[1]
        blob = data.draw(st.one_of(st.none(), st.binary(max_size=64))) if form["files"] else None
        htmx = data.draw(st.booleans())
        if blob is not None:
            body[form["files"][0]] = [(io.BytesIO(blob), "x.jpg")]
        resp = client.post(form["action"], data=body, content_type="multipart/form-data",
                           headers={"HX-Request": "true", "HX-Target": "main"} if htmx else {})
        check(resp, f"POST {form['action']} as {who} with {str(body)[:400]}")

    run()


# Each tried alone in every field of every form, the others kept valid: reaches the code after validation.
SWEEP = [str(10**20), "-1", "0001-01-01T00:00", "9999-12-31T23:59", "²", "a\x00b", "x" * 6000]
# The forms open to anyone are swept as anonymous only; the commander's officer forms as the officer.
SWEPT_ELSEWHERE = {
    "anonymous": set(), "informant": {"public", "auth"}, "verifier": {"public", "auth"},
    "officer": {"public", "auth"}, "commander": {"public", "auth", "officer"},
}


@pytest.mark.parametrize("who", list(SWEPT_ELSEWHERE))
def test_each_field_of_each_form_refuses_hostile_values_without_5xx(app, who):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        objects = demo_objects()
    client = session_client(app, who)
    adapter = app.url_map.bind("localhost")
    swept = 0
    for form in collect_forms(app, client, who, objects):
        endpoint = post_endpoint(adapter, form["action"]) or ""
        if endpoint.split(".")[0] in SWEPT_ELSEWHERE[who]:
            continue
        for name in form["fields"]:
            if name in ("csrf_token", "client_key"):
                continue
            for value in SWEEP:
                body = form["fields"] | {name: [value], "client_key": [f"sweep-{swept:08d}"]}
                swept += 1
                resp = client.post(form["action"], data=body)
                check(resp, f"POST {form['action']} as {who} with {name}={value[:40]!r}")
    assert swept >= 5 * len(SWEEP), f"too few fields swept for {who}"
