"""The standing channel between each informant and the commune police ("Trò chuyện")."""
from flask import Blueprint

bp = Blueprint("channel", __name__)

from . import views  # noqa: E402,F401
