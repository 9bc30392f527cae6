"""Commendations of the yearly review: proposals, approval by a commander who did not propose, decisions."""
from flask import Blueprint

bp = Blueprint("commend", __name__)

from . import views  # noqa: E402,F401
