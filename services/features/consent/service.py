"""Use cases of consent: record, withdraw, learn from other agencies' events."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from contracts import ConsentBasis, Event, utc_now
from contracts.codes import ConsentGiver, ConsentMethod, DataCategory
from contracts.events import ConsentRecorded, ConsentWithdrawn
from services.features.consent import repository as consents
from services.features.consent.domain import Consent
from services.kit import inbox, outbox
from services.kit.database import Connection
from services.kit.refusals import Refused

#: Told of a withdrawal in its transaction, to stop what was going on under the consent.
WithdrawalHook = Callable[[Connection, UUID], Awaitable[None]]


class ConsentRefused(Refused):
    """A consent that cannot be recorded or withdrawn as asked."""


@dataclass
class ConsentDesk:
    """Consents recorded by, or shared with, the agencies one service hosts."""

    consumer_name: str
    clock: Callable[[], datetime] = field(default=utc_now)
    topic_prefix: str = ""
    on_withdrawal: list[WithdrawalHook] = field(default_factory=list)

    async def record(
        self,
        conn: Connection,
        agency: str,
        subject: str,
        given_by: ConsentGiver,
        method: ConsentMethod,
        recipients: list[str],
        data_categories: list[DataCategory],
        valid_from: datetime,
        valid_until: datetime,
    ) -> Consent:
        """Record a consent given to a hosted agency and tell its recipients."""
        if valid_until <= valid_from:
            raise ConsentRefused("invalid_consent", "valid_until must be after valid_from")
        consent_id = uuid4()
        event = ConsentRecorded(
            **self._envelope(agency, subject, consent_id),
            given_by=given_by,
            method=method,
            recipients=tuple(recipients),
            data_categories=tuple(data_categories),
            valid_from=valid_from,
            valid_until=valid_until,
        )
        consent = Consent.from_event(event)
        await consents.save(conn, consent)
        await self._stage(conn, event)
        return consent

    async def withdraw(self, conn: Connection, consent_id: UUID, agency: str) -> Consent:
        """Withdraw a consent recorded by a hosted agency: sharing under it stops at once."""
        consent = await consents.get(conn, consent_id, lock=True)
        if consent is None or consent.recorded_by != agency:
            raise ConsentRefused("not_found", f"{agency} recorded no consent {consent_id}")
        now = self.clock()
        event = ConsentWithdrawn(
            **self._envelope(agency, consent.subject, consent_id), withdrawn_at=now
        )
        await self._stage(conn, event)
        await self._apply_withdrawal(conn, consent_id, now)
        return consent.withdrawn(now)

    async def receive(self, conn: Connection, event: Event) -> None:
        """Learn a consent, or its withdrawal, from the bus."""
        if isinstance(event, ConsentRecorded):
            await consents.save(conn, Consent.from_event(event))
        elif isinstance(event, ConsentWithdrawn):
            await self._apply_withdrawal(conn, event.correlation_id, event.withdrawn_at)

    async def _apply_withdrawal(self, conn: Connection, consent_id: UUID, at: datetime) -> None:
        await consents.withdraw(conn, consent_id, at)
        for hook in self.on_withdrawal:
            await hook(conn, consent_id)

    async def _stage(self, conn: Connection, event: Event) -> None:
        # Our own copy will come back from Kafka; the inbox row makes it a known duplicate.
        await inbox.claim(conn, self.consumer_name, event.event_id)
        await outbox.add(conn, event, self.topic_prefix)

    def _envelope(self, agency: str, subject: str, consent_id: UUID) -> dict[str, Any]:
        return {
            "event_id": uuid4(),
            "occurred_at": self.clock(),
            "producer": agency,
            "correlation_id": consent_id,
            "subject": subject,
            "legal_basis": ConsentBasis(consent_id=consent_id),
        }
