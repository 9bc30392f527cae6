"""Browser benchmark on emulated 2G and slow 3G: bytes, requests and load time per page,
the officer's tip page with three camera photos (thumbnails against whole photos,
cold and warm), sending a tip with a 4 MB photo next to a plain upload of it, and
sending a tip with a one-minute voice note.

    .venv/bin/python bench/browser.py            # both profiles
    .venv/bin/python bench/browser.py --profile 2g
    .venv/bin/python bench/browser.py --profile 2g --only photos
    .venv/bin/python bench/browser.py --profile 2g --only voice   # a minute of speaking, then the send

Drives the system Chromium (Debian package `chromium`) through Playwright at
360x640, with the network shaped by the DevTools protocol
(Network.emulateNetworkConditions). Every page is measured with a cold cache
(a new browser context). The app is served by gunicorn on loopback with a
fresh demo commune.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

from tests.camera import camera_jpeg  # noqa: E402

PROFILES = {
    # latency ms, download bytes/s, upload bytes/s
    "2g": (800, 35_000, 32_000),
    "slow-3g": (2_000, 50_000, 50_000),
}
# A microphone that plays a beep, asked for without a prompt (the voice tip).
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

# (role phone, page path, name)
PAGES = [
    (None, "/login", "login"),
    ("0900000010", "/informant/", "informant home"),
    ("0900000010", "/informant/tips/new", "tip form"),
    ("0900000010", "/informant/tips", "my tips"),
    ("0900000020", "/verifier/", "verifier tasks"),
    ("0900000002", "/officer/", "officer queue"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer")


def camera_photo(path: Path, seed: int = 3) -> int:
    """Write a 4000x3000 JPEG made like a phone photo (about 4 MB, `tests/camera.py`); return its size."""
    data = camera_jpeg(seed)
    path.write_bytes(data)
    return len(data)


class Meter:
    """Count requests and encoded bytes received through a DevTools session."""

    def __init__(self, cdp):
        self.requests = 0
        self.bytes = 0
        self.sent = 0
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._done)
        cdp.on("Network.requestWillBeSentExtraInfo", self._headers)

    def _sent(self, event):
        self.requests += 1

    def _done(self, event):
        self.bytes += int(event.get("encodedDataLength", 0))

    def _headers(self, event):
        headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
        self.sent += int(headers.get("content-length", 0) or 0)


def shaped_page(browser, profile, base):
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True,
                                  locale="vi-VN", base_url=base)
    context.set_default_timeout(900_000)  # a 4 MB upload on 2G takes minutes
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    latency, down, up = PROFILES[profile]
    meter = Meter(cdp)
    return context, page, cdp, meter, (latency, down, up)


def shape(cdp, conditions):
    latency, down, up = conditions
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency, "downloadThroughput": down, "uploadThroughput": up})


def login(page, phone):
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", "demo-1234")
    page.click("button.btn.main")
    page.wait_for_load_state("load")


def measure_pages(browser, profile, base):
    rows = []
    for phone, path, name in PAGES:
        context, page, cdp, meter, cond = shaped_page(browser, profile, base)
        if phone:
            login(page, phone)
            # Cold cache for the page itself: drop what login fetched.
            cdp.send("Network.clearBrowserCache")
        meter.requests = meter.bytes = 0
        shape(cdp, cond)
        start = time.perf_counter()
        page.goto(path, wait_until="load")
        elapsed = time.perf_counter() - start
        rows.append((name, meter.bytes, meter.requests, elapsed))
        # A navigation after the first page (warm cache): follow the first menu link.
        if phone:
            meter.requests = meter.bytes = 0
            start = time.perf_counter()
            page.goto(path, wait_until="load")
            rows.append((name + " (again, warm)", meter.bytes, meter.requests, time.perf_counter() - start))
        context.close()
    return rows


PHOTO_SEED = """
import json
from zaloan import create_app
from tests.camera import add_tip_with_photos
with create_app().app_context():
    print(json.dumps(add_tip_with_photos()))
