"""Consent events (samtycke): provable, scoped, withdrawable."""

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.codes import ConsentGiver, ConsentMethod, DataCategory
from contracts.envelope import AgencyId, Event


class ConsentRecorded(Event):
    """A consent was given; `correlation_id` is the consent id."""

    event_type: Literal["ConsentRecorded"] = "ConsentRecorded"
    schema_version: Literal[1] = 1
    given_by: ConsentGiver
    method: ConsentMethod
    recipients: tuple[AgencyId, ...] = Field(min_length=1)
    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class ConsentWithdrawn(Event):
    """A consent was withdrawn: sharing under it stops at once."""

    event_type: Literal["ConsentWithdrawn"] = "ConsentWithdrawn"
    schema_version: Literal[1] = 1
    withdrawn_at: AwareDatetime
