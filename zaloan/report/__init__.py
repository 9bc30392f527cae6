"""The commune report: figures of a period for the commander, an officer's own area, observers (counts only)."""
from flask import Blueprint

bp = Blueprint("report", __name__)

from . import review_views, views  # noqa: E402,F401
