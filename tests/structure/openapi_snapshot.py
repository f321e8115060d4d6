"""Builds each service's OpenAPI document without a broker or database, and writes the
snapshots the structure tests compare against."""

import base64
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from contracts.services import SERVICES, names

SNAPSHOTS = Path(__file__).parent / "openapi"
SERVICE_NAMES = names(SERVICES)
_PRINCIPALS = """principals:
  - id: snapshot
    role: auditor
    agency: ale.social
    all_agencies: true
    key_sha256: "{}"
""".format("0" * 64)


def _environment(directory: Path) -> dict[str, str]:
    principals = directory / "principals.yaml"
    principals.write_text(_PRINCIPALS)
    return {
        "SAMVERKAN_PRINCIPALS_FILE": str(principals),
        "SAMVERKAN_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "SAMVERKAN_PSEUDONYM_KEY": "snapshot-pseudonym-key-0123456789abcdef",
        "SAMVERKAN_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32))).decode(),
    }


def _portal_document() -> dict[str, Any]:
    from services.portal.views import routers

    app = FastAPI()
    for router in routers():
        app.include_router(router)
    return app.openapi()


def openapi_of(name: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The OpenAPI document of service `name` (the portal: of its routes)."""
    if name == "portal":
        return _portal_document()
    for variable, value in {**_environment(directory), "SAMVERKAN_SERVICE": name}.items():
        monkeypatch.setenv(variable, value)
    bootstrap = importlib.import_module(f"services.{name}.bootstrap")
    app: FastAPI = bootstrap.create_app()
    return app.openapi()


def main(directory: Path) -> None:
    """Write a fresh snapshot of every document."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in (*SERVICE_NAMES, "portal"):
            document = openapi_of(name, directory, monkeypatch)
            (SNAPSHOTS / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        main(Path(scratch))
    sys.exit(0)
