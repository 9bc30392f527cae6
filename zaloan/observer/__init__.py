"""The observer's side (Ban Chỉ đạo 138, provincial police): aggregate reports only."""
from flask import Blueprint

bp = Blueprint("observer", __name__)

from . import views  # noqa: E402,F401
