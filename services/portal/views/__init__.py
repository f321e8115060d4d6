"""The portal's pages: thin handlers that call the services' APIs and render templates."""

from fastapi import APIRouter

from services.portal.views import audit, consents, handoffs, sign_in


def routers() -> list[APIRouter]:
    """Every page of the portal."""
    return [sign_in.router(), handoffs.router(), consents.router(), audit.router()]
