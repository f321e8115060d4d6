"""Referral chains for auditors: every referral linked by redirects, every event about them in
causal order, the state each event left its referral in, and a readable tree. No I/O.

Events are shown as the audit log received them (their JSON), not as today's contract models
would re-read them, so nothing a producer sent is hidden from the auditor.
"""

import heapq
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.catalogue import type_of
from contracts.codes import HandoffKind
from contracts.events import ReferralRedirected
from contracts.lifecycle import OPENING_EVENTS, ReferralState, Side, find_transition
from contracts.topics import HANDOFFS

REDIRECTED = type_of(ReferralRedirected)

CHAIN_EVENT_TYPES: tuple[str, ...] = tuple(
    model.model_fields["event_type"].default for model in HANDOFFS.events
)
_ENVELOPE = frozenset(
    {
        "event_id",
        "event_type",
        "schema_version",
        "occurred_at",
        "producer",
        "correlation_id",
        "causation_id",
        "subject",
        "legal_basis",
    }
)


@dataclass(frozen=True)
class Recorded:
    """An event as the audit log holds it."""

    seq: int
    recorded_at: datetime
    event: dict[str, Any]

    @classmethod
    def of(cls, seq: int, recorded_at: datetime, raw: bytes) -> "Recorded":
        """From a stored entry."""
        return cls(seq, recorded_at, json.loads(raw))

    @property
    def event_id(self) -> str:
        """The event's id."""
        return str(self.event["event_id"])

    @property
    def event_type(self) -> str:
        """The event's type."""
        return str(self.event["event_type"])

    @property
    def referral_id(self) -> str:
        """The referral (correlation) id."""
        return str(self.event["correlation_id"])

    @property
    def occurred_at(self) -> datetime:
        """When the producer says it happened."""
        return datetime.fromisoformat(str(self.event["occurred_at"]))


@dataclass
class ChainEvent:
    """One event in a chain, with what caused it and the state it left its referral in."""

    seq: int
    event_id: str
    event_type: str
    referral_id: str
    occurred_at: str
    recorded_at: str
    producer: str
    legal_basis: dict[str, Any]
    causation_id: str | None
    caused_by_seq: int | None
    state: str | None
    changed_state: bool
    details: dict[str, Any]


@dataclass
class ChainReferral:
    """One referral of a chain: who sent it to whom, on what basis, where it stands."""

    referral_id: str
    kind: str | None = None
    sender: str | None = None
    receiver: str | None = None
    subject: str | None = None
    legal_basis: dict[str, Any] | None = None
    parent_referral_id: str | None = None
    children: list[str] = field(default_factory=list)
    state: str | None = None
    events: list[int] = field(default_factory=list)


@dataclass
class Chain:
    """Referrals linked by redirects, from the first one, and their events in causal order."""

    root_referral_id: str
    referrals: list[ChainReferral]
    events: list[ChainEvent]


def assemble(records: Iterable[Recorded]) -> list[Chain]:
    """Group the events of linked referrals into chains, each in causal order."""
    records = list(records)
    referrals = _referrals(records)
    order = _causal_order(records, referrals)
    events = _replay(order, referrals)
    chains: list[Chain] = []
    for root in sorted(
        (r for r in referrals.values() if r.parent_referral_id not in referrals),
        key=lambda r: _first_seq(r, events),
    ):
        members = _descendants(root, referrals)
        ids = {m.referral_id for m in members}
        chains.append(Chain(root.referral_id, members, [e for e in events if e.referral_id in ids]))
    return chains


def _first_seq(referral: ChainReferral, events: list[ChainEvent]) -> int:
    return min((e.seq for e in events if e.referral_id == referral.referral_id), default=0)


def _referrals(records: list[Recorded]) -> dict[str, ChainReferral]:
    referrals: dict[str, ChainReferral] = {}
    for rec in records:
        referral = referrals.setdefault(rec.referral_id, ChainReferral(rec.referral_id))
        event = rec.event
        if rec.event_type in OPENING_EVENTS:
            referral.kind = OPENING_EVENTS[rec.event_type].value
            referral.sender, referral.receiver = event["producer"], event.get("receiver")
            referral.subject, referral.legal_basis = event["subject"], event["legal_basis"]
            if event.get("parent_referral_id"):
                referral.parent_referral_id = str(event["parent_referral_id"])
        elif rec.event_type == REDIRECTED and event.get("new_referral_id"):
            child = referrals.setdefault(
                str(event["new_referral_id"]), ChainReferral(str(event["new_referral_id"]))
            )
            child.parent_referral_id = rec.referral_id
    for referral in referrals.values():
        parent = referrals.get(referral.parent_referral_id or "")
        if parent is not None and referral.referral_id not in parent.children:
            parent.children.append(referral.referral_id)
    return referrals


