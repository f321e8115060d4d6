"""What the load was told: every handoff an agency opened and every step it was answered for.

The checker expects exactly this in every database; nothing the services say about themselves
goes into it.
"""

from collections import Counter
from dataclasses import dataclass, field

from contracts.codes import HandoffKind
from contracts.lifecycle import ReferralState, Side, find_transition


def state_after(kind: str, events: list[str]) -> ReferralState:
    """The state a handoff of `kind` is in after `events` (the first one opens it)."""
    state = ReferralState.REQUESTED
    for event_type in events[1:]:
        transition = find_transition(
            event_type, state, Side.RECEIVER, HandoffKind(kind)
        ) or find_transition(event_type, state, Side.SENDER, HandoffKind(kind))
        if transition is None:
            raise ValueError(f"{event_type} cannot follow {events} in state {state}")
        state = transition.target or state
    return state


@dataclass
class Expected:
    """One handoff the load opened, and the events its clients were answered for, in order."""

    referral_id: str
    flow: str
    kind: str
    sender: str
    receiver: str
    parent: str | None
    events: list[str]
    #: False while a call about it went unanswered and could not be settled: the checker
    #: cannot say what it should find, so the handoff is counted apart.
    settled: bool = True

    @property
    def final_state(self) -> ReferralState:
        """Where the handoff must end, in every service."""
        return state_after(self.kind, self.events)


@dataclass
class Ledger:
    """Every handoff opened and how the calls went."""

    handoffs: dict[str, Expected] = field(default_factory=dict)
    #: Calls that got no answer at first (connection refused or reset, timeout, 5xx).
    indeterminate: int = 0
    #: Of those: answered on a retry, or found to have taken effect (by a read or a refusal
    #: that names the result), or never settled.
    settled_by_retry: int = 0
    settled_by_lookup: int = 0
    unsettled: int = 0
    #: 5xx answers per service (expected while its database restarts).
    server_errors: Counter[str] = field(default_factory=Counter)
    #: Notifications seen more than once by a client on its live stream, per agency.
    stream_duplicates: Counter[str] = field(default_factory=Counter)
    #: Waits for a live notification that had to fall back to asking the service.
    stream_late: int = 0
    #: Flows that stopped early, with why.
    abandoned: Counter[str] = field(default_factory=Counter)
    #: A service refused an action naming a state other than the one the handoff was last
    #: confirmed in: the state had gone back (and may have come forward again since).
    backwards_seen: list[str] = field(default_factory=list)

    def opened(self, expected: Expected) -> Expected:
        """Write down a handoff whose opening was confirmed."""
        self.handoffs[expected.referral_id] = expected
        return expected

    def settled(self) -> list[Expected]:
        """The handoffs whose expected outcome is known."""
        return [h for h in self.handoffs.values() if h.settled]
