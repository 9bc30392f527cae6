"""The province administrator's side (Công an tỉnh, PV05): communes, their commanders, observers."""
from flask import Blueprint

bp = Blueprint("province", __name__)

from . import views  # noqa: E402,F401
