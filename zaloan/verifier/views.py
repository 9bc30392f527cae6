"""Verifier pages."""
from ..models import Role
from ..permissions import allow
from ..web import render
from . import bp


@bp.get("/")
@allow(Role.VERIFIER)
def home():
    """List the verifier's open tasks, soonest due first."""
    return render("verifier/home.html")
