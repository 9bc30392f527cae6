"""Logging in and out, one's own sessions, activating a new account, choosing the language."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import sessions, views  # noqa: E402,F401
