"""Photos, served only to those who may see them."""
from flask import Blueprint

bp = Blueprint("photos", __name__)

from . import views  # noqa: E402,F401
