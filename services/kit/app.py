"""Builds a service process: HTTP API, Kafka subscribers, outbox relay and the service's parts
around one database pool. Each service's composition root calls this."""

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI

from services.kit import failpoints, outbox
from services.kit.access_log import ReadLog
from services.kit.agencies import AgencyRegistry
from services.kit.auth import Principal, Principals
from services.kit.broker import make_broker
from services.kit.commands import CommandGate
from services.kit.database import create_pool, migrate
from services.kit.dependencies import Caller, Pool, Registry, Settings
from services.kit.errors import install_refusal_handlers
from services.kit.metrics import metrics_router
from services.kit.outbox import OutboxRelay
from services.kit.provided import provide
from services.kit.publisher import Publisher
from services.kit.runtime import Part, Runtime
from services.kit.settings import ServiceSettings
from services.kit.telemetry import instrument_http, setup_tracing

log = logging.getLogger(__name__)
KIT_MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(
    settings: ServiceSettings,
    title: str,
    parts: Sequence[Part] = (),
    routers: Sequence[APIRouter] = (),
    migrations: Sequence[Path] = (),
) -> FastAPI:
    """The FastAPI application of one service, with everything it runs in its lifespan.

    `migrations` are folders of SQL files applied after the kit's own, in the order given.
    """
    failpoints.arm(settings.failpoints)
    setup_tracing(settings.service, settings.telemetry_exporter)
    registry = AgencyRegistry.load(settings.agencies_file)
    principals = Principals.load(settings.principals_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.db.dsn, settings.db.pool_min, settings.db.pool_max)
        await migrate(pool, KIT_MIGRATIONS, *migrations)
        publisher = Publisher(settings.kafka, client_id=settings.service)
        await publisher.start()
        broker = make_broker(settings.kafka, client_id=settings.service)
        relay = OutboxRelay(pool, publisher, settings.outbox_batch, settings.outbox_idle_poll_s)
        runtime = Runtime(app, settings, registry, pool, publisher, broker, relay)
        provide(app, pool, asyncpg.Pool)
        provide(app, registry)
        provide(app, settings, ServiceSettings)
        provide(app, settings)  # also as the service's own settings class
        provide(app, principals)
        hosted = registry.hosted_by(settings.service)
        provide(app, ReadLog(pool, hosted, settings.kafka.topic_prefix))
        provide(app, CommandGate(pool, hosted))
        runtime.run("outbox-relay", relay.run())
        for part in parts:
            await part(runtime)
        await broker.start()
        try:
            yield
        finally:
            await runtime.stop()
            await broker.stop()
            await publisher.stop()
            await pool.close()

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    instrument_http(app)
    install_refusal_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(_operations_router())
    app.include_router(metrics_router())
    return app


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])
    router.get("/health")(health)
    router.get("/whoami")(whoami)
    router.get("/agencies")(agencies)
    return router


async def health(settings: Settings, pool: Pool) -> dict[str, object]:
    """Liveness and a glance at the outbox backlog."""
    return {"service": settings.service, "outbox_backlog": await outbox.backlog(pool)}


async def whoami(caller: Caller) -> Principal:
    """The principal holding the presented API key (the portal's sign-in asks this)."""
    return caller


async def agencies(registry: Registry) -> list[dict[str, object]]:
    """The agency registry: who can receive what."""
    return [a.model_dump(mode="json") for a in registry.all()]


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run the service until SIGINT/SIGTERM, then shut down cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(app, host=settings.http.host, port=settings.http.port, log_level="warning")
