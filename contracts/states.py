"""The words of the referral state machine: where a handoff stands, which side acts, and what
a transition is. The transitions themselves are rows of the event table (`catalogue`)."""

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
NOT_CONCERN = frozenset({HandoffKind.REFERRAL, HandoffKind.DROPOUT_REPORT})
ALL_BUT_ERROR = frozenset(set(S) - {S.ENTERED_IN_ERROR})
