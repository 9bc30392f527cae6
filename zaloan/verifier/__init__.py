"""The verifier's side (nhóm Zalo 2): tasks to check on the ground."""
from flask import Blueprint

bp = Blueprint("verifier", __name__)

from . import views  # noqa: E402,F401
