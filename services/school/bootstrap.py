"""Composition root of the school service."""

from fastapi import FastAPI

from services.kit import handoffs
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
        parts=[handoffs.install, early_warning.install],
        routers=[*handoffs.routers(), school_router(), early_warning.early_warning_router()],
        migrations=[*handoffs.MIGRATIONS, early_warning.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = SchoolSettings()
    serve(create_app(settings), settings)
