"""The v1 event catalogue."""

from contracts.events.access import RecordAccessed
from contracts.events.consent import ConsentRecorded, ConsentWithdrawn
from contracts.events.handoff import (
    CaseworkerAssigned,
    ConcernAcknowledged,
    ConcernReported,
    ContactAttempted,
    DropoutReported,
    FirstContactMade,
    HandoffOpened,
    ReferralAccepted,
    ReferralCancelled,
    ReferralCompleted,
    ReferralEnteredInError,
    ReferralExpired,
    ReferralFailed,
    ReferralPaused,
    ReferralReceived,
    ReferralRedirected,
    ReferralRejected,
    ReferralRequested,
    ReferralResumed,
)
from contracts.events.participation import (
    OutcomeFollowUpRecorded,
    ParticipantEnrolled,
    ParticipantExited,
)
from contracts.events.signals import RiskSignalCleared, RiskSignalRaised

HANDOFF_EVENTS = (
    ReferralRequested,
    DropoutReported,
    ConcernReported,
    ReferralReceived,
    ReferralAccepted,
    ConcernAcknowledged,
    ReferralRejected,
    CaseworkerAssigned,
    ContactAttempted,
    FirstContactMade,
    ReferralPaused,
    ReferralResumed,
    ReferralCompleted,
    ReferralFailed,
    ReferralCancelled,
    ReferralExpired,
    ReferralRedirected,
    ReferralEnteredInError,
)
CONSENT_EVENTS = (ConsentRecorded, ConsentWithdrawn)
SIGNAL_EVENTS = (RiskSignalRaised, RiskSignalCleared)
PARTICIPATION_EVENTS = (ParticipantEnrolled, ParticipantExited, OutcomeFollowUpRecorded)
ACCESS_EVENTS = (RecordAccessed,)

__all__ = [
    "ACCESS_EVENTS",
    "CONSENT_EVENTS",
    "HANDOFF_EVENTS",
    "PARTICIPATION_EVENTS",
    "SIGNAL_EVENTS",
    "CaseworkerAssigned",
    "ConcernAcknowledged",
    "ConcernReported",
    "ConsentRecorded",
    "ConsentWithdrawn",
    "ContactAttempted",
    "DropoutReported",
    "FirstContactMade",
    "HandoffOpened",
    "OutcomeFollowUpRecorded",
    "ParticipantEnrolled",
    "ParticipantExited",
    "RecordAccessed",
    "ReferralAccepted",
    "ReferralCancelled",
    "ReferralCompleted",
    "ReferralEnteredInError",
    "ReferralExpired",
    "ReferralFailed",
    "ReferralPaused",
    "ReferralReceived",
    "ReferralRedirected",
    "ReferralRejected",
    "ReferralRequested",
    "ReferralResumed",
    "RiskSignalCleared",
    "RiskSignalRaised",
]