"""


class WholePhotos:
    """Make the page load the whole photos where it shows thumbnails, as it did before thumbnails.

    Through the DevTools Fetch domain, a thumbnail request goes to the
    photo's own URL; the page and its HTML are the app's own, byte for byte.
    """

    def __init__(self, cdp):
        self.cdp = cdp
        cdp.on("Fetch.requestPaused", self._paused)
        cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "*/thumb?v=*", "requestStage": "Request"}]})

    def _paused(self, event):
        self.cdp.send("Fetch.continueRequest", {"requestId": event["requestId"],
                                                "url": event["request"]["url"].replace("/thumb?", "?")})


def photos_loaded(page) -> None:
    """Wait until every image of the page is shown (polled from here: the page's CSP forbids eval)."""
    while not page.evaluate("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"):
        time.sleep(0.02)


def measure_photo_tip(browser, profile, base, tip: dict):
    """The officer's tip page with three photos: thumbnails (now) against whole photos (before).

    Rows: cold (empty cache); first view with htmx and CSS already cached
    (the usual case: the officer comes from the queue); the same page again
    (photos kept by the browser). Before thumbnails, photos were sent
    `no-store`, so every later visit cost what the first one with htmx
    cached did: that row is not measured twice. Then a tap on a thumbnail.
    """
    rows = []
    url = f"/officer/tips/{tip['tip']}"
    for variant, steps in (("thumbnails", ("cold", "htmx cached", "again, warm")),
                           ("whole photos (before)", ("cold", "htmx cached = any later visit"))):
        context, page, cdp, meter, cond = shaped_page(browser, profile, base)
        login(page, "0900000002")
        if variant != "thumbnails":
            WholePhotos(cdp)
        cdp.send("Network.clearBrowserCache")
        shape(cdp, cond)
        for name in steps:
            if name.startswith("htmx cached"):  # an empty cache, then the queue: htmx and CSS kept, no photo
                cdp.send("Network.clearBrowserCache")
                page.goto("/officer/", wait_until="load")
            meter.requests = meter.bytes = 0
            start = time.perf_counter()
            page.goto(url, wait_until="load")
            photos_loaded(page)
            rows.append((f"{variant}: {name}", meter.bytes, meter.requests, time.perf_counter() - start))
        if variant == "thumbnails":
            meter.requests = meter.bytes = 0
            start = time.perf_counter()
            with page.expect_navigation(wait_until="load", timeout=600_000):
                page.click("a.ph >> nth=0")
            rows.append(("whole photo, on a tap", meter.bytes, meter.requests, time.perf_counter() - start))
        context.close()
    return rows


def fill_and_send(page, cdp, meter, cond, photo: Path, done: str) -> tuple[float, int]:
    """On a loaded tip form: shape the network, fill it with the photo, send; (seconds, bytes sent) until `done`."""
    shape(cdp, cond)
    meter.sent = 0
    start = time.perf_counter()
    page.check("input[name=category_id] >> nth=0")
    page.fill("textarea[name=body]", "Có người lạ tụ tập ở cổng chợ, nghi mua bán trái phép.")
    page.set_input_files("input[type=file][name=photos]", str(photo))
    page.click("button.btn.main")
    page.wait_for_selector(done, timeout=600_000)
    return time.perf_counter() - start, meter.sent


def send_tip(browser, profile, base, photo: Path):
    """Send a tip with the photo through the real form (JS shrinks and uploads it)."""
    context, page, cdp, meter, cond = shaped_page(browser, profile, base)
    login(page, "0900000010")
    page.goto("/informant/tips/new", wait_until="load")
    result = fill_and_send(page, cdp, meter, cond, photo, "[data-clear-draft]")
    context.close()
    return result


def send_anonymous_tip(browser, profile, base, photo: Path):
    """Send a tip with the photo without an account (JS shrinks it in place; it goes with the form)."""
    context, page, cdp, meter, cond = shaped_page(browser, profile, base)
    page.goto("/report/", wait_until="load")
    result = fill_and_send(page, cdp, meter, cond, photo, "span.code")  # the receipt: code and key
    context.close()
    return result


def send_voice_tip(media_browser, profile, base, seconds: int = 60) -> tuple[float, int, float]:
    """Record a voice tip of `seconds` with Chromium's fake microphone, then send it on the shaped network.

    The clock starts when "Dừng" (stop) is pressed, as the sender finishes speaking: the note uploads on
    its own request, the form waits for it, then goes. Returns (seconds until the tip is acknowledged,
    bytes sent, seconds of the upload alone).
    """
    context, page, cdp, meter, cond = shaped_page(media_browser, profile, base)
    context.grant_permissions(["microphone"])
    login(page, "0900000010")
    page.goto("/informant/tips/new", wait_until="load")
    page.check("input[name=category_id] >> nth=0")
    page.fill("textarea[name=body]", "Tôi nói rõ hơn trong ghi âm.")
    box = page.locator("[data-voice]")
    box.get_by_role("button", name="Bấm để nói").click()
    stop = box.get_by_role("button", name="Dừng")
    stop.wait_for()
    time.sleep(seconds)
    shape(cdp, cond)
    meter.sent = 0
    start = time.perf_counter()
    stop.click()
    box.locator("text=Đã tải lên").wait_for(timeout=600_000)
    uploaded = time.perf_counter() - start
    page.click("button.btn.main")
    page.wait_for_selector("[data-clear-draft]", timeout=600_000)
    elapsed, sent = time.perf_counter() - start, meter.sent
    context.close()
    return elapsed, sent, uploaded


def plain_upload(browser, profile, bare_base, photo: Path):
    """Upload the same photo in a plain multipart form to a bare endpoint."""
    context, page, cdp, meter, cond = shaped_page(browser, profile, bare_base)
    page.goto("/", wait_until="load")
    shape(cdp, cond)
    meter.sent = 0
    start = time.perf_counter()
    page.set_input_files("input[type=file]", str(photo))
    page.click("button")
    page.wait_for_selector("#done", timeout=900_000)
    elapsed = time.perf_counter() - start
    sent = meter.sent
    context.close()
    return elapsed, sent


def floor(sent: int, round_trips: int, profile: str) -> float:
    latency, _, up = PROFILES[profile]
    return sent / up + round_trips * latency / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=[*PROFILES, "all"], default="all")
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--only", choices=["pages", "photos", "upload", "voice"], help="run one part only")
    parser.add_argument("--voice-seconds", type=int, default=60, help="how long the voice tip speaks")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="zaloan-bench-"))
    env = {**os.environ, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp / 'b.sqlite'}",
           "UPLOAD_FOLDER": str(tmp / "uploads")}
    flask = [str(VENV_BIN / "flask"), "--app", "app"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(flask + ["demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    photo_tip = json.loads(subprocess.run([sys.executable, "-c", PHOTO_SEED], cwd=ROOT, env=env, check=True,
                                          capture_output=True, text=True).stdout)
    port, bare_port = free_port(), free_port()
    procs = [
        subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "2", "--timeout", "900", "-b", f"127.0.0.1:{port}", "--log-level",
                          "warning", "wsgi:app"], cwd=ROOT, env=env),
        subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "2", "--timeout", "900", "-b", f"127.0.0.1:{bare_port}", "--log-level",
                          "warning", "bare:app"], cwd=ROOT / "bench", env=env),
    ]
    base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    try:
        wait_for(base + "/login")
        wait_for(bare + "/")
        photo = tmp / "camera.jpg"
        size = camera_photo(photo)
        profiles = list(PROFILES) if args.profile == "all" else [args.profile]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            for profile in profiles:
                latency, down, up = PROFILES[profile]
                print(f"\n== {profile}: latency {latency} ms, down {down} B/s, up {up} B/s, 360x640, cold cache")
                if args.only in (None, "pages"):
                    print(f"{'page':32} {'bytes':>8} {'requests':>9} {'load s':>8}")
                    for name, nbytes, nreq, elapsed in measure_pages(browser, profile, base):
                        print(f"{name:32} {nbytes:8d} {nreq:9d} {elapsed:8.2f}")
                if args.only in (None, "photos"):
                    print("\nofficer's tip page with three camera photos (until every image is shown)")
                    print(f"{'page':52} {'bytes':>8} {'requests':>9} {'load s':>8}")
                    for name, nbytes, nreq, elapsed in measure_photo_tip(browser, profile, base, photo_tip):
                        print(f"{name:52} {nbytes:8d} {nreq:9d} {elapsed:8.2f}")
                if args.only in (None, "voice"):
                    media = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                              args=CHROMIUM_ARGS + MEDIA_ARGS)
                    v_s, v_sent, v_up = send_voice_tip(media, profile, base, args.voice_seconds)
                    media.close()
                    print(f"\nvoice tip of {args.voice_seconds} s (Chromium's fake microphone), from pressing stop")
                    print(f"{'send':32} {'bytes up':>9} {'seconds':>8} {'upload s':>9}")
                    print(f"{'tip with a voice note (JS)':32} {v_sent:9d} {v_s:8.1f} {v_up:9.1f}")
                if args.skip_upload or args.only not in (None, "upload"):
                    continue
                tip_s, tip_sent = send_tip(browser, profile, base, photo)
                anon_s, anon_sent = send_anonymous_tip(browser, profile, base, photo)
                plain_s, plain_sent = plain_upload(browser, profile, bare, photo)
                print(f"\nphoto: 4000x3000 JPEG, {size} bytes")
                print(f"{'send':32} {'bytes up':>9} {'seconds':>8} {'floor s':>8}")
                print(f"{'tip with photo (zaloan, JS)':32} {tip_sent:9d} {tip_s:8.1f} {floor(tip_sent, 4, profile):8.1f}")
                print(f"{'anonymous tip with photo (JS)':32} {anon_sent:9d} {anon_s:8.1f} {floor(anon_sent, 1, profile):8.1f}")
                print(f"{'plain multipart upload':32} {plain_sent:9d} {plain_s:8.1f} {floor(plain_sent, 2, profile):8.1f}")
                print(f"speed-up: {plain_s / tip_s:.1f}x faster than the plain upload "
                      f"(anonymous: {plain_s / anon_s:.1f}x)")
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
