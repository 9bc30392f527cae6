"""Informant pages."""
from flask_login import current_user

from ..models import Role
from ..permissions import allow
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.INFORMANT)
def home():
    """Show the informant's home: send a tip, see their tips."""
    informant = current_user.informant
    return render("informant/home.html", informant=informant)
