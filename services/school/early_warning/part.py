"""Plugs early warning into the school service."""

from pathlib import Path

from services.kit.runtime import Runtime
from services.school.early_warning.service import EarlyWarningDesk
from services.school.early_warning.settings import EarlyWarningSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def install(runtime: Runtime) -> None:
    """Give the HTTP routes an early-warning desk with the configured defaults."""
    settings = EarlyWarningSettings()
    runtime.provide(
        EarlyWarningDesk(defaults=settings.thresholds, batch_size=settings.import_batch)
    )
