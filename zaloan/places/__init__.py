"""Places of the commune: villages and their officers, watch points and time windows, tip categories."""
from flask import Blueprint

bp = Blueprint("places", __name__)

from . import views  # noqa: E402,F401