def _causal_order(
    records: list[Recorded], referrals: dict[str, ChainReferral]
) -> list[tuple[Recorded, Recorded | None]]:
    """Every event after its cause; among events whose causes are out, the earliest first.

    The cause is the event named by causation_id, or, for the opening of a redirected
    referral, the redirect that opened it.
    """
    by_id = {rec.event_id: rec for rec in records}
    redirects = {
        str(rec.event["new_referral_id"]): rec
        for rec in records
        if rec.event_type == REDIRECTED and rec.event.get("new_referral_id")
    }
    cause_of: dict[str, Recorded | None] = {}
    effects: dict[str, list[Recorded]] = {}
    for rec in records:
        cause = by_id.get(str(rec.event.get("causation_id")))
        if cause is None and rec.event_type in OPENING_EVENTS:
            cause = redirects.get(rec.referral_id)
        if cause is rec:
            cause = None
        cause_of[rec.event_id] = cause
        if cause is not None:
            effects.setdefault(cause.event_id, []).append(rec)
    ready = [(rec.occurred_at, rec.seq, rec) for rec in records if cause_of[rec.event_id] is None]
    heapq.heapify(ready)
    ordered: list[tuple[Recorded, Recorded | None]] = []
    while ready:
        *_, rec = heapq.heappop(ready)
        ordered.append((rec, cause_of[rec.event_id]))
        for effect in effects.get(rec.event_id, ()):
            heapq.heappush(ready, (effect.occurred_at, effect.seq, effect))
    return ordered


def _replay(
    ordered: list[tuple[Recorded, Recorded | None]], referrals: dict[str, ChainReferral]
) -> list[ChainEvent]:
    """The state each event left its referral in, by the contracts' state machine."""
    states: dict[str, ReferralState] = {}
    events: list[ChainEvent] = []
    for rec, cause in ordered:
        referral = referrals[rec.referral_id]
        before = states.get(rec.referral_id)
        after = _next_state(before, rec, referral)
        if after is not None:
            states[rec.referral_id] = after
        current = states.get(rec.referral_id)
        referral.state = current.value if current is not None else None
        referral.events.append(rec.seq)
        event = rec.event
        events.append(
            ChainEvent(
                seq=rec.seq,
                event_id=rec.event_id,
                event_type=rec.event_type,
                referral_id=rec.referral_id,
                occurred_at=str(event["occurred_at"]),
                recorded_at=rec.recorded_at.isoformat(),
                producer=str(event["producer"]),
                legal_basis=event["legal_basis"],
                causation_id=event.get("causation_id"),
                caused_by_seq=cause.seq if cause is not None else None,
                state=referral.state,
                changed_state=after is not None and after != before,
                details={k: v for k, v in event.items() if k not in _ENVELOPE},
            )
        )
    return events


def _next_state(
    state: ReferralState | None, rec: Recorded, referral: ChainReferral
) -> ReferralState | None:
    if rec.event_type in OPENING_EVENTS:
        return ReferralState.REQUESTED if state is None else None
    if state is None or referral.kind is None:
        return None
    producer = rec.event["producer"]
    side = (
        Side.SENDER
        if producer == referral.sender
        else Side.RECEIVER
        if producer == referral.receiver
        else None
    )
    if side is None:
        return None
    transition = find_transition(rec.event_type, state, side, HandoffKind(referral.kind))
    return transition.target if transition is not None else None


def _descendants(root: ChainReferral, referrals: dict[str, ChainReferral]) -> list[ChainReferral]:
    found, todo = [], [root]
    while todo:
        referral = todo.pop(0)
        found.append(referral)
        todo.extend(referrals[c] for c in referral.children if c in referrals)
    return found


def parties(event: dict[str, Any]) -> set[str]:
    """The agencies an event is about: its producer and whoever it is addressed to."""
    return {
        str(event[name]) for name in ("producer", "receiver", "new_receiver") if event.get(name)
    }


def chain_of(referral_id: UUID, chains: list[Chain]) -> Chain | None:
    """The chain that holds `referral_id`."""
    wanted = str(referral_id)
    return next((c for c in chains if any(r.referral_id == wanted for r in c.referrals)), None)


# --- a readable tree -----------------------------------------------------------------------


def render(chain: Chain) -> str:
    """The chain as an indented tree: each referral, its events, its redirects below it."""
    referrals = {r.referral_id: r for r in chain.referrals}
    by_referral: dict[str, list[ChainEvent]] = {}
    for event in chain.events:
        by_referral.setdefault(event.referral_id, []).append(event)
    lines: list[str] = []

    def walk(referral: ChainReferral, indent: str) -> None:
        lines.append(f"{indent}{_referral_line(referral)}")
        for event in by_referral.get(referral.referral_id, []):
            lines.append(f"{indent}  {_event_line(event)}")
        for child in referral.children:
            if child in referrals:
                walk(referrals[child], indent + "    ")

    walk(referrals[chain.root_referral_id], "")
    return "\n".join(lines) + "\n"


def _referral_line(referral: ChainReferral) -> str:
    parent = (
        f", redirected from {referral.parent_referral_id}" if referral.parent_referral_id else ""
    )
    return (
        f"{referral.kind or 'referral'} {referral.referral_id}: {referral.sender or '?'} ->"
        f" {referral.receiver or '?'}, now {referral.state or 'unknown'}"
        f", basis {_basis(referral.legal_basis)}{parent}"
    )


def _event_line(event: ChainEvent) -> str:
    state = f" -> {event.state}" if event.changed_state else " (state unchanged)"
    cause = f" caused by #{event.caused_by_seq}" if event.caused_by_seq is not None else ""
    details = ", ".join(f"{k}={_short(v)}" for k, v in event.details.items() if v not in (None, []))
    return (
        f"#{event.seq} {event.occurred_at} {event.event_type} by {event.producer}{state}"
        f"{cause}, basis {_basis(event.legal_basis)}" + (f" [{details}]" if details else "")
    )


def _basis(basis: dict[str, Any] | None) -> str:
    if not basis:
        return "?"
    value = basis.get("consent_id") or basis.get("duty") or basis.get("provision")
    return f"{basis.get('kind')} {value}"


def _short(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
