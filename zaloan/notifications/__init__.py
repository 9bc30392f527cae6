"""Each person's notifications (the list, the count in every page's header), their ways of being told, and
the commander's list of messages that could not be delivered."""
from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import views  # noqa: E402,F401
