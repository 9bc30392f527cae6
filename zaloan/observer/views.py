"""Observer pages: aggregate figures only."""
from flask_login import current_user

from ..db_setup import reads_only
from ..models import Role
from ..permissions import allow, sees_several_communes
from ..reports import commune_summary, communes_summary
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.OBSERVER)
@reads_only
def home():
    """Show the commune's figures: counts by status, village and category.

    An observer of a district or the province sees each of its communes side
    by side and their sum, with small village × category counts hidden.
    """
    if sees_several_communes(current_user):
        return render("observer/communes.html", summary=communes_summary(current_user), unit=current_user.commune)
    return render("observer/home.html", summary=commune_summary(current_user.commune), commune=current_user.commune)
