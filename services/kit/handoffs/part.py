"""Plugs the handoff loop into a service: consumer, deadline checks, live notifications."""

from pathlib import Path

from contracts.topics import HANDOFFS
from services.kit.handoffs.notifications import NotificationHub
from services.kit.handoffs.service import HandoffDesk
from services.kit.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


async def install(runtime: Runtime) -> None:
    """Host this service's agencies in the handoff loop."""
    settings = runtime.settings
    desk = HandoffDesk(
        runtime.registry,
        runtime.registry.hosted_by(settings.service),
        consumer_name=f"{settings.service}.handoffs",
        topic_prefix=settings.kafka.topic_prefix,
    )
    runtime.subscribe("handoffs", [HANDOFFS.name], desk.receive)
    hub = NotificationHub(runtime.pool)
    await hub.start()
    runtime.on_stop(hub.stop)
    runtime.run_every("expiry", settings.expiry_check_s, lambda: desk.expire_overdue(runtime.pool))
    runtime.app.state.desk, runtime.app.state.hub = desk, hub
