"""ESF participation events, for the monthly report to SCB."""

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.codes import AgeBand, Gender, Outcome
from contracts.envelope import Event


class ParticipantEnrolled(Event):
    """A young person started in a project activity; `correlation_id` is the participation id."""

    event_type: Literal["ParticipantEnrolled"] = "ParticipantEnrolled"
    schema_version: Literal[1] = 1
    gender: Gender
    age_band: AgeBand
    municipality: str = Field(pattern=r"^\d{4}$", description="SCB municipality code, e.g. 1440.")
    started_on: date


class ParticipantExited(Event):
    """A participant left the activity, with the outcome at exit."""

    event_type: Literal["ParticipantExited"] = "ParticipantExited"
    schema_version: Literal[1] = 1
    exited_on: date
    outcome: Outcome


class OutcomeFollowUpRecorded(Event):
    """Where a former participant is some months after exit (ESF: 6 months)."""

    event_type: Literal["OutcomeFollowUpRecorded"] = "OutcomeFollowUpRecorded"
    schema_version: Literal[1] = 1
    months_after_exit: int = Field(ge=1, le=36)
    outcome: Outcome
