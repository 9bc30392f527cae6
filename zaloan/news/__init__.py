"""Announcements: posted by the commander and officers, read by members on their home pages."""
from flask import Blueprint

bp = Blueprint("news", __name__)

from . import views  # noqa: E402,F401
