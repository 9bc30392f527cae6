"""Error pages: plain Vietnamese, no stack traces, no hint that a hidden object exists."""
from urllib.parse import urlsplit

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _

from . import faults
from .extensions import db
from .web import render, safe_next

MESSAGES = {
    400: lambda: _("The request could not be understood. Please go back and try again."),
    403: lambda: _("You cannot open this page."),
    404: lambda: _("This page does not exist, or you cannot open it."),
    405: lambda: _("This page does not exist, or you cannot open it."),
    413: lambda: _("What you sent is too large. Please send smaller photos or fewer at once."),
    429: lambda: _("Too many requests. Please wait a little and try again."),
    500: lambda: _("Something went wrong on our side. What you sent was not saved; please try again."),
    503: lambda: _("This cannot be opened right now. Please try again in a few minutes."),
}


def answers_json(view):
    """Mark a view whose caller reads JSON (a page's script): its errors are answered as {"error": words} too."""
    view.answers_json = True
    return view


def wants_json() -> bool:
    """Return True when the request's view answers JSON (see answers_json)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "answers_json", False))


def error_response(code: int, message: str):
    """Answer an error in the request's own format: JSON, an htmx fragment, or a page."""
    if wants_json():
        return jsonify(error=message), code
    return render("errors/error.html", "errors/_error.html", status=code, code=code, message=message)


def disk_full_error():
    """Say the server is out of space (507), and let the commander know (see zaloan.faults)."""
    db.session.rollback()
    faults.note_storage_full()
    return error_response(507, str(faults.DISK_FULL))


def http_error(error):
    """Render an HTTP error as a page (or a fragment for htmx, or JSON for a script) in the user's language."""
    code = getattr(error, "code", 500) or 500
    if code == 500 and faults.disk_full(getattr(error, "original_exception", None)):
        return disk_full_error()
    if code not in MESSAGES:
        code = 500
    if code == 500:
        # A failed statement leaves the transaction unusable; the page itself may need the database.
        db.session.rollback()
    return error_response(code, MESSAGES[code]())


# Posted fields never shown back: secrets, and keys only a machine reads.
_UNSHOWN = ("csrf", "token", "password", "confirm", "code", "key", "secret", "next", "photo")


def _same_origin(url: str | None) -> bool:
    """Return True when `url` is on this site (same scheme and host as the request)."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme == request.scheme and parts.netloc == request.host


def _sent_from_this_site() -> bool:
    """Return True unless the browser says the refused form came from another site.

    A sibling subdomain is another site here ("same-site" is not enough): a
    cookie is sent with its forms, which is what makes them dangerous.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        return _same_origin(origin)
    referer = request.headers.get("Referer")
    return referer is None or _same_origin(referer)


def _typed_text() -> list[str]:
    """Return the text a person typed into the refused form (never secrets, keys or bare choices)."""
    texts = []
    for key in request.form:
        if any(part in key.lower() for part in _UNSHOWN):
            continue
        for value in request.form.getlist(key)[:20]:
            value = value.strip()
            # A choice or an id is a bare ASCII word; typed text has a space or a Vietnamese letter.
            if value and any(ch.isspace() or not ch.isascii() for ch in value):
                texts.append(value[:5000])
    return texts[:20]


def _way_back() -> str:
    """Return where the page that sent the form can be opened again: its own address if on this site, else home."""
    came_from = request.headers.get("HX-Current-URL") or request.referrer
    if _same_origin(came_from):
        parts = urlsplit(came_from)
        back = safe_next(parts.path + ("?" + parts.query if parts.query else ""))
        if back:
            return back
    return url_for("auth.index")


def csrf_error(error):
    """Refuse a form without a valid token, keeping what the person typed as text to copy.

    Slow phones keep a form open for hours and sessions end, so the text
    someone typed must not be lost. But this page offers nothing that sends
    it again: a form posted from elsewhere (a sibling subdomain, an old
    browser) would become a real action after one click. The text is shown
    read-only, and the way back opens the page afresh (a form with a draft
    brings its text back by itself).
    """
    texts = _typed_text() if request.method == "POST" and _sent_from_this_site() else []
    return render(
        "errors/csrf.html",
        "errors/_csrf.html",
        status=400,
        texts=texts,
        back=_way_back(),
        had_files=bool(texts and request.files),
    )
