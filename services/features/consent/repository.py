"""SQL adapter for consents."""

from dataclasses import asdict, fields
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.catalogue import event_types
from services.features.consent.domain import Consent
from services.kit.database import Connection

_COLUMNS = ", ".join(f.name for f in fields(Consent))
# Events that end sharing are always delivered, whatever became of the consent.
ALWAYS_DELIVERED = sorted(event_types(always_delivered=True))


def _to_consent(row: asyncpg.Record) -> Consent:
    data = dict(row)
    data["recipients"] = tuple(data["recipients"])
    data["data_categories"] = tuple(data["data_categories"])
    return Consent(**data)


async def save(conn: Connection, consent: Consent) -> None:
    """Store a consent (idempotent: a known consent keeps its recorded withdrawal)."""
    values = asdict(consent)
    values["recipients"] = list(consent.recipients)
    values["data_categories"] = list(consent.data_categories)
    await conn.execute(
        f"INSERT INTO consents ({_COLUMNS}) VALUES"
        f" ({', '.join(f'${i}' for i in range(1, len(values) + 1))})"
        " ON CONFLICT (consent_id) DO NOTHING",
        *values.values(),
    )


async def get(conn: Connection, consent_id: UUID, lock: bool = False) -> Consent | None:
    """One consent."""
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM consents WHERE consent_id = $1{suffix}", consent_id
    )
    return _to_consent(row) if row else None


async def withdraw(conn: Connection, consent_id: UUID, at: datetime) -> None:
    """Mark a consent withdrawn (the first withdrawal counts)."""
    await conn.execute(
        "UPDATE consents SET withdrawn_at = coalesce(withdrawn_at, $2) WHERE consent_id = $1",
        consent_id,
        at,
    )


async def of_subject(conn: Connection, subject: str) -> list[Consent]:
    """Every consent known for `subject`, newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM consents WHERE subject = $1 ORDER BY recorded_at DESC", subject
    )
    return [_to_consent(r) for r in rows]


async def withhold_lapsed(conn: Connection) -> int:
    """Withhold staged events whose consent was withdrawn or has expired; how many."""
    status = await conn.execute(
        "UPDATE outbox o SET withheld_at = now(), withheld_reason = CASE"
        " WHEN c.withdrawn_at IS NOT NULL THEN 'consent_withdrawn' ELSE 'consent_expired' END"
        " FROM consents c WHERE o.sent_at IS NULL AND o.withheld_at IS NULL"
        " AND o.consent_id = c.consent_id"
        " AND (c.withdrawn_at IS NOT NULL OR c.valid_until < now())"
        " AND NOT (o.event_type = ANY($1::text[]))",
        ALWAYS_DELIVERED,
    )
    return int(status.split()[-1])
