"""Plugs the registry of persons into a service: the keyed pseudonymizer its routes use."""

from pathlib import Path

from pydantic import SecretStr

from services.kit.identity import Pseudonymizer
from services.kit.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def pseudonymizer(secret: SecretStr | None) -> Pseudonymizer:
    """The subject pseudonymizer; refuses to run without a real key."""
    key = secret.get_secret_value().encode() if secret else b""
    if len(key) < 32 or len(set(key)) < 8:
        raise RuntimeError(
            "SAMVERKAN_PSEUDONYM_KEY must be set to a random secret of at least 32 bytes"
        )
    return Pseudonymizer(key)


async def install(runtime: Runtime) -> None:
    """Give this service's routes the pseudonymizer made from its own key."""
    runtime.provide(pseudonymizer(runtime.settings.pseudonym_key))
