"""Serve a stored photo or its thumbnail after checking who asks."""
from ..images import send_photo
from ..models import Attachment
from ..permissions import ANY_USER, allow, can_see_photo, get_or_404
from . import bp


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
