"""Composition root of the social service."""

from fastapi import FastAPI

from services.features import loop
from services.kit.app import build_app, serve
from services.social.settings import SocialSettings


def create_app(settings: SocialSettings | None = None) -> FastAPI:
    """The social service application."""
    settings = settings or SocialSettings()
    return build_app(
        settings,
        title="Samverkan social service",
        parts=loop.parts(),
        routers=loop.routers(),
        migrations=loop.migrations(),
    )


def main() -> None:
    """Run the service."""
    settings = SocialSettings()
    serve(create_app(settings), settings)
