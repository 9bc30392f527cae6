"""The model's operating rules: members read and agree; the commander keeps the versions."""
from flask import Blueprint

bp = Blueprint("charter", __name__)

from . import views  # noqa: E402,F401
