"""The referral loop as agency services compose it: the registry of persons, consent and the
handoffs, in this order (each builds on the ones before it)."""

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter

from services.features import consent, handoffs, subjects
from services.kit.runtime import Part

FEATURES: Sequence[ModuleType] = (subjects, consent, handoffs)


def parts() -> list[Part]:
    """What each feature starts in the service process."""
    return [feature.install for feature in FEATURES]


def routers() -> list[APIRouter]:
    """Every HTTP route of the loop."""
    return [router for feature in FEATURES for router in feature.routers()]


def migrations() -> list[Path]:
    """The loop's migration folders, in the order they apply."""
    return [feature.MIGRATIONS for feature in FEATURES]
