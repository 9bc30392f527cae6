"""Accounts of the commune: the commander manages everyone, an officer their informants and verifiers."""
from flask import Blueprint

bp = Blueprint("people", __name__)

from . import views  # noqa: E402,F401
