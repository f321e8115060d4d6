"""The referral state machine, as data.

Anchored on the HL7 FHIR SDOH referral Task: requested -> received -> accepted | rejected ->
in_progress <-> on_hold -> completed | failed, with cancelled, expired and entered_in_error.
Each transition names the event that makes it and the side allowed to emit it. An event whose
transition is not allowed from the current state changes nothing: that is how duplicate and
late events are kept from moving a referral backwards.
"""

from dataclasses import dataclass
from enum import StrEnum

from contracts.codes import HandoffKind


class ReferralState(StrEnum):
    """Where a handoff stands."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ENTERED_IN_ERROR = "entered_in_error"


class Side(StrEnum):
    """Which end of a handoff acts."""

    SENDER = "sender"
    RECEIVER = "receiver"


@dataclass(frozen=True)
class Transition:
    """`event_type` moves a handoff from any of `sources` to `target`, emitted by `side`.

    `target` None means the event records a fact and leaves the state as it is.
    `kinds` restricts the transition to some handoff kinds.
    """

    event_type: str
    sources: frozenset[ReferralState]
    target: ReferralState | None
    side: Side
    kinds: frozenset[HandoffKind] = frozenset(HandoffKind)


S = ReferralState
OPEN_STATES = frozenset({S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD})
FINAL_STATES = frozenset(set(S) - OPEN_STATES)
WORKING_STATES = frozenset({S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD})
_NOT_CONCERN = frozenset({HandoffKind.REFERRAL, HandoffKind.DROPOUT_REPORT})
_ALL_BUT_ERROR = frozenset(set(S) - {S.ENTERED_IN_ERROR})

OPENING_EVENTS: dict[str, HandoffKind] = {
    "ReferralRequested": HandoffKind.REFERRAL,
    "DropoutReported": HandoffKind.DROPOUT_REPORT,
    "ConcernReported": HandoffKind.CONCERN_REPORT,
}

TRANSITIONS: tuple[Transition, ...] = (
    Transition("ReferralReceived", frozenset({S.REQUESTED}), S.RECEIVED, Side.RECEIVER),
    Transition(
        "ReferralAccepted",
        frozenset({S.REQUESTED, S.RECEIVED}),
        S.ACCEPTED,
        Side.RECEIVER,
        _NOT_CONCERN,
    ),
    Transition(
        "ConcernAcknowledged",
        frozenset({S.REQUESTED, S.RECEIVED}),
        S.ACCEPTED,
        Side.RECEIVER,
        frozenset({HandoffKind.CONCERN_REPORT}),
    ),
    Transition(
        "ReferralRejected",
        frozenset({S.REQUESTED, S.RECEIVED}),
        S.REJECTED,
        Side.RECEIVER,
        _NOT_CONCERN,
    ),
    Transition("CaseworkerAssigned", WORKING_STATES, None, Side.RECEIVER),
    Transition("ContactAttempted", WORKING_STATES, None, Side.RECEIVER),
    Transition("FirstContactMade", frozenset({S.ACCEPTED}), S.IN_PROGRESS, Side.RECEIVER),
    Transition("ReferralPaused", frozenset({S.IN_PROGRESS}), S.ON_HOLD, Side.RECEIVER),
    Transition("ReferralResumed", frozenset({S.ON_HOLD}), S.IN_PROGRESS, Side.RECEIVER),
    Transition("ReferralCompleted", frozenset({S.IN_PROGRESS}), S.COMPLETED, Side.RECEIVER),
    Transition(
        "ReferralFailed", frozenset({S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD}), S.FAILED, Side.RECEIVER
    ),
    Transition("ReferralCancelled", OPEN_STATES, S.CANCELLED, Side.SENDER),
    Transition("ReferralCancelled", OPEN_STATES, S.CANCELLED, Side.RECEIVER),
    # Expiry is detected by the sender's service: it is the side waiting for an answer, and it
    # must notice even when the receiver's service is down.
    Transition("ReferralExpired", frozenset({S.REQUESTED, S.RECEIVED}), S.EXPIRED, Side.SENDER),
    Transition("ReferralRedirected", frozenset({S.REJECTED, S.FAILED}), None, Side.RECEIVER),
    Transition("ReferralEnteredInError", _ALL_BUT_ERROR, S.ENTERED_IN_ERROR, Side.SENDER),
)


def find_transition(
    event_type: str, state: ReferralState, side: Side, kind: HandoffKind
) -> Transition | None:
    """The transition `side` may make with `event_type` from `state`, or None if not allowed."""
    for t in TRANSITIONS:
        if t.event_type == event_type and t.side == side and state in t.sources and kind in t.kinds:
            return t
    return None


def allowed_events(state: ReferralState, side: Side, kind: HandoffKind) -> list[str]:
    """Event types `side` may emit from `state`: what a user interface may offer."""
    return sorted(
        {
            t.event_type
            for t in TRANSITIONS
            if t.side == side and state in t.sources and kind in t.kinds
        }
    )
