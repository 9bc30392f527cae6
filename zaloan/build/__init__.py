"""Building the model village by village: the three steps, the coverage grid, the village survey."""
from flask import Blueprint

bp = Blueprint("build", __name__)

from . import views  # noqa: E402,F401
