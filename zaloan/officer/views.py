"""Officer pages."""
from flask_login import current_user

from ..models import Role
from ..permissions import allow
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.OFFICER)
def home():
    """Show the officer's home: their areas and their queue."""
    return render("officer/home.html", areas=current_user.areas())
