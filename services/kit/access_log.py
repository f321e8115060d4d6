"""Log review (loggkontroll): every read of a person's record becomes a RecordAccessed event,
staged in the outbox in the same transaction as the read, for the audit service to keep."""

from collections.abc import Iterable
from uuid import UUID, uuid4

from contracts import DutyBasis, LegalDuty, utc_now
from contracts.codes import AccessedResource, AccessPurpose
from contracts.events import RecordAccessed
from services.kit import outbox
from services.kit.auth import Principal
from services.kit.database import Connection

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
