"""Composition root of the employment service."""

from fastapi import FastAPI

from services.employment import participation
from services.employment.api import participation_router
from services.employment.settings import EmploymentSettings
from services.kit import handoffs
from services.kit.app import build_app, serve


def create_app(settings: EmploymentSettings | None = None) -> FastAPI:
    """The employment service application."""
    settings = settings or EmploymentSettings()
    return build_app(
        settings,
        title="Samverkan employment service",
        parts=[handoffs.install],
        routers=[*handoffs.routers(), participation_router()],
        migrations=[*handoffs.MIGRATIONS, participation.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = EmploymentSettings()
    serve(create_app(settings), settings)
