"""The officer's side (trưởng nhóm tiếp nhận, xử lý tin): the queue and the work on tips."""
from flask import Blueprint

bp = Blueprint("officer", __name__)

from . import views  # noqa: E402,F401
