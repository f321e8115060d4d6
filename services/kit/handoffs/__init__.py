"""The handoff loop every agency takes part in: one implementation, composed by each service.

Agencies are data, so the loop itself is not agency code: a school, a social-services office
and a KAA unit follow the same state machine from the contracts. Each service adds what is its
own (dropout and concern reports at school, for instance) around this package.
"""

from services.kit.handoffs import part
from services.kit.handoffs.api import handoff_router

install = part.install
MIGRATIONS = part.MIGRATIONS

__all__ = ["MIGRATIONS", "handoff_router", "install"]
