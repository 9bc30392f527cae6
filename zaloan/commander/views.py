"""Commander pages."""
from flask_login import current_user

from ..models import Role
from ..permissions import allow
from ..reports import commune_summary
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.COMMANDER)
def home():
    """Show the commune at a glance: villages, officers, people, tips."""
    commune = current_user.commune
    return render("commander/home.html", commune=commune, summary=commune_summary(commune))
