"""The handoff loop every agency takes part in: one implementation, composed by each service.

Agencies are data, so the loop itself is not agency code: a school, a social-services office
and a KAA unit follow the same state machine from the contracts. Each service adds what is its
own (dropout and concern reports at school, for instance) around this package.
"""

from fastapi import APIRouter

from services.kit.consent.api import consent_router
from services.kit.handoffs import part
from services.kit.handoffs.api import handoff_router
from services.kit.handoffs.reads import read_router

install = part.install
MIGRATIONS = part.MIGRATIONS


def routers() -> list[APIRouter]:
    """Every HTTP route of the handoff loop: commands, reads, consent."""
    return [handoff_router(), read_router(), consent_router()]


__all__ = ["MIGRATIONS", "install", "routers"]
