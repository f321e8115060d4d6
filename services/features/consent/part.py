"""Plugs consent into a service: the desk its routes use, the consumer of other agencies'
consents, and the relay's guard that withholds events whose consent has lapsed."""

from pathlib import Path

from contracts.topics import CONSENTS
from services.features.consent import repository as consents
from services.features.consent.service import ConsentDesk
from services.kit.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


async def install(runtime: Runtime) -> None:
    """Record, learn and enforce consents for this service's agencies."""
    settings = runtime.settings
    desk = ConsentDesk(f"{settings.service}.consents", topic_prefix=settings.kafka.topic_prefix)
    runtime.subscribe("consents", [CONSENTS.name], desk.receive)
    runtime.relay.guards.append(consents.withhold_lapsed)
    runtime.provide(desk)
