"""Small helpers shared by the test files."""
from __future__ import annotations

from sqlalchemy import select

from zaloan.extensions import db
from zaloan.models import User
from zaloan.phones import normalize_phone

from .conftest import PHONES


def U(who: str) -> User | None:
    """Load an account (inside an app context) by its demo name in PHONES or by a phone number in any form."""
    return db.session.scalar(select(User).where(User.phone == normalize_phone(PHONES.get(who, who))))
