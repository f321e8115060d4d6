"""The referral state machine, as data.

Anchored on the HL7 FHIR SDOH referral Task: requested -> received -> accepted | rejected ->
in_progress <-> on_hold -> completed | failed, with cancelled, expired and entered_in_error.
Each transition names the event that makes it and the side allowed to emit it; they are the
rows of the event table (`contracts.catalogue`), gathered here. An event whose transition is
not allowed from the current state changes nothing: that is how duplicate and late events are
kept from moving a referral backwards.
"""

from contracts.catalogue import EVENT_TABLE
from contracts.codes import HandoffKind
from contracts.states import (
    FINAL_STATES,
    OPEN_STATES,
    WORKING_STATES,
    ReferralState,
    Side,
    Transition,
)

OPENING_EVENTS: dict[str, HandoffKind] = {
    name: meaning.opens for name, meaning in EVENT_TABLE.items() if meaning.opens is not None
}
TRANSITIONS: tuple[Transition, ...] = tuple(
    transition for meaning in EVENT_TABLE.values() for transition in meaning.transitions
)

__all__ = [
    "FINAL_STATES",
    "OPENING_EVENTS",
    "OPEN_STATES",
    "TRANSITIONS",
    "WORKING_STATES",
    "ReferralState",
    "Side",
    "Transition",
    "allowed_events",
    "find_transition",
]


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
