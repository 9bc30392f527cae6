"""Response helpers shared by every blueprint: full page or fragment, headers, assets."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_request_context, make_response, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.exceptions import SecurityError


def wants_fragment() -> bool:
    """Return True for an htmx request that swaps into a named element and so wants a fragment.

    A boosted link, a history restore and an HX-Location navigation (which
    swaps into <body>, so sends no HX-Target) all need the whole page.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request and bool(htmx.target)


def render(template: str, fragment: str | None = None, status: int = 200, **context):
    """Render `fragment` for htmx requests and the page `template` otherwise; always `Vary: HX-Request`."""
    chosen = fragment if (fragment and wants_fragment()) else template
    return _answer(render_template(chosen, **context), status)


def render_drawn(html: str, status: int = 200, fragment: bool = False):
    """Answer with the page around `html`, its main part drawn already (`kept.drawn_once`), or with the part
    alone when it is also the page's htmx fragment (`fragment`) and htmx asks for one."""
    if not (fragment and wants_fragment()):
        html = render_template("drawn.html", part=Markup(html))
    return _answer(html, status)


def _answer(body: str, status: int):
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    resp.vary.add("HX-Target")
    return resp


def render_in_main(template: str, status: int = 200, **context):
    """Answer an htmx request with the `content` block of the page `template`, to replace what <main> holds.

    For a form that swaps itself but whose success is a new page that cannot
    be a redirect (what it shows is shown once): the page keeps its one
    header, main and footer.
    """
    current_app.update_template_context(context)
    page = current_app.jinja_env.get_template(template)
    html = "".join(page.blocks["content"](page.new_context(context)))
    resp = make_response(html, status)
    resp.headers["HX-Retarget"] = "#main"
    resp.headers["HX-Reswap"] = "innerHTML show:window:top"
    resp.vary.add("HX-Request")
    resp.vary.add("HX-Target")
    return resp


def redirect_to(endpoint: str, **values):
    """Redirect after a successful POST; an htmx request gets HX-Location (no full reload)."""
    return redirect_to_path(url_for(endpoint, **values))


def redirect_to_path(target: str):
    """Redirect to a path of this site (already checked) after a successful POST, as `redirect_to` does."""
    if getattr(request, "htmx", False):
        resp = make_response("", 204)
        resp.headers["HX-Location"] = target
        return resp
    resp = make_response("", 303)
    resp.headers["Location"] = target
    return resp


def external_url(endpoint: str, **values) -> str:
    """Return an absolute link to hand to someone (an activation link), on the configured BASE_URL.

    Never from the request's Host header when BASE_URL is set: a forged Host
    would otherwise put another site's address in a link an officer passes on.
    Without BASE_URL (development) the link uses the address the page was opened at.
    """
    base = current_app.config.get("BASE_URL")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


# --- Where to go back to, from user input -----------------------------------------

# Control characters: a browser drops tabs and newlines anywhere in a URL, so they can hide "//".
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_next(target: str | None) -> str | None:
    """Return `target` as a path on this site, or None when a browser could read it as another site.

    Browsers strip tabs and newlines anywhere in a URL, read a backslash as a
    slash and take "//host" as another site; some links are decoded once more
    on the way. So a target is refused if any of its decoded forms has a
    control character, a backslash, a scheme or a host, or starts
    with anything but a single "/". What is kept is the path and the query.
    """
    if not isinstance(target, str) or not target or len(target) > 2000:
        return None
    form = target
    for _round in range(4):
        if _CONTROL.search(form) or "\\" in form:
            return None
        if not form.startswith("/") or form.startswith("//"):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
        decoded = unquote(form)
        if decoded == form:
            break
        form = decoded
    else:
        return None  # encoded more deeply than any link of ours
    parts = urlsplit(target)
    return parts.path + ("?" + parts.query if parts.query else "")


# --- Static assets under content-hashed URLs --------------------------------------


def _asset_hashes(app: Flask) -> dict[str, str]:
    hashes = {}
    root = Path(app.static_folder)
    for path in root.rglob("*"):
        if path.is_file():
            hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return hashes


def photo_version(photo) -> str:
    """Return what names a photo's content in its URL, so a kept copy is never a stale one.

    A photo never changes, but a row id can come back after a purge (SQLite
    reuses the highest id); the hash makes the URL change with the content.
    """
    return photo.sha256[:16]


