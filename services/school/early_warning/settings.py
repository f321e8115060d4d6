"""Settings of early warning: the default thresholds a school has until it sets its own."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.school.early_warning.domain import Thresholds


class EarlyWarningSettings(BaseSettings):
    """Read from SAMVERKAN_EARLY_WARNING_*; thresholds as JSON, e.g.
    SAMVERKAN_EARLY_WARNING_THRESHOLDS='{"absence_percent": {"warning_at": 5, "alert_at": 10}}'.
    """

    model_config = SettingsConfigDict(env_prefix="SAMVERKAN_EARLY_WARNING_", extra="ignore")

    thresholds: Thresholds = Field(default_factory=Thresholds)
    import_batch: int = Field(default=500, ge=1, le=10_000, description="Rows per transaction.")
