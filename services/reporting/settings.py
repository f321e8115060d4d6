"""Settings of the reporting service."""

from pydantic import Field

from services.kit.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Typed settings; the reporting service hosts no agency, it only reads events."""

    service: str = "reporting"
    suppress_below: int = Field(
        default=5, ge=2, description="Counts of 1 to this minus one people are not shown."
    )
    stale_after_days: int = Field(
        default=14, ge=1, description="An open handoff with no update for this long is stale."
    )
    report_timezone: str = Field(
        default="Europe/Stockholm", description="Months of handoff requests are counted here."
    )
