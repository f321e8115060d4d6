"""Composition root of the reporting service."""

from fastapi import FastAPI

from services.kit.app import build_app, serve
from services.reporting import part
from services.reporting.api import report_router
from services.reporting.settings import ReportingSettings


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting service application."""
    settings = settings or ReportingSettings()
    return build_app(
        settings,
        title="Samverkan reporting service",
        parts=[part.install],
        routers=[report_router()],
        migrations=[part.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = ReportingSettings()
    serve(create_app(settings), settings)
