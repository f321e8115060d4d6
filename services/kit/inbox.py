"""Idempotent inbox: a consumer claims an event id in the same transaction as its effect."""

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
