"""The commander's side (trưởng / phó trưởng Công an xã): the whole commune."""
from flask import Blueprint

bp = Blueprint("commander", __name__)

from . import views  # noqa: E402,F401
