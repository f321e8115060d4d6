"""The handoff loop every agency takes part in: one implementation, composed by each service.

Agencies are data, so the loop itself is not agency code: a school, a social-services office
and a KAA unit follow the same state machine from the contracts. Each service adds what is its
own (dropout and concern reports at school, for instance) around this package. It builds on
the registry of persons and on consent, which a service installs before it.
"""

from fastapi import APIRouter

from services.features.handoffs.api import handoff_router
from services.features.handoffs.part import MIGRATIONS, install
from services.features.handoffs.reads import read_router


def routers() -> list[APIRouter]:
    """Every HTTP route of the handoff loop: commands and reads."""
    return [handoff_router(), read_router()]


__all__ = ["MIGRATIONS", "install", "routers"]
