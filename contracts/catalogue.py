"""The event table: what each event type of the catalogue means, written once.

Per event type: the handoff transitions it makes (an event may have several rows, e.g. a
cancel by either side) and so which side may emit it; whether it opens a handoff, and of
which kind; the action whose HTTP call makes it (`POST /referrals/{id}/<action>`); whether
the services make it themselves; whether its producer's own people are told of it; whether
it is delivered whatever became of the consent it was shared under; and what a duty report
necessarily shares. Event types outside the handoff loop have an entry too, with none of it.
The services' routes, the portal's forms and the sets they need derive from this table.
"""

from dataclasses import dataclass

from contracts.codes import DataCategory, HandoffKind
from contracts.envelope import Event
from contracts.events import (
    CaseworkerAssigned,
    ConcernAcknowledged,
    ConcernReported,
    ConsentRecorded,
    ConsentWithdrawn,
    ContactAttempted,
    DropoutReported,
    FirstContactMade,
    OutcomeFollowUpRecorded,
    ParticipantEnrolled,
    ParticipantExited,
    RecordAccessed,
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
    RiskSignalCleared,
    RiskSignalRaised,
)
from contracts.states import (
    ALL_BUT_ERROR,
    NOT_CONCERN,
    OPEN_STATES,
    WORKING_STATES,
    ReferralState,
    Side,
    Transition,
)

S = ReferralState
_ANSWERABLE = frozenset({S.REQUESTED, S.RECEIVED})


def type_of(model: type[Event]) -> str:
    """The event type name of an event model."""
    name: str = model.model_fields["event_type"].default
    return name


@dataclass(frozen=True)
class Step:
    """One row of the state machine without its event: from `sources` to `target` (None:
    the state stays), emitted by `side`, for the handoff kinds in `kinds`."""

    sources: frozenset[ReferralState]
    target: ReferralState | None
    side: Side
    kinds: frozenset[HandoffKind] = frozenset(HandoffKind)


@dataclass(frozen=True)
class Meaning:
    """What one event type means (see the module's docstring)."""

    model: type[Event]
    steps: tuple[Step, ...] = ()
    opens: HandoffKind | None = None
    action: str | None = None
    made_by_system: bool = False
    tells_producer: bool = False
    always_delivered: bool = False
    shares: tuple[DataCategory, ...] = ()

    @property
    def event_type(self) -> str:
        """The event type name."""
        return type_of(self.model)

    @property
    def handoff(self) -> bool:
        """Whether the event belongs to the handoff loop (opens a handoff or moves one)."""
        return self.opens is not None or bool(self.steps)

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """The state machine's rows for this event type."""
        return tuple(
            Transition(self.event_type, s.sources, s.target, s.side, s.kinds) for s in self.steps
        )


_R, _SND = Side.RECEIVER, Side.SENDER
_CONCERN = frozenset({HandoffKind.CONCERN_REPORT})

_MEANINGS = (
    Meaning(ReferralRequested, opens=HandoffKind.REFERRAL),
    Meaning(
        DropoutReported,
        opens=HandoffKind.DROPOUT_REPORT,
        shares=(DataCategory.IDENTITY, DataCategory.ATTENDANCE),
    ),
    Meaning(
        ConcernReported,
        opens=HandoffKind.CONCERN_REPORT,
        shares=(DataCategory.IDENTITY, DataCategory.SOCIAL_SITUATION),
    ),
    # The receiving service acknowledges delivery by itself; its people learn of the handoff.
    Meaning(
        ReferralReceived, (Step(frozenset({S.REQUESTED}), S.RECEIVED, _R),), made_by_system=True
    ),
    Meaning(ReferralAccepted, (Step(_ANSWERABLE, S.ACCEPTED, _R, NOT_CONCERN),), action="accept"),
    Meaning(
        ConcernAcknowledged, (Step(_ANSWERABLE, S.ACCEPTED, _R, _CONCERN),), action="acknowledge"
    ),
    Meaning(ReferralRejected, (Step(_ANSWERABLE, S.REJECTED, _R, NOT_CONCERN),), action="reject"),
    Meaning(CaseworkerAssigned, (Step(WORKING_STATES, None, _R),), action="assign"),
    Meaning(ContactAttempted, (Step(WORKING_STATES, None, _R),), action="contact-attempts"),
    Meaning(
        FirstContactMade,
        (Step(frozenset({S.ACCEPTED}), S.IN_PROGRESS, _R),),
        action="first-contact",
    ),
    Meaning(ReferralPaused, (Step(frozenset({S.IN_PROGRESS}), S.ON_HOLD, _R),), action="pause"),
    Meaning(ReferralResumed, (Step(frozenset({S.ON_HOLD}), S.IN_PROGRESS, _R),), action="resume"),
    Meaning(
        ReferralCompleted, (Step(frozenset({S.IN_PROGRESS}), S.COMPLETED, _R),), action="complete"
    ),
    Meaning(ReferralFailed, (Step(WORKING_STATES, S.FAILED, _R),), action="fail"),
    Meaning(
        ReferralCancelled,
        (Step(OPEN_STATES, S.CANCELLED, _SND), Step(OPEN_STATES, S.CANCELLED, _R)),
        action="cancel",
        always_delivered=True,
    ),
    # Expiry is detected by the sender's service: it is the side waiting for an answer, and it
    # must notice even when the receiver's service is down. Nobody at the sender acted, so its
    # own people are told too.
    Meaning(
        ReferralExpired,
        (Step(_ANSWERABLE, S.EXPIRED, _SND),),
        made_by_system=True,
        tells_producer=True,
        always_delivered=True,
    ),
    # Made together with the new, linked referral by its own route.
    Meaning(
        ReferralRedirected, (Step(frozenset({S.REJECTED, S.FAILED}), None, _R),), action="redirect"
    ),
    Meaning(
        ReferralEnteredInError,
        (Step(ALL_BUT_ERROR, S.ENTERED_IN_ERROR, _SND),),
        action="entered-in-error",
        always_delivered=True,
    ),
    # Ending or granting consent is always delivered: that is how sharing stops.
    Meaning(ConsentRecorded, always_delivered=True),
    Meaning(ConsentWithdrawn, always_delivered=True),
    Meaning(RiskSignalRaised),
    Meaning(RiskSignalCleared),
    Meaning(ParticipantEnrolled),
    Meaning(ParticipantExited),
    Meaning(OutcomeFollowUpRecorded),
    # Made by a service for every read of a person's record (log review).
    Meaning(RecordAccessed, made_by_system=True),
)

EVENT_TABLE: dict[str, Meaning] = {meaning.event_type: meaning for meaning in _MEANINGS}


def meaning_of(event: Event | type[Event] | str) -> Meaning:
    """The table's entry for an event, event model or event type name."""
    if isinstance(event, str):
        return EVENT_TABLE[event]
    return EVENT_TABLE[type_of(type(event) if isinstance(event, Event) else event)]


def event_types(**wanted: bool) -> frozenset[str]:
    """The event types whose entries have the wanted flags, e.g.
    `event_types(always_delivered=True)`."""
    return frozenset(
        name
        for name, meaning in EVENT_TABLE.items()
        if all(getattr(meaning, flag) == value for flag, value in wanted.items())
    )
