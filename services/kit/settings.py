"""Typed settings shared by every service; each service extends them. Fails fast on bad values."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the broker is and how this service talks to it."""

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field(
        default="", description="Prefix for every topic name (isolates tests and tenants)."
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Tries before a message is dead-lettered."
    )
    retry_backoff_s: float = Field(default=0.2, ge=0)
    session_timeout_ms: int = Field(
        default=10_000, ge=6_000, description="How long a silent consumer keeps its partitions."
    )

    def topic(self, name: str) -> str:
        """The concrete topic name for a contract topic name."""
        return self.topic_prefix + name


class DatabaseSettings(BaseSettings):
    """This service's own PostgreSQL database."""

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_DB_", extra="ignore")

    dsn: str = "postgresql://postgres@127.0.0.1:5432/samverkan"
    pool_min: int = 1
    pool_max: int = 10


class HttpSettings(BaseSettings):
    """Where the service's HTTP API listens."""

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_HTTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000


class ServiceSettings(BaseSettings):
    """Everything one service process needs."""

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_", extra="ignore")

    service: str = Field(description="Service name; also its consumer group prefix.")
    agencies_file: Path = Field(
        default=Path(__file__).resolve().parents[2] / "deploy" / "agencies.yaml",
        description="The agency registry.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    outbox_batch: int = Field(default=200, ge=1)
    outbox_idle_poll_s: float = Field(default=0.5, gt=0)
    expiry_check_s: float = Field(
        default=30.0, gt=0, description="How often deadlines are checked."
    )
    failpoints: frozenset[str] = Field(
        default=frozenset(), description="Crash points to arm (fault tests only)."
    )
    principals_file: Path | None = Field(
        default=None, description="Who may call the HTTP API (YAML with key hashes); required."
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="HMAC key turning personnummer into subject pseudonyms (32+ bytes); required"
        " by agency services, the same for every agency, never logged, never on the bus.",
    )
    telemetry_exporter: str = Field(default="none", pattern="^(none|console|otlp|memory)$")
