"""Settings of the audit service."""

from pydantic import Field, SecretStr

from services.kit.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    """Typed settings; the audit service refuses to start without its signing key."""

    service: str = "audit"
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the raw 32-byte Ed25519 key that signs tree heads"
        " (`python -m services.audit.cli keygen` makes one); required.",
    )
    audit_publish_head_s: float = Field(
        default=60.0, gt=0, description="How often the current signed tree head is published."
    )
