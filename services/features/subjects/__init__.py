"""The registry of persons: a personnummer is validated, kept in this agency's database and
replaced by its keyed pseudonym everywhere else. Composed by every agency service."""

from fastapi import APIRouter

from services.features.subjects.api import subject_router
from services.features.subjects.part import MIGRATIONS, install


def routers() -> list[APIRouter]:
    """Every HTTP route of the registry of persons."""
    return [subject_router()]


__all__ = ["MIGRATIONS", "install", "routers"]
