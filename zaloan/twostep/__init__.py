"""Two-step login: setting it up, the login's second step, recovery codes, the commune's requirement."""
from flask import Blueprint

bp = Blueprint("twostep", __name__)

from . import views  # noqa: E402,F401
