"""Handoff aggregate: the state of one referral as one agency sees it. No I/O."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import TypeAdapter

from contracts import Event, LegalBasis
from contracts.codes import HandoffKind
from contracts.events import (
    CaseworkerAssigned,
    HandoffOpened,
    ReferralRedirected,
    ReferralRequested,
)
from contracts.lifecycle import OPENING_EVENTS, ReferralState, Side, allowed_events, find_transition
from services.kit.refusals import Refused

_BASIS: TypeAdapter[Any] = TypeAdapter(LegalBasis)


@dataclass(frozen=True)
class Handoff:
    """A referral, dropout report or concern report, and where it stands."""

    referral_id: UUID
    kind: HandoffKind
    sender: str
    receiver: str
    subject: str
    state: ReferralState
    legal_basis: dict[str, Any]
    reason: str | None
    parent_referral_id: UUID | None
    respond_by: datetime
    requested_at: datetime
    updated_at: datetime
    last_event_id: UUID
    caseworker: str | None = None
    outcome: str | None = None
    protected_identity: bool = False

    def side_of(self, agency: str) -> Side | None:
        """Whether `agency` is this handoff's sender, receiver, or neither."""
        if agency == self.sender:
            return Side.SENDER
        if agency == self.receiver:
            return Side.RECEIVER
        return None

    @property
    def basis(self) -> LegalBasis:
        """The legal basis the handoff was opened on."""
        basis: LegalBasis = _BASIS.validate_python(self.legal_basis)
        return basis

    def allowed(self, agency: str) -> list[str]:
        """Event types `agency` may emit next."""
        side = self.side_of(agency)
        return allowed_events(self.state, side, self.kind) if side else []


class HandoffRefused(Refused):
    """A change to a handoff that must not happen, with what a caller needs to know why."""


def event_code(event: Event) -> str | None:
    """The coded detail an event carries (reason, outcome, channel, caseworker, new receiver)."""
    if isinstance(event, ReferralRedirected):
        return event.new_receiver
    if isinstance(event, CaseworkerAssigned):
        return event.caseworker
    # Looked up among the model's fields: getattr with a default on a field the event does
    # not have takes pydantic's slow path (an AttributeError raised and caught).
    fields = type(event).model_fields
    for name in ("outcome", "reason", "concern", "channel"):
        value = getattr(event, name) if name in fields else None
        if value is not None:
            return str(value)
    return None


def open_handoff(event: HandoffOpened) -> Handoff:
    """The handoff an opening event starts."""
    return Handoff(
        referral_id=event.correlation_id,
        kind=OPENING_EVENTS[event.event_type],
        sender=event.producer,
        receiver=event.receiver,
        subject=event.subject,
        state=ReferralState.REQUESTED,
        legal_basis=event.legal_basis.model_dump(mode="json"),
        reason=event_code(event),
        parent_referral_id=event.parent_referral_id
        if isinstance(event, ReferralRequested)
        else None,
        respond_by=event.respond_by,
        requested_at=event.occurred_at,
        updated_at=event.occurred_at,
        last_event_id=event.event_id,
        protected_identity=event.protected_identity,
    )


def advance(handoff: Handoff, event: Event) -> Handoff:
    """The handoff after `event`, or HandoffRefused if its producer may not make that change."""
    side = handoff.side_of(event.producer)
    if side is None:
        raise HandoffRefused(
            "not_a_party", f"{event.producer} is neither sender nor receiver of this handoff"
        )
    transition = find_transition(event.event_type, handoff.state, side, handoff.kind)
    if transition is None:
        raise HandoffRefused(
            "illegal_transition",
            f"{event.event_type} is not allowed for the {side.value}"
            f" in state {handoff.state.value}",
            current_state=handoff.state.value,
            allowed=handoff.allowed(event.producer),
        )
    changes: dict[str, Any] = {"updated_at": event.occurred_at, "last_event_id": event.event_id}
    if transition.target is not None:
        changes["state"] = transition.target
    if isinstance(event, CaseworkerAssigned):
        changes["caseworker"] = event.caseworker
    elif transition.target is not None and event_code(event) is not None:
        changes["outcome"] = event_code(event)
    return replace(handoff, **changes)


def next_event(
    handoff: Handoff, event_class: type[Event], producer: str, now: datetime, **fields: Any
) -> Event:
    """A follow-up event on `handoff`, caused by its latest event, under the same legal basis."""
    return event_class(
        event_id=uuid4(),
        occurred_at=now,
        producer=producer,
        correlation_id=handoff.referral_id,
        causation_id=handoff.last_event_id,
        subject=handoff.subject,
        legal_basis=handoff.basis,
        **fields,
    )
