"""Early-warning risk signals. They stay inside the school unless there is a basis to share."""

from typing import Literal

from contracts.codes import RiskIndicator, RiskLevel
from contracts.envelope import Event


class RiskSignalRaised(Event):
    """An indicator crossed its threshold; `correlation_id` is the signal id."""

    event_type: Literal["RiskSignalRaised"] = "RiskSignalRaised"
    schema_version: Literal[1] = 1
    indicator: RiskIndicator
    level: RiskLevel


class RiskSignalCleared(Event):
    """The indicator is back under its threshold."""

    event_type: Literal["RiskSignalCleared"] = "RiskSignalCleared"
    schema_version: Literal[1] = 1
    indicator: RiskIndicator
