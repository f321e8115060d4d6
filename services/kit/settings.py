"""Typed settings shared by every service; each service extends them. Fails fast on bad values."""

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
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
    batch_max: int = Field(
        default=100, ge=1, description="Most messages a consumer applies in one transaction."
    )
    batch_wait_ms: int = Field(
        default=10,
        ge=1,
        description="How often an idle consumer polls: the most it adds to a message's latency.",
    )
    fetch_min_bytes: int = Field(
        default=4_096,
        ge=1,
        description="Bytes the broker gathers for a consumer before answering its fetch (or"
        " fetch_max_wait_ms passes): a few events per batch instead of one, which halves the"
        " consumers' CPU when events trickle in.",
    )
    fetch_max_wait_ms: int = Field(
        default=50,
        ge=1,
        le=500,
        description="The most the broker holds a fetch for fetch_min_bytes: the most it adds"
        " to a message's latency when traffic is sparse.",
    )
    max_event_bytes: int = Field(
        default=65_536,
        ge=1_024,
        description="A larger message is dead-lettered unread (events are a few kilobytes).",
    )
    session_timeout_ms: int = Field(
        default=10_000, ge=6_000, description="How long a silent consumer keeps its partitions."
    )
    security_protocol: Literal["SASL_PLAINTEXT", "PLAINTEXT"] = Field(
        default="SASL_PLAINTEXT",
        description="SASL_PLAINTEXT: log in as this service's own principal (PLAINTEXT only for"
        " a broker without authentication).",
    )
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-256"
    username: str | None = Field(default=None, description="This service's Kafka principal.")
    password: SecretStr | None = Field(default=None, description="Its password; never logged.")
    password_file: Path | None = Field(
        default=None, description="A file holding the password instead (Docker volumes)."
    )

    @model_validator(mode="after")
    def _login_is_complete(self) -> Self:
        """Fail at start-up, not at the first connection, when the login is incomplete."""
        if self.password is None and self.password_file is not None:
            self.password = SecretStr(self.password_file.read_text().strip())
        if self.security_protocol != "PLAINTEXT" and (not self.username or not self.password):
            raise ValueError(
                "SASL needs SAMVERKAN_KAFKA_USERNAME and SAMVERKAN_KAFKA_PASSWORD"
                " (or SAMVERKAN_KAFKA_PASSWORD_FILE)"
            )
        return self

    def topic(self, name: str) -> str:
        """The concrete topic name for a contract topic name."""
        return self.topic_prefix + name

    def client_options(self) -> dict[str, Any]:
        """Connection keyword arguments for aiokafka: where the broker is, how to log in."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol != "PLAINTEXT" and self.password is not None:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        return options


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
    expiry_check_s: float = Field(default=5.0, gt=0, description="How often deadlines are checked.")
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
    unsafe_skip_inbox_check_for_control_run: bool = Field(
        default=False,
        description="Chaos control runs only: consumers apply redelivered events again, to show"
        " that the faults cause duplicates. Refused unless topics are prefixed (never in a"
        " deployment).",
    )

    @model_validator(mode="after")
    def _inbox_check_only_off_in_tests(self) -> Self:
        """The inbox is what makes consumers idempotent: switching it off is refused outside
        a prefixed (test) deployment."""
        if self.unsafe_skip_inbox_check_for_control_run and not self.kafka.topic_prefix:
            raise ValueError(
                "SAMVERKAN_UNSAFE_SKIP_INBOX_CHECK_FOR_CONTROL_RUN is for chaos control runs on"
                " prefixed test topics only"
            )
        return self
