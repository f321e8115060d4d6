"""Composition root of the audit service."""

from fastapi import FastAPI
from pydantic import SecretStr

from services.audit import api, part
from services.audit.settings import AuditSettings
from services.features.proofs.heads import Signer
from services.kit.app import build_app, serve


def signer(key: SecretStr | None) -> Signer:
    """The tree-head signer; refuses to run without a real key."""
    secret = key.get_secret_value() if key is not None else ""
    if not secret.strip():
        raise RuntimeError(
            "SAMVERKAN_AUDIT_SIGNING_KEY must be set: the base64 of an Ed25519 key"
            " (python -m services.audit.cli keygen)"
        )
    return Signer.from_secret(secret)


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    """The audit service application."""
    settings = settings or AuditSettings()
    return build_app(
        settings,
        title="Samverkan audit service",
        parts=[part.installer(signer(settings.audit_signing_key), settings.audit_publish_head_s)],
        routers=[api.audit_router()],
        migrations=[part.MIGRATIONS],
    )


def main() -> None:
    """Run the service."""
    settings = AuditSettings()
    serve(create_app(settings), settings)
