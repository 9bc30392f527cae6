"""A cheap phone in a browser: the system Chromium through Playwright at 360x640 with touch.

Shared by the browser tests and scripts/screenshots.py. Playwright never
downloads a browser here: it drives the Debian package `chromium`.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("ZALOAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# A 360x640 Android phone, Vietnamese, with a touch screen.
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}
PASSWORD = "demo-1234"


def missing_browser() -> str | None:
    """Say why the browser cannot run here, or None when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: install the Debian package `chromium` "
                "(`make test` does it when run as root with apt-get)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (requirements-dev.txt)"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_phone(browser, base_url: str, **options):
    """Open a new phone (a browser context of its own, with its own cookies) and return its page."""
    context = browser.new_context(base_url=base_url, **{**PHONE, **options})
    context.set_default_timeout(15_000)
    return context.new_page()


def login(page, phone: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person would."""
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form button.btn.main")


# Before a send: remember that this page is waiting for htmx to finish swapping the answer in.
_MARK = """() => {
  window.__zaloanSettled = false;
  const done = () => { window.__zaloanSettled = true; };
  for (const name of ["htmx:afterSettle", "htmx:sendError", "htmx:swapError"]) {
    document.addEventListener(name, done, {once: true});
  }
  // An answer with nothing to swap in (204) is settled as soon as it arrives.
  document.addEventListener("htmx:afterRequest", (e) => { if (e.detail.xhr.status === 204) done(); });
}"""


def sent(page, act, path: str | None = None) -> None:
    """Run `act` (a click that sends a form or follows a link) and return once its answer is on screen.

    With htmx the answer is on screen when the swap has settled; without it
    (JavaScript off, or a plain form or link) when the new page has loaded.
    A page that merely went idle is not enough: the click may not have
    started anything yet. `path` limits the wait to a POST to that path.
    """
    htmx = page.evaluate("() => !!window.htmx")
    if not htmx:
        with page.expect_navigation():
            act()
        return
    page.evaluate(_MARK)
    if path is None:
        act()
    else:
        with page.expect_response(lambda r: r.request.method == "POST" and urlsplit(r.url).path == path):
            act()
    # A new document has no mark (undefined !== false); an htmx swap sets it to true.
    page.wait_for_function("() => window.__zaloanSettled !== false")
    page.wait_for_load_state("load")


@contextmanager
def serve(app):
    """Serve `app` on a free loopback port from a background thread; yield its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def axe_source() -> str:
    """The axe-core script, from the pinned PyPI package that bundles it (no network at test time)."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
