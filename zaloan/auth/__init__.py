"""Logging in and out, activating a new account, choosing the language."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
