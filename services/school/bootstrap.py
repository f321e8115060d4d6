"""Composition root of the school service."""

from fastapi import FastAPI

from services.features import loop
from services.kit.app import build_app, serve
from services.school import early_warning
from services.school.api import school_router
from services.school.settings import SchoolSettings


def create_app(settings: SchoolSettings | None = None) -> FastAPI:
    """The school service application."""
    settings = settings or SchoolSettings()
    return build_app(
        settings,
        title="Samverkan school service",
        parts=[*loop.parts(), early_warning.install],
        routers=[*loop.routers(), school_router(), early_warning.early_warning_router()],
        migrations=[*loop.migrations(), early_warning.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = SchoolSettings()
    serve(create_app(settings), settings)
