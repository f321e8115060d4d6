"""Composition root of the employment service."""

from fastapi import FastAPI

from services.employment import participation
from services.employment.api import participation_router
from services.employment.settings import EmploymentSettings
from services.features import loop
from services.kit.app import build_app, serve


def create_app(settings: EmploymentSettings | None = None) -> FastAPI:
    """The employment service application."""
    settings = settings or EmploymentSettings()
    return build_app(
        settings,
        title="Samverkan employment service",
        parts=loop.parts(),
        routers=[*loop.routers(), participation_router()],
        migrations=[*loop.migrations(), participation.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = EmploymentSettings()
    serve(create_app(settings), settings)
