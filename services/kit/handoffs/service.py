"""Use cases of the handoff loop, shared by the HTTP commands and the Kafka consumer.

Both paths go through `_apply`, so a state change, its timeline entry, its notifications and
(on the command path) its outgoing event are written in the caller's one transaction.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts import ConsentBasis, Event, LegalBasis, utc_now
from contracts.events import HandoffOpened, ReferralExpired, ReferralReceived
from contracts.lifecycle import OPENING_EVENTS
from services.kit import inbox, outbox
from services.kit.agencies import AgencyRegistry
from services.kit.consent import repository as consents
from services.kit.consent.domain import basis_problems
from services.kit.consumer import NotYet, Refused
from services.kit.database import Connection
from services.kit.handoffs import repository as repo
from services.kit.handoffs.domain import (
    Handoff,
    HandoffRefused,
    advance,
    next_event,
    open_handoff,
)

log = logging.getLogger(__name__)


class ConsentNotYetKnown(NotYet):
    """A consent-based event arrived before its consent; worth retrying."""


# Made by the service itself on an agency's behalf: that agency's people are told too.
SYSTEM_EVENTS = frozenset({"ReferralExpired"})


@dataclass
class HandoffDesk:
    """The handoffs of the agencies one service hosts."""

    registry: AgencyRegistry
    hosted: frozenset[str]
    consumer_name: str
    topic_prefix: str = ""
    clock: Callable[[], datetime] = field(default=utc_now)

    async def open(
        self,
        conn: Connection,
        event_class: type[HandoffOpened],
        sender: str,
        receiver: str,
        subject: str,
        legal_basis: LegalBasis,
        respond_within: timedelta,
        referral_id: UUID | None = None,
        **fields: Any,
    ) -> Handoff:
        """Send a new referral or report from a hosted agency, refusing a duplicate open one."""
        self._require_hosted(sender)
        kind = OPENING_EVENTS[event_class.model_fields["event_type"].default]
        existing = await repo.open_between(conn, subject, receiver, kind)
        if existing is not None:
            raise HandoffRefused(
                "duplicate_open_referral",
                f"{receiver} already has an open {kind.value} for this subject",
                referral_id=str(existing.referral_id),
                state=existing.state.value,
            )
        now = self.clock()
        event = event_class(
            event_id=uuid4(),
            occurred_at=now,
            producer=sender,
            correlation_id=referral_id or uuid4(),
            subject=subject,
            legal_basis=legal_basis,
            receiver=receiver,
            respond_by=now + respond_within,
            **fields,
        )
        return await self.emit(conn, event)

    async def act(
        self,
        conn: Connection,
        referral_id: UUID,
        agency: str,
        event_class: type[Event],
        **fields: Any,
    ) -> Handoff:
        """A hosted agency moves a handoff on (accept, reject, complete, cancel, ...)."""
        self._require_hosted(agency)
        handoff = await repo.get(conn, referral_id, lock=True)
        if handoff is None:
            raise HandoffRefused("not_found", f"no handoff {referral_id}")
        return await self.emit(
            conn, next_event(handoff, event_class, agency, self.clock(), **fields)
        )

    async def emit(self, conn: Connection, event: Event, current: Handoff | None = None) -> Handoff:
        """Apply an event made here and stage it for publication, in the caller's transaction.
        `current` is the handoff as this transaction already holds it, if it does."""
        handoff = await self._apply(conn, event, current)
        # Our own copy will come back from Kafka; the inbox row makes it a known duplicate.
        await inbox.claim(conn, self.consumer_name, event.event_id)
        await outbox.add(conn, event, self.topic_prefix)
        await self._acknowledge_receipt(conn, event, handoff)
        return handoff

    async def receive(self, conn: Connection, event: Event) -> None:
        """Apply an event from the bus. Late or repeated changes are ignored; unlawful or
        impossible ones are refused (and so dead-lettered)."""
        try:
            handoff = await self._apply(conn, event)
        except HandoffRefused as exc:
            if exc.code == "illegal_transition":
                log.info("ignored %s on %s: %s", event.event_type, event.correlation_id, exc.detail)
                return
            if exc.code == "consent_unknown":
                # The consent travels on another topic and may not have arrived yet: retry.
                raise ConsentNotYetKnown(exc.detail) from exc
            raise Refused(exc.code, exc.detail) from exc
        await self._acknowledge_receipt(conn, event, handoff)

    async def open_under_consent(self, conn: Connection, consent_id: UUID) -> list[Handoff]:
        """Open handoffs sent by hosted agencies on the basis of this consent."""
        return await repo.open_under_consent(conn, consent_id, self.hosted)

    async def expire_overdue(self, pool: asyncpg.Pool) -> int:
        """Expire handoffs sent by hosted agencies and unanswered past their deadline."""
        async with pool.acquire() as conn:
            overdue = await repo.overdue(conn, self.hosted, self.clock())
        expired = 0
        for referral_id in overdue:
            async with pool.acquire() as conn, conn.transaction():
                handoff = await repo.get(conn, referral_id, lock=True)
                if handoff is None or handoff.respond_by >= self.clock():
                    continue
                try:
                    await self.emit(
                        conn, next_event(handoff, ReferralExpired, handoff.sender, self.clock())
                    )
                    expired += 1
                except HandoffRefused:
                    continue  # answered meanwhile
        return expired

    async def _apply(
        self, conn: Connection, event: Event, current: Handoff | None = None
    ) -> Handoff:
        if isinstance(event, HandoffOpened):
            handoff = await self._opened(conn, event)
        else:
            if current is None:
                current = await repo.get(conn, event.correlation_id, lock=True)
            if current is None:
                raise HandoffRefused("unknown_referral", f"no handoff {event.correlation_id}")
            handoff = advance(current, event)
        await repo.save(conn, handoff)
        await repo.append_timeline(conn, event, handoff)
        for agency in {handoff.sender, handoff.receiver} & self.hosted:
            if agency != event.producer or event.event_type in SYSTEM_EVENTS:
                await repo.notify(conn, agency, handoff, event)
        return handoff

    async def _opened(self, conn: Connection, event: HandoffOpened) -> Handoff:
        if await repo.get(conn, event.correlation_id, lock=True) is not None:
            raise HandoffRefused("illegal_transition", "this handoff was already opened")
        handoff = open_handoff(event)
        receiver = self.registry.get(event.receiver)
        if receiver is None or handoff.kind not in receiver.receives:
            raise HandoffRefused(
                "unknown_receiver", f"{event.receiver} does not receive {handoff.kind.value}"
            )
        await self._check_basis(conn, event)
        return handoff

    async def _check_basis(self, conn: Connection, event: HandoffOpened) -> None:
        consent = None
        if isinstance(event.legal_basis, ConsentBasis):
            consent = await consents.get(conn, event.legal_basis.consent_id)
            if consent is None:
                raise HandoffRefused(
                    "consent_unknown", f"no consent {event.legal_basis.consent_id} is recorded"
                )
        problems = basis_problems(event, consent)
        if problems:
            raise HandoffRefused("unlawful", "; ".join(problems), problems=problems)

    async def _acknowledge_receipt(self, conn: Connection, event: Event, handoff: Handoff) -> None:
        if isinstance(event, HandoffOpened) and handoff.receiver in self.hosted:
            ack = next_event(handoff, ReferralReceived, handoff.receiver, self.clock())
            # Just saved in this transaction: no need to read it back.
            await self.emit(conn, ack, current=handoff)

    def _require_hosted(self, agency: str) -> None:
        if agency not in self.hosted:
            raise HandoffRefused("not_hosted", f"{agency} is not served by this service")
