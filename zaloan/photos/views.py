"""Serve a stored photo after checking who asks."""
from flask import abort, send_file

from .. import images
from ..models import Attachment
from ..permissions import ANY_USER, allow, can_see_photo, get_or_404
from . import bp


@bp.get("/<int:attachment_id>")
@allow(ANY_USER)
def show(attachment_id: int):
    """Send a photo with a safe type, never cached by shared caches."""
    return send_photo(get_or_404(Attachment, attachment_id, can_see_photo))


def send_photo(photo: Attachment):
    """Send a stored photo the caller has checked, as a JPEG no other origin or cache may reuse."""
    path = images.path_of(photo.storage_name)
    if not path.is_file():
        abort(404)
    resp = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
