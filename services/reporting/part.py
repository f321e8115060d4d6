"""Plugs the read model into the reporting service: one consumer of the handoff and the
participation topics."""

from pathlib import Path

from contracts.topics import HANDOFFS, PARTICIPATION
from services.kit.runtime import Runtime
from services.reporting.handlers import project

MIGRATIONS = Path(__file__).parent / "migrations"


async def install(runtime: Runtime) -> None:
    """Build the read model from the events, exactly once in effect."""
    runtime.subscribe("read-model", [HANDOFFS.name, PARTICIPATION.name], project)
