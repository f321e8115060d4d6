"""Composition root of the portal.

The portal is a pure HTTP client of the services, so it does not use `services.kit.app.
build_app`, which opens a database pool, a Kafka producer and consumers and an outbox relay in
its lifespan: here the lifespan holds one HTTP client, and the app adds sealed sessions,
templates, static assets and the browser-facing security headers.
"""

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from services.kit.agencies import AgencyRegistry
from services.kit.provided import provide
from services.kit.telemetry import instrument_http, setup_tracing
from services.portal.security import BrowserSecurity
from services.portal.session import COOKIE, SessionSeal, SignInRequired
from services.portal.settings import PortalSettings
from services.portal.upstream import ServiceRefused, Services, ServiceUnavailable
from services.portal.views import routers
from services.portal.views.common import RoleRefused, Settings, page, see_other, texts

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    """The portal application; refuses to start without its secret and the service URLs."""
    settings = (settings or PortalSettings()).checked()
    assert settings.portal_session_secret is not None
    setup_tracing(settings.service, settings.telemetry_exporter)
    registry = AgencyRegistry.load(settings.agencies_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as http:
            provide(app, Services(http, registry, settings.service_urls))
            yield

    app = FastAPI(
        title="Samverkan portal",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    provide(app, settings, PortalSettings)
    provide(app, registry, AgencyRegistry)
    provide(
        app,
        SessionSeal.from_secret(
            settings.portal_session_secret.get_secret_value(), settings.portal_session_max_age_s
        ),
    )
    instrument_http(app)
    app.add_middleware(BrowserSecurity)
    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in routers():
        app.include_router(router)
    app.include_router(_operations_router())
    return app


def _error(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status, message=message)


async def _sign_in_required(request: Request, _: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return see_other(f"/sign-in?next={quote(target if request.method == 'GET' else '/')}")


async def _role_refused(request: Request, _: Exception) -> Response:
    return _error(request, 403, texts(request)("error.forbidden"))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceRefused)
    if exc.status == 401:  # the key was revoked since sign-in
        answer = see_other("/sign-in")
        answer.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return answer
    return _error(request, exc.status, texts(request)("error.refused", detail=exc.detail))


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("service unavailable: %s", exc)
    return _error(request, 503, texts(request)("error.unavailable"))


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
    return _error(request, 422, texts(request)("error.refused", detail=detail))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


def install_error_pages(app: FastAPI) -> None:
    """Errors as pages a person can read, in their language; sign-in when it is needed."""
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(RoleRefused, _role_refused)
    app.add_exception_handler(ServiceRefused, _refused)
    app.add_exception_handler(ServiceUnavailable, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)


async def health(settings: Settings) -> dict[str, object]:
    """Liveness, and which services the portal is configured to call."""
    return {"service": settings.service, "services": sorted(settings.service_urls)}


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])
    router.get("/health")(health)
    return router


def main() -> None:
    """Run the portal until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One line per call to a service would fill the log with every page's reads.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = PortalSettings()
    # Open live streams would hold a shutdown up indefinitely; browsers reconnect by themselves.
    uvicorn.run(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
