"""Idempotent inbox: a consumer claims an event id in the same transaction as its effect."""

from collections.abc import Sequence
from uuid import UUID

from services.kit.database import Connection


async def claim(conn: Connection, consumer: str, event_id: UUID) -> bool:
    """Record that `consumer` handles `event_id`; False if it already did (a duplicate)."""
    inserted = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event_id,
    )
    return bool(inserted)


async def claim_many(conn: Connection, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
    """Claim a batch of events in one statement; the ids `consumer` had not handled yet."""
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}
