"""Plugs the handoff loop into a service: consumer, deadline checks, live notifications."""

from pathlib import Path

from pydantic import SecretStr

from contracts.topics import CONSENTS, HANDOFFS
from services.kit.consent import repository as consents
from services.kit.consent.service import ConsentDesk
from services.kit.handoffs.notifications import NotificationHub
from services.kit.handoffs.service import HandoffDesk
from services.kit.identity import Pseudonymizer
from services.kit.runtime import Runtime

MIGRATIONS = [
    Path(__file__).parent / "migrations",
    Path(__file__).parent.parent / "consent" / "migrations",
]


def pseudonymizer(secret: SecretStr | None) -> Pseudonymizer:
    """The subject pseudonymizer; refuses to run without a real key."""
    key = secret.get_secret_value().encode() if secret else b""
    if len(key) < 32 or len(set(key)) < 8:
        raise RuntimeError(
            "SAMVERKAN_PSEUDONYM_KEY must be set to a random secret of at least 32 bytes"
        )
    return Pseudonymizer(key)


async def install(runtime: Runtime) -> None:
    """Host this service's agencies in the handoff loop."""
    settings = runtime.settings
    desk = HandoffDesk(
        runtime.registry,
        runtime.registry.hosted_by(settings.service),
        consumer_name=f"{settings.service}.handoffs",
        topic_prefix=settings.kafka.topic_prefix,
    )
    consent_desk = ConsentDesk(desk, f"{settings.service}.consents", desk.clock)
    runtime.app.state.pseudonyms = pseudonymizer(settings.pseudonym_key)
    runtime.subscribe("handoffs", [HANDOFFS.name], desk.receive, desk.receive_many)
    runtime.subscribe("consents", [CONSENTS.name], consent_desk.receive)
    runtime.relay.guards.append(consents.withhold_lapsed)
    hub = NotificationHub(runtime.pool)
    runtime.run_every("expiry", settings.expiry_check_s, lambda: desk.expire_overdue(runtime.pool))
    runtime.app.state.desk, runtime.app.state.hub = desk, hub
    runtime.app.state.consents = consent_desk
