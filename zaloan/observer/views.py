"""Observer pages: aggregate figures only."""
from flask_login import current_user

from ..models import Role
from ..permissions import allow
from ..reports import commune_summary
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.OBSERVER)
def home():
    """Show the commune's figures: counts by status, village and category."""
    return render("observer/home.html", summary=commune_summary(current_user.commune), commune=current_user.commune)
