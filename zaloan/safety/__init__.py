"""A phone that does not betray its owner: a neutral name, a quick exit, a PIN after idle time, clearing traces."""
from flask import Blueprint

bp = Blueprint("safety", __name__)

from . import views  # noqa: E402,F401
