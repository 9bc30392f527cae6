"""The commander's view of the audit log, its chain check and exports."""
from flask import Blueprint

bp = Blueprint("auditlog", __name__)

from . import views  # noqa: E402,F401
