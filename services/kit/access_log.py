"""Log review (loggkontroll): every read of a person's record becomes a RecordAccessed event,
staged in the outbox in the same transaction as the read, for the audit service to keep."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
from fastapi import Depends, Query

from contracts import DutyBasis, LegalDuty, utc_now
from contracts.codes import AccessedResource, AccessPurpose
from contracts.events import RecordAccessed
from services.kit import outbox
from services.kit.auth import Principal, require_read
from services.kit.database import Connection
from services.kit.provided import provided
from services.kit.refusals import Refused

_BASIS = DutyBasis(duty=LegalDuty.LOG_REVIEW)


async def log_reads(
    conn: Connection,
    principal: Principal,
    purpose: AccessPurpose | None,
    resource: AccessedResource,
    records: Iterable[tuple[str, UUID | None]],
    topic_prefix: str,
) -> None:
    """Stage one access event per (subject, record id) read by `principal`, with one
    statement."""
    now = utc_now()
    events = [
        RecordAccessed(
            event_id=uuid4(),
            occurred_at=now,
            producer=principal.agency,
            correlation_id=record_id or uuid4(),
            subject=subject,
            legal_basis=_BASIS,
            accessor=principal.id,
            accessor_role=principal.role,
            resource=resource,
            resource_id=record_id,
            purpose=purpose or principal.default_purpose,
        )
        for subject, record_id in dict.fromkeys(records)
    ]
    if events:
        await outbox.add_many(conn, [outbox.staged(event, topic_prefix) for event in events])


@dataclass(frozen=True)
class ReadLog:
    """The reads of one service process: who may read which hosted agency's records, and
    where each read is logged."""

    pool: asyncpg.Pool
    hosted: frozenset[str]
    topic_prefix: str

    def authorise(self, caller: Principal, agency: str) -> None:
        """403 unless the caller may read the agency's records and the agency is hosted here."""
        require_read(caller, agency)
        if agency not in self.hosted:
            raise Refused("not_hosted", f"{agency} is not served by this service")

    async def log(
        self,
        caller: Principal,
        purpose: AccessPurpose | None,
        resource: AccessedResource,
        records: Iterable[tuple[str, UUID | None]],
    ) -> None:
        """Log the reads of `records` (one access event each), in their own transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await log_reads(conn, caller, purpose, resource, records, self.topic_prefix)


Purpose = Annotated[AccessPurpose | None, Query(description="Why the record is read (logged).")]
Reads = Annotated[ReadLog, Depends(provided(ReadLog))]
