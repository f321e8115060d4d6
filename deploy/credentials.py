"""Secrets for a local stack, generated fresh: the pseudonym key and the API principals.

Nothing here is a built-in secret: every run makes its own, writes the principals' key hashes
for the services and the keys themselves to a file only the owner can read.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import yaml

from contracts.codes import PrincipalRole
from services.kit.agencies import AgencyRegistry
from services.kit.auth import key_hash

AUDITOR_AGENCY = "ivo.tillsyn"


def new_pseudonym_key() -> str:
    """A random HMAC key for subject pseudonyms (shared by every agency service)."""
    return secrets.token_urlsafe(48)


def demo_principals(registry: AgencyRegistry) -> list[dict[str, object]]:
    """One agency system and one caseworker per agency, and an auditor who reads all."""
    principals: list[dict[str, object]] = []
    for agency in registry.all():
        for role in (PrincipalRole.AGENCY_SYSTEM, PrincipalRole.CASEWORKER):
            principals.append({"id": f"{agency.id}.{role.value}", "role": role.value,
                               "agency": agency.id})  # fmt: skip
    principals.append({"id": "auditor", "role": PrincipalRole.AUDITOR.value,
                       "agency": AUDITOR_AGENCY, "all_agencies": True})  # fmt: skip
    return principals


def write_principals(
    principals: list[dict[str, object]], principals_file: Path, keys_file: Path
) -> dict[str, str]:
    """Give each principal a fresh key; write key hashes for the services and the keys
    (readable by the owner only) for the people and systems that call them."""
    keys = {str(p["id"]): secrets.token_urlsafe(24) for p in principals}
    entries = [{**p, "key_sha256": key_hash(keys[str(p["id"])])} for p in principals]
    principals_file.parent.mkdir(parents=True, exist_ok=True)
    principals_file.write_text(yaml.safe_dump({"principals": entries}, sort_keys=False))
    keys_file.touch(mode=0o600)
    os.chmod(keys_file, 0o600)
    keys_file.write_text(json.dumps(keys, indent=2) + "\n")
    return keys


def write_app_secrets(directory: Path, registry: AgencyRegistry) -> None:
    """The services' own secrets for docker-compose, generated once and kept: principals
    (key hashes, for the services), their API keys (for people, owner-only), the pseudonym key
    and the audit signing key."""
    from services.features.proofs.heads import new_secret

    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "principals.yaml").exists():
        write_principals(
            demo_principals(registry), directory / "principals.yaml", directory / "api-keys.json"
        )
    for name, make in (
        ("pseudonym.key", new_pseudonym_key),
        ("audit-signing.key", new_secret),
        ("portal-session.key", lambda: secrets.token_urlsafe(32)),
    ):
        path = directory / name
        if not path.exists():
            path.write_text(make() + "\n")
            # Read by the service containers, which run as another user than this job.
            path.chmod(0o444)
    (directory / "principals.yaml").chmod(0o444)
    directory.chmod(0o755)
