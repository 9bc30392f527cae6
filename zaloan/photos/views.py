"""Serve a stored photo or its thumbnail after checking who asks."""
from flask import abort, g, send_file

from .. import images
from ..models import Attachment
from ..permissions import ANY_USER, allow, can_see_photo, get_or_404
from . import bp

# A photo never changes under its URL (the URL carries its hash), so the
# browser of the person allowed to see it may keep it; shared caches may not.
# The trade-off on a shared phone is in docs/DEPLOY.md.
PHOTO_CACHE = "private, max-age=31536000, immutable"


@bp.get("/<int:attachment_id>")
@allow(ANY_USER)
def show(attachment_id: int):
    """Send a photo to someone who may see it."""
    return send_photo(get_or_404(Attachment, attachment_id, can_see_photo))


@bp.get("/<int:attachment_id>/thumb")
@allow(ANY_USER)
def thumb(attachment_id: int):
    """Send a photo's thumbnail to someone who may see the photo."""
    return send_photo(get_or_404(Attachment, attachment_id, can_see_photo), thumbnail=True)


def send_photo(photo: Attachment, thumbnail: bool = False):
    """Send a stored photo (or its thumbnail) the caller has checked, as a JPEG no other origin may reuse."""
    path = images.thumbnail_of(photo.storage_name) if thumbnail else images.path_of(photo.storage_name)
    if path is None or not path.is_file():
        abort(404)
    resp = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    resp.headers["Cache-Control"] = PHOTO_CACHE
    g.keepable = True  # no cookie refresh, no `Vary: Cookie` (see zaloan.SessionInterface)
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
