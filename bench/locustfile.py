"""A commune's day, squeezed: informants and officers of one commune on the app at once (bench/load_run.py).

Run by bench/load_run.py, which seeds the database, serves the app and sets:
LOAD_INFORMANTS and LOAD_OFFICERS (comma-separated phone numbers, password
demo-1234) and LOAD_PHOTOS (a folder of small real JPEGs, as a phone's page
sends them after shrinking).

Informants log in, look at their home and their tips, send tips with a photo
(in the form itself, as without JavaScript, or uploaded first on its own, as
the page's script does) and answer in their tips' threads. Officers log in,
poll the queue as an open queue does, open it and tips, and ask the sender
questions. Now and then a user logs out and in again. Every answer is
checked: a wrong status, or a page without what it should show, counts as a
failure.
"""
from __future__ import annotations

import html
import itertools
import os
import random
import re
import uuid
from pathlib import Path

from locust import HttpUser, between, task

PASSWORD = "demo-1234"
INFORMANTS = [p for p in os.environ.get("LOAD_INFORMANTS", "0900000010,0900000011").split(",") if p]
OFFICERS = [p for p in os.environ.get("LOAD_OFFICERS", "0900000002,0900000003").split(",") if p]
PHOTOS = [p.read_bytes() for p in sorted(Path(os.environ.get("LOAD_PHOTOS", ".")).glob("*.jpg"))]
_next = itertools.count()

INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTR = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the first form whose action contains `action`."""
    start = page.find(f'action="{action}')
    if start < 0:
        raise ValueError(f"no form posting to {action}")
    segment = page[start:page.find("</form>", start)]
    fields = {}
    for tag in INPUT.findall(segment):
        attrs = dict(ATTR.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def select_values(page: str, name: str) -> list[str]:
    match = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    return re.findall(r'<option[^>]*value="(\d+)"', match.group(0)) if match else []


class Person(HttpUser):
    abstract = True
    phones: list[str] = []

    def on_start(self):
        self.phone = self.phones[next(_next) % len(self.phones)]
        self.login()

    def login(self):
        page = self.client.get("/login", name="login page").text
        token = form_fields(page, "/login")["csrf_token"]
        with self.client.post("/login", data={"csrf_token": token, "phone": self.phone, "password": PASSWORD},
                              name="login", allow_redirects=False, catch_response=True) as resp:
            if resp.status_code not in (302, 303) or "/login" in resp.headers.get("Location", "/login"):
                resp.failure(f"login answered {resp.status_code}")

    @task(1)
    def log_out_and_in(self):
        page = self.client.get(self.home, name=f"{self.kind} home").text
        token = form_fields(page, "/logout")["csrf_token"]
        with self.client.post("/logout", data={"csrf_token": token}, name="logout", allow_redirects=False,
                              catch_response=True) as resp:
            if resp.status_code not in (302, 303):
                resp.failure(f"logout answered {resp.status_code}")
        self.client.cookies.clear()
        self.login()


class Informant(Person):
    """Someone posted at a watch point who sends tips with photos and answers the officer."""

    weight = 4
    wait_time = between(5, 15)  # a person reading a page, typing a line on a phone
    phones = INFORMANTS
    home = "/informant/"
    kind = "informant"

    def on_start(self):
        self.tips: list[int] = []
        super().on_start()

    @task(3)
    def look_at_home(self):
        self.client.get("/informant/", name="informant home")

    @task(2)
    def look_at_my_tips(self):
        self.client.get("/informant/tips", name="informant: my tips")

    def tip_form(self) -> tuple[dict, str]:
        page = self.client.get("/informant/tips/new", name="informant: tip form").text
        fields = form_fields(page, "/informant/tips/new")
        categories = re.findall(r'name="category_id"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="category_id"', page)
        fields["category_id"] = random.choice([a or b for a, b in categories])
        fields.update(village_id=random.choice(select_values(page, "village_id") or ["0"]), watch_point_id="0",
                      place_text="Gần cổng chợ", occurred_at="", urgency=random.choice(["1", "2", "2", "2", "3"]),
                      body=f"Có người lạ đi xe máy không biển số, hỏi đường vào thôn ({uuid.uuid4().hex[:8]}).")
        return fields, page

    def sent(self, resp, what: str) -> None:
        location = resp.headers.get("Location", "")
        match = re.search(r"/informant/tips/(\d+)", location)
        if resp.status_code not in (302, 303) or not match:
            resp.failure(f"{what} answered {resp.status_code}: {resp.text[:200]!r}")
            return
        self.tips = (self.tips + [int(match.group(1))])[-5:]
        resp.success()

    @task(2)
    def send_tip_with_photo(self):
        """Without JavaScript: the photo goes in the form itself."""
        fields, _ = self.tip_form()
        with self.client.post("/informant/tips/new", data=fields, name="informant: tip with photo in the form",
                              files={"photos": ("anh.jpg", random.choice(PHOTOS), "image/jpeg")},
                              allow_redirects=False, catch_response=True) as resp:
            self.sent(resp, "tip")

    @task(1)
    def send_tip_after_uploading_photo(self):
        """With JavaScript: the photo is uploaded on its own first, then the tip names it."""
        fields, _ = self.tip_form()
        with self.client.post("/informant/photos", data={"csrf_token": fields["csrf_token"], "client_key": uuid.uuid4().hex},
                              files={"photo": ("anh.jpg", random.choice(PHOTOS), "image/jpeg")},
                              headers={"X-CSRFToken": fields["csrf_token"]},
                              name="informant: photo upload", catch_response=True) as resp:
            try:
                photo_id = resp.json()["id"]
            except (ValueError, KeyError):
                resp.failure(f"photo upload answered {resp.status_code}: {resp.text[:200]!r}")
                return
        fields["photo_ids"] = str(photo_id)
        with self.client.post("/informant/tips/new", data=fields, name="informant: tip with uploaded photo",
                              allow_redirects=False, catch_response=True) as resp:
            self.sent(resp, "tip")

    @task(2)
    def answer_in_thread(self):
        if not self.tips:
            return
        tip_id = random.choice(self.tips)
        page = self.client.get(f"/informant/tips/{tip_id}", name="informant: tip page").text
        if f"/informant/tips/{tip_id}/messages" not in page:
            return  # closed by an officer meanwhile: no answer box
        fields = form_fields(page, f"/informant/tips/{tip_id}/messages")
        fields["body"] = "Người đó mặc áo khoác xanh, đi về phía cầu."
        with self.client.post(f"/informant/tips/{tip_id}/messages", data=fields, name="informant: answer",
                              allow_redirects=False, catch_response=True) as resp:
            if resp.status_code == 409:
                resp.success()  # the tip was closed between the page and the answer: the sender is told
            elif resp.status_code not in (302, 303):
                resp.failure(f"answer answered {resp.status_code}: {resp.text[:200]!r}")


class Officer(Person):
    """A commune police officer with the queue open, reading tips and asking senders."""

    weight = 1
    wait_time = between(3, 10)
    phones = OFFICERS
    home = "/officer/"
    kind = "officer"

    def on_start(self):
        self.poll_url = None
        self.tip_ids: list[int] = []
        super().on_start()

    def read_queue(self, page: str) -> None:
        poll = re.search(r'hx-get="(/officer/queue/poll\?[^"]+)"', page)
        if poll:
            self.poll_url = html.unescape(poll.group(1))
        ids = [int(i) for i in re.findall(r'href="/officer/tips/(\d+)"', page)]
        if ids:
            self.tip_ids = ids

    @task(2)
    def open_queue(self):
        self.read_queue(self.client.get("/officer/", name="officer queue").text)

    @task(8)
    def poll_queue(self):
        if not self.poll_url:
            return self.open_queue()
        with self.client.get(self.poll_url, name="officer queue poll", catch_response=True) as resp:
            if resp.status_code == 200:
                self.read_queue(resp.text)  # the queue changed: the new one comes with its new version
            elif resp.status_code != 204:
                resp.failure(f"poll answered {resp.status_code}")

    @task(2)
    def open_tip(self):
        if not self.tip_ids:
            return self.open_queue()
        self.client.get(f"/officer/tips/{random.choice(self.tip_ids)}", name="officer: tip page")

    @task(1)
    def ask_sender(self):
        if not self.tip_ids:
            return self.open_queue()
        tip_id = random.choice(self.tip_ids)
        page = self.client.get(f"/officer/tips/{tip_id}", name="officer: tip page").text
        if f"/officer/tips/{tip_id}/ask" not in page:
            return
        fields = form_fields(page, f"/officer/tips/{tip_id}/ask")
        fields["body"] = "Anh/chị thấy người đó lúc mấy giờ?"
        with self.client.post(f"/officer/tips/{tip_id}/ask", data=fields, name="officer: ask the sender",
                              allow_redirects=False, catch_response=True) as resp:
            if resp.status_code not in (302, 303, 409):
                resp.failure(f"ask answered {resp.status_code}: {resp.text[:200]!r}")
            else:
                resp.success()
