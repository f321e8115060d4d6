"""Builds a service process: HTTP API, Kafka subscribers, outbox relay, deadline checks and
live notifications around one database pool. Each service's composition root calls this."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI, Request

from contracts.topics import DEAD_LETTER, HANDOFFS
from services.kit import failpoints, outbox
from services.kit.agencies import AgencyRegistry
from services.kit.broker import make_broker, subscribe
from services.kit.consumer import EventConsumer
from services.kit.database import create_pool, migrate
from services.kit.handoffs.api import handoff_router, install_error_handler
from services.kit.handoffs.notifications import NotificationHub
from services.kit.handoffs.service import HandoffDesk
from services.kit.outbox import OutboxRelay
from services.kit.publisher import Publisher
from services.kit.settings import ServiceSettings
from services.kit.telemetry import setup_tracing

log = logging.getLogger(__name__)
KIT_MIGRATIONS = Path(__file__).parent / "migrations"
HANDOFF_MIGRATIONS = Path(__file__).parent / "handoffs" / "migrations"


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("periodic job failed; will retry")


def build_app(
    settings: ServiceSettings,
    title: str,
    routers: Sequence[APIRouter] = (),
    migrations: Sequence[Path] = (),
) -> FastAPI:
    """The FastAPI application of one service, with everything it runs in its lifespan."""
    failpoints.arm(settings.failpoints)
    setup_tracing(settings.service, settings.telemetry_exporter)
    registry = AgencyRegistry.load(settings.agencies_file)
    kafka = settings.kafka

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.db.dsn, settings.db.pool_min, settings.db.pool_max)
        await migrate(pool, KIT_MIGRATIONS, HANDOFF_MIGRATIONS, *migrations)
        desk = HandoffDesk(
            registry,
            registry.hosted_by(settings.service),
            consumer_name=f"{settings.service}.handoffs",
            topic_prefix=kafka.topic_prefix,
        )
        publisher = Publisher(kafka.bootstrap, client_id=settings.service)
        await publisher.start()
        broker = make_broker(kafka.bootstrap, client_id=settings.service)
        consumer = EventConsumer(
            name=desk.consumer_name,
            pool=pool,
            handler=desk.receive,
            publisher=publisher,
            dead_letter_topic=kafka.topic(DEAD_LETTER.name),
            max_attempts=kafka.max_attempts,
            backoff_s=kafka.retry_backoff_s,
        )
        subscribe(
            broker,
            [kafka.topic(HANDOFFS.name)],
            f"samverkan.{settings.service}",
            consumer,
            kafka.session_timeout_ms,
        )
        hub = NotificationHub(pool)
        await hub.start()
        relay = OutboxRelay(pool, publisher, settings.outbox_batch, settings.outbox_idle_poll_s)
        tasks = [
            asyncio.create_task(relay.run(), name="outbox-relay"),
            asyncio.create_task(
                _every(settings.expiry_check_s, lambda: desk.expire_overdue(pool)), name="expiry"
            ),
        ]
        await broker.start()
        app.state.pool, app.state.desk, app.state.hub = pool, desk, hub
        app.state.registry, app.state.settings = registry, settings
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await broker.stop()
            await hub.stop()
            await publisher.stop()
            await pool.close()

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    install_error_handler(app)
    app.include_router(handoff_router())
    for router in routers:
        app.include_router(router)
    app.include_router(_health_router())
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health(request: Request) -> dict[str, object]:
        """Liveness and a glance at the outbox backlog."""
        settings: ServiceSettings = request.app.state.settings
        return {
            "service": settings.service,
            "agencies": sorted(request.app.state.desk.hosted),
            "outbox_backlog": await outbox.backlog(request.app.state.pool),
        }

    @router.get("/agencies")
    async def agencies(request: Request) -> list[dict[str, object]]:
        """The agency registry: who can receive what."""
        registry: AgencyRegistry = request.app.state.registry
        return [a.model_dump(mode="json") for a in registry.all()]

    return router


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run the service until SIGINT/SIGTERM, then shut down cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(app, host=settings.http.host, port=settings.http.port, log_level="warning")
