"""Consent (samtycke, OSL 12 kap.): recorded with proof, scoped to recipients and data
categories, valid for a period, withdrawable; and the legal-basis check every shared event
must pass."""

from fastapi import APIRouter

from services.features.consent.api import consent_router
from services.features.consent.part import MIGRATIONS, install


def routers() -> list[APIRouter]:
    """Every HTTP route of consent."""
    return [consent_router()]


__all__ = ["MIGRATIONS", "install", "routers"]
