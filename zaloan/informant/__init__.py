"""The informant's side (nhóm Zalo 1): send tips, follow their own tips."""
from flask import Blueprint

bp = Blueprint("informant", __name__)

from . import views  # noqa: E402,F401
