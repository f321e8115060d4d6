"""Handoff events: the referral loop (FHIR Task state machine, extended), plus the two
duty reports that open a handoff of their own kind (KAA dropout report, report of concern).
"""

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.codes import (
    CancelReason,
    ConcernCode,
    ContactChannel,
    DataCategory,
    DropoutReason,
    FailureReason,
    Outcome,
    PauseReason,
    ReferralReason,
    RejectionReason,
)
from contracts.envelope import AgencyId, Event, StaffId


class HandoffOpened(Event):
    """Fields common to the events that open a handoff."""

    receiver: AgencyId
    respond_by: AwareDatetime = Field(description="Expires unanswered after this instant.")
    protected_identity: bool = Field(
        default=False,
        description="Skyddad folkbokföring: no location or school data may accompany the subject.",
    )


class ReferralRequested(HandoffOpened):
    """The sender asks the receiver to take on a young person (remiss)."""

    event_type: Literal["ReferralRequested"] = "ReferralRequested"
    schema_version: Literal[1] = 1
    reason: ReferralReason
    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    parent_referral_id: UUID | None = Field(
        default=None, description="Set when this referral redirects a rejected or failed one."
    )


class DropoutReported(HandoffOpened):
    """A school tells the home municipality's activity unit (KAA) that a student left."""

    event_type: Literal["DropoutReported"] = "DropoutReported"
    schema_version: Literal[1] = 1
    reason: DropoutReason
    left_on: date
    under_20: bool = Field(description="KAA covers young people under 20.")


class ConcernReported(HandoffOpened):
    """A mandatory report of concern (orosanmälan) to social services; cannot be rejected."""

    event_type: Literal["ConcernReported"] = "ConcernReported"
    schema_version: Literal[1] = 1
    concern: ConcernCode
    subject_is_child: bool = Field(description="The duty to report applies to children under 18.")


class ReferralReceived(Event):
    """Delivery acknowledgement, sent automatically by the receiving agency."""

    event_type: Literal["ReferralReceived"] = "ReferralReceived"
    schema_version: Literal[1] = 1


class ReferralAccepted(Event):
    """The receiver takes the referral on."""

    event_type: Literal["ReferralAccepted"] = "ReferralAccepted"
    schema_version: Literal[1] = 1


class ConcernAcknowledged(Event):
    """Social services confirm a report of concern was received and is being assessed."""

    event_type: Literal["ConcernAcknowledged"] = "ConcernAcknowledged"
    schema_version: Literal[1] = 1


class ReferralRejected(Event):
    """The receiver declines, with a coded reason."""

    event_type: Literal["ReferralRejected"] = "ReferralRejected"
    schema_version: Literal[1] = 1
    reason: RejectionReason


class CaseworkerAssigned(Event):
    """A named caseworker at the receiving agency is responsible."""

    event_type: Literal["CaseworkerAssigned"] = "CaseworkerAssigned"
    schema_version: Literal[1] = 1
    caseworker: StaffId


class ContactAttempted(Event):
    """The receiver tried to reach the young person."""

    event_type: Literal["ContactAttempted"] = "ContactAttempted"
    schema_version: Literal[1] = 1
    channel: ContactChannel


class FirstContactMade(Event):
    """The receiver reached the young person: work is in progress."""

    event_type: Literal["FirstContactMade"] = "FirstContactMade"
    schema_version: Literal[1] = 1
    channel: ContactChannel


class ReferralPaused(Event):
    """Work is on hold."""

    event_type: Literal["ReferralPaused"] = "ReferralPaused"
    schema_version: Literal[1] = 1
    reason: PauseReason


class ReferralResumed(Event):
    """Work continues after a pause."""

    event_type: Literal["ReferralResumed"] = "ReferralResumed"
    schema_version: Literal[1] = 1


class ReferralCompleted(Event):
    """The receiver closes the referral with an outcome."""

    event_type: Literal["ReferralCompleted"] = "ReferralCompleted"
    schema_version: Literal[1] = 1
    outcome: Outcome


class ReferralFailed(Event):
    """The receiver closes the referral without success."""

    event_type: Literal["ReferralFailed"] = "ReferralFailed"
    schema_version: Literal[1] = 1
    reason: FailureReason


class ReferralCancelled(Event):
    """Either side cancels an open referral."""

    event_type: Literal["ReferralCancelled"] = "ReferralCancelled"
    schema_version: Literal[1] = 1
    reason: CancelReason


class ReferralExpired(Event):
    """Nobody answered before the deadline; raised by the sender's service."""

    event_type: Literal["ReferralExpired"] = "ReferralExpired"
    schema_version: Literal[1] = 1


class ReferralRedirected(Event):
    """A rejected or failed referral was passed on as a new referral to another agency."""

    event_type: Literal["ReferralRedirected"] = "ReferralRedirected"
    schema_version: Literal[1] = 1
    new_referral_id: UUID
    new_receiver: AgencyId


class ReferralEnteredInError(Event):
    """The sender withdraws a referral that should never have been sent."""

    event_type: Literal["ReferralEnteredInError"] = "ReferralEnteredInError"
    schema_version: Literal[1] = 1
