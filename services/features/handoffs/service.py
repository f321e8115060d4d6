"""Use cases of the handoff loop, shared by the HTTP commands and the Kafka consumer.

Both paths go through `_apply` on a unit of work, so a state change, its timeline entry, its
notifications and its outgoing events are written in the caller's one transaction: for a
batch of events from Kafka, with one statement per table for the whole batch.
"""

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from contracts import ConsentBasis, Event, LegalBasis, utc_now
from contracts.catalogue import event_types
from contracts.events import HandoffOpened, ReferralExpired, ReferralReceived
from contracts.lifecycle import OPENING_EVENTS
from services.features.consent import repository as consents
from services.features.consent.domain import basis_problems
from services.features.handoffs import repository as repo
from services.features.handoffs.domain import (
    Handoff,
    HandoffRefused,
    advance,
    next_event,
    open_handoff,
)
from services.features.handoffs.unit_of_work import UnitOfWork
from services.kit.agencies import AgencyRegistry
from services.kit.database import Connection
from services.kit.refusals import NotYet, Refused

log = logging.getLogger(__name__)


class ConsentNotYetKnown(NotYet):
    """A consent-based event arrived before its consent; worth retrying."""


# Made by the service itself on an agency's behalf: that agency's people are told too.
TELLS_PRODUCER = event_types(tells_producer=True)


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
        async with self._work(conn) as work:
            if referral_id is None:
                work.made_here(event.correlation_id)
            return await self._emit(work, event)

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
        async with self._work(conn) as work:
            handoff = await work.get(referral_id)
            if handoff is None:
                raise HandoffRefused("not_found", f"no handoff {referral_id}")
            return await self._emit(
                work, next_event(handoff, event_class, agency, self.clock(), **fields)
            )

    async def receive(self, conn: Connection, event: Event) -> None:
        """Apply an event from the bus. Late or repeated changes are ignored; unlawful or
        impossible ones are refused (and so dead-lettered)."""
        async with self._work(conn) as work:
            await self._receive(work, event)

    @contextlib.asynccontextmanager
    async def receive_many(
        self, conn: Connection, events: Sequence[Event]
    ) -> AsyncIterator[Callable[[Event], Awaitable[None]]]:
        """Apply a batch of events from the bus, in order, as `receive` would, with one query
        for their handoffs and one statement per table for what they change: yields the
        function that applies one of them. If any is refused or not yet possible, the batch
        fails (and is rolled back), and the consumer gives each event to `receive` alone."""
        async with self._work(conn) as work:
            await work.hold(event.correlation_id for event in events)

            async def receive_one(event: Event) -> None:
                await self._receive(work, event)

            yield receive_one

    async def _receive(self, work: UnitOfWork, event: Event) -> None:
        try:
            handoff = await self._apply(work, event)
        except Refused as exc:
            if exc.code == "illegal_transition":
                log.info("ignored %s on %s: %s", event.event_type, event.correlation_id, exc.detail)
                return
            if exc.code == "consent_unknown":
                # The consent travels on another topic and may not have arrived yet: retry.
                raise ConsentNotYetKnown(exc.detail) from exc
            raise
        await self._acknowledge_receipt(work, event, handoff)

    async def open_under_consent(self, conn: Connection, consent_id: UUID) -> list[Handoff]:
        """Open handoffs sent by hosted agencies on the basis of this consent."""
        return await repo.open_under_consent(conn, consent_id, self.hosted)

    async def expire_overdue(self, pool: asyncpg.Pool) -> int:
        """Expire handoffs sent by hosted agencies and unanswered past their deadline."""
        async with pool.acquire() as conn:
            overdue = await repo.overdue(conn, self.hosted, self.clock())
        expired = 0
        for referral_id in overdue:
            async with pool.acquire() as conn, conn.transaction(), self._work(conn) as work:
                handoff = await work.get(referral_id)
                if handoff is None or handoff.respond_by >= self.clock():
                    continue
                try:
                    await self._emit(
                        work, next_event(handoff, ReferralExpired, handoff.sender, self.clock())
                    )
                    expired += 1
                except HandoffRefused:
                    continue  # answered meanwhile
        return expired

    @contextlib.asynccontextmanager
    async def _work(self, conn: Connection) -> AsyncIterator[UnitOfWork]:
        """A unit of work in the caller's transaction, written when the block succeeds."""
        work = UnitOfWork(conn, self.consumer_name, self.topic_prefix)
        yield work
        await work.flush()

    async def _emit(self, work: UnitOfWork, event: Event) -> Handoff:
        """Apply an event made here and stage it for publication."""
        handoff = await self._apply(work, event)
        work.stage(event)
        await self._acknowledge_receipt(work, event, handoff)
        return handoff

    async def _apply(self, work: UnitOfWork, event: Event) -> Handoff:
        if isinstance(event, HandoffOpened):
            handoff = await self._opened(work, event)
        else:
            current = await work.get(event.correlation_id)
            if current is None:
                raise HandoffRefused("unknown_referral", f"no handoff {event.correlation_id}")
            handoff = advance(current, event)
        work.record(event, handoff)
        for agency in {handoff.sender, handoff.receiver} & self.hosted:
            if agency != event.producer or event.event_type in TELLS_PRODUCER:
                work.notify(agency, handoff, event)
        return handoff

    async def _opened(self, work: UnitOfWork, event: HandoffOpened) -> Handoff:
        if await work.get(event.correlation_id) is not None:
            raise HandoffRefused("illegal_transition", "this handoff was already opened")
        handoff = open_handoff(event)
        receiver = self.registry.get(event.receiver)
        if receiver is None or handoff.kind not in receiver.receives:
            raise HandoffRefused(
                "unknown_receiver", f"{event.receiver} does not receive {handoff.kind.value}"
            )
        await self._check_basis(work.conn, event)
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

    async def _acknowledge_receipt(self, work: UnitOfWork, event: Event, handoff: Handoff) -> None:
        if isinstance(event, HandoffOpened) and handoff.receiver in self.hosted:
            ack = next_event(handoff, ReferralReceived, handoff.receiver, self.clock())
            await self._emit(work, ack)

    def _require_hosted(self, agency: str) -> None:
        if agency not in self.hosted:
            raise HandoffRefused("not_hosted", f"{agency} is not served by this service")
