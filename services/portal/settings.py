"""Settings of the portal: where the services' HTTP APIs are, and how sessions are sealed."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.features.proofs.heads import decode_public_key
from services.kit.settings import HttpSettings

MIN_SECRET_LENGTH = 32


class PortalSettings(BaseSettings):
    """Typed settings; the portal refuses to start without a session secret or service URLs.

    It has no database and no Kafka login: everything it shows comes from the services'
    public HTTP APIs, called with the signed-in person's own API key.
    """

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_", extra="ignore")

    service: str = "portal"
    agencies_file: Path = Field(
        default=Path(__file__).resolve().parents[2] / "deploy" / "agencies.yaml",
        description="The agency registry: which service hosts which agency.",
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Base URL of each service's HTTP API by service name, as JSON, e.g."
        ' {"school": "http://school:8000", "audit": "http://audit:8000"}; required.',
    )
    portal_session_secret: SecretStr | None = Field(
        default=None,
        description="Key that seals the session cookie (32+ characters); required.",
    )
    portal_session_max_age_s: int = Field(
        default=8 * 3600, ge=10, description="How long a sign-in lasts."
    )
    portal_secure_cookie: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set behind TLS)."
    )
    audit_public_key: str | None = Field(
        default=None,
        description="The audit log's Ed25519 public key (base64): chains are verified against"
        " heads signed by it. Without it, the key each head names is used and shown.",
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    telemetry_exporter: str = Field(default="none", pattern="^(none|console|otlp|memory)$")

    @field_validator("service_urls")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"service {name}: {url!r} is not an http(s) URL")
        return {name: url.rstrip("/") for name, url in value.items()}

    @field_validator("audit_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value:
            decode_public_key(value)  # 32 raw bytes, base64 or hex: fail at start-up
        return value

    def checked(self) -> "PortalSettings":
        """These settings, or RuntimeError naming what is missing to serve safely."""
        secret = self.portal_session_secret
        if secret is None or len(secret.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise RuntimeError(
                "SAMVERKAN_PORTAL_SESSION_SECRET must be set to a random value of at least"
                f" {MIN_SECRET_LENGTH} characters: it seals the session cookies"
            )
        if not self.service_urls:
            raise RuntimeError(
                "SAMVERKAN_SERVICE_URLS must name the services' HTTP APIs (JSON object)"
            )
        return self
