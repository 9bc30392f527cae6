"""Error pages: plain Vietnamese, no stack traces, no hint that a hidden object exists."""
from flask import request
from flask_babel import gettext as _

from .extensions import db
from .web import render

MESSAGES = {
    400: lambda: _("The request could not be understood. Please go back and try again."),
    403: lambda: _("You cannot open this page."),
    404: lambda: _("This page does not exist, or you cannot open it."),
    405: lambda: _("This page does not exist, or you cannot open it."),
    413: lambda: _("What you sent is too large. Please send smaller photos or fewer at once."),
    429: lambda: _("Too many requests. Please wait a little and try again."),
    500: lambda: _("Something went wrong on our side. What you sent was not saved; please try again."),
}


def http_error(error):
    """Render an HTTP error as a page (or a fragment for htmx) in the user's language."""
    code = getattr(error, "code", 500) or 500
    if code not in MESSAGES:
        code = 500
    if code == 500:
        # A failed statement leaves the transaction unusable; the page itself may need the database.
        db.session.rollback()
    return render("errors/error.html", "errors/_error.html", status=code, code=code, message=MESSAGES[code]())


def csrf_error(error):
    """Offer to send again what a stale form sent, with a fresh token.

    Slow phones keep a form open for hours and sessions end; the text someone
    typed must not be lost. A cross-site request gets no such offer.
    """
    cross_site = request.headers.get("Sec-Fetch-Site") == "cross-site"
    fields = []
    if not cross_site and request.method == "POST":
        for key in request.form:
            if key == "csrf_token":
                continue
            for value in request.form.getlist(key)[:20]:
                fields.append((key, value[:5000]))
    return render(
        "errors/csrf.html",
        "errors/_csrf.html",
        status=400,
        fields=fields,
        action=request.path,
        had_files=bool(request.files),
    )
