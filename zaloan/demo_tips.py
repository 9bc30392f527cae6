"""Sample tips of the demo commune, in every state of the flow."""
from __future__ import annotations

from .models import Unit


def load(commune: Unit) -> None:
    """Add the sample tips (none until the tip flow exists)."""
    return None