def photo_url(photo, thumb: bool = False) -> str:
    """Return where a page links a photo, or its thumbnail with `thumb`."""
    return url_for("photos.thumb" if thumb else "photos.show", attachment_id=photo.id, v=photo_version(photo))


def asset_url(filename: str) -> str:
    """Return the URL of a static file with its content hash, cacheable for a year."""
    return page_url_for("static", filename=filename, v=current_app.extensions["asset_hashes"].get(filename, "0"))


_STATIC_VALUES = frozenset({"filename", "v"})


def page_url_for(endpoint: str, **values) -> str:
    """Flask's `url_for` for pages: an address that is the same on every page is built once per app.

    Every page builds the same twenty-odd addresses (navigation, header,
    footer, scripts) and building one costs about as much as a line of the
    page: those without values, and the static files' (a file name and its
    hash, fixed), are kept, per script root. Any other call (with values, an
    external address, an anchor) is Flask's own.
    """
    if endpoint.startswith(".") or not has_request_context() or not _STATIC_VALUES.issuperset(values) \
            or (values and endpoint != "static"):
        return url_for(endpoint, **values)
    key = (endpoint, request.script_root, *sorted(values.items()))
    built = current_app.extensions["zaloan.page_urls"]
    url = built.get(key)
    if url is None:
        url = built[key] = url_for(endpoint, **values)
    return url


FIXED_KEPT = 512  # fragments kept per app: a few per role, count and language


def fixed(template: str, **args) -> Markup:
    """Render `template`, which reads nothing but `args`, the language and the app's addresses, once per worker.

    The navigation, the bell and the head's links are the same on every page of
    a role, a count and a language, and drawing them cost a fifth of a page
    whose list is kept. Such a fragment is rendered without the page's context
    (no `current_user`, no `request`: reading them would show at once in
    tests/test_fixed.py, which compares each fragment with the page drawn
    without keeping), and kept by its template, its arguments, the language it
    was translated to and the script root.
    """
    if not has_request_context() or not current_app.config["FIXED_FRAGMENTS"]:
        return Markup(current_app.jinja_env.get_template(template).render(**args))
    key = (template, request.script_root, str(get_locale()), *sorted(args.items()))
    kept = current_app.extensions["zaloan.fixed"]
    html = kept.get(key)
    if html is None:
        html = Markup(current_app.jinja_env.get_template(template).render(**args))
        if len(kept) >= FIXED_KEPT:
            kept.clear()
        kept[key] = html
    return html


# --- Security headers -----------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def refuse_unknown_host():
    """Answer 400 to a request for a host not in TRUSTED_HOSTS, before anything else looks at it.

    Flask notes the refused host as the request's routing error, but the hooks
    run before that error is raised, and a page cannot even build its links
    for such a host: answer in plain text here, first.
    """
    if isinstance(request.routing_exception, SecurityError):
        resp = make_response(_("This address is not where the app is served."), 400)
        resp.mimetype = "text/plain"
        return resp
    return None


HSTS = "max-age=31536000"


def security_headers(hsts: bool) -> list[tuple[str, str]]:
    """The headers every answer carries, however it was answered (see `unchanged`)."""
    out = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY")]
    if hsts:
        # A year of HTTPS only, for this host alone: no includeSubDomains or preload, as
        # other services of the same domain may not all be on HTTPS.
        out.append(("Strict-Transport-Security", HSTS))
    return out


def set_headers(resp):
    """Add security and caching headers to every response (after_request)."""
    h = resp.headers
    for name, value in security_headers(current_app.config["HSTS"] and request.is_secure):
        h.setdefault(name, value)
    if request.endpoint == "static":
        if request.args.get("v"):
            h["Cache-Control"] = "public, max-age=31536000, immutable"
    elif "Cache-Control" not in h:
        # Pages can carry tip data and identities: never keep them in a cache.
        h["Cache-Control"] = "no-store"
    return resp


def init_web(app: Flask) -> None:
    app.extensions["asset_hashes"] = _asset_hashes(app)
    app.extensions["zaloan.page_urls"] = {}
    app.extensions["zaloan.fixed"] = {}
    app.jinja_env.globals["fixed"] = fixed
    app.jinja_env.globals["url_for"] = page_url_for
    app.jinja_env.globals["asset_url"] = asset_url
    # Where a page links a photo; the anonymous follow-up page passes its own.
    app.jinja_env.globals["photo_url"] = photo_url
    app.after_request(set_headers)
    # First of all hooks: before the CSRF check and the access rules look at the request.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unknown_host)
