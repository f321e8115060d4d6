"""SQL adapter for handoffs, their timeline and notifications."""

import json
from collections.abc import Collection, Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import Event
from contracts.codes import HandoffKind
from contracts.lifecycle import ReferralState
from services.features.handoffs.domain import Handoff, event_code
from services.kit.database import Connection

_FIELDS = [f.name for f in fields(Handoff)]
_COLUMNS = ", ".join(_FIELDS)
_SAVE = (
    f"INSERT INTO handoffs ({_COLUMNS})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_FIELDS) + 1))})"
    " ON CONFLICT (referral_id) DO UPDATE SET "
    + ", ".join(f"{n} = EXCLUDED.{n}" for n in _FIELDS if n != "referral_id")
)


def _to_handoff(row: asyncpg.Record) -> Handoff:
    data = dict(row)
    data["kind"] = HandoffKind(data["kind"])
    data["state"] = ReferralState(data["state"])
    data["legal_basis"] = json.loads(data["legal_basis"])
    return Handoff(**data)


async def get(conn: Connection, referral_id: UUID) -> Handoff | None:
    """One handoff, for reading (not locked)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM handoffs WHERE referral_id = $1", referral_id
    )
    return _to_handoff(row) if row else None


async def get_many(conn: Connection, referral_ids: Collection[UUID]) -> dict[UUID, Handoff]:
    """The handoffs of `referral_ids` that exist, each locked until the transaction ends."""
    # Locked in one order, so that two batches sharing handoffs wait rather than deadlock.
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM handoffs WHERE referral_id = ANY($1::uuid[])"
        " ORDER BY referral_id FOR UPDATE",
        list(referral_ids),
    )
    return {row["referral_id"]: _to_handoff(row) for row in rows}


def _values(handoff: Handoff) -> list[Any]:
    # Field by field rather than dataclasses.asdict, which deep-copies the legal basis.
    values: list[Any] = [getattr(handoff, name) for name in _FIELDS]
    values[_FIELDS.index("legal_basis")] = json.dumps(handoff.legal_basis)
    return [str(v) if isinstance(v, HandoffKind | ReferralState) else v for v in values]


async def save_many(conn: Connection, handoffs: Iterable[Handoff]) -> None:
    """Insert or update handoffs, in one round trip."""
    await conn.executemany(_SAVE, [_values(handoff) for handoff in handoffs])


async def append_timeline(conn: Connection, entries: Iterable[tuple[Event, Handoff]]) -> None:
    """Record applied events, each with the handoff as it left it, on their subjects'
    timelines in the order given, in one round trip."""
    await conn.executemany(
        "INSERT INTO handoff_events (event_id, referral_id, subject, event_type, producer,"
        " occurred_at, causation_id, state_after, code) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
        " ON CONFLICT (event_id) DO NOTHING",
        [
            (
                event.event_id,
                handoff.referral_id,
                handoff.subject,
                event.event_type,
                event.producer,
                event.occurred_at,
                event.causation_id,
                handoff.state.value,
                event_code(event),
            )
            for event, handoff in entries
        ],
    )


async def notify(conn: Connection, notices: Iterable[tuple[str, Handoff, Event]]) -> None:
    """Store notifications (agency, handoff as the event left it, event) in the order given,
    in one round trip."""
    await conn.executemany(
        "INSERT INTO notifications (agency, caseworker, referral_id, event_id, event_type,"
        " state, subject) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
        [
            (
                agency,
                handoff.caseworker if handoff.receiver == agency else None,
                handoff.referral_id,
                event.event_id,
                event.event_type,
                handoff.state.value,
                handoff.subject,
            )
            for agency, handoff, event in notices
        ],
    )


async def list_for_agency(
    conn: Connection,
    agency: str,
    role: str,
    states: list[str] | None,
    caseworker: str | None,
    older_than: datetime | None,
    limit: int,
) -> list[Handoff]:
    """Handoffs where `agency` is receiver (role 'receiver') or sender, filtered."""
    column = "receiver" if role == "receiver" else "sender"
    clauses, args = [f"{column} = $1"], [agency]

    def bind(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if states:
        bind("state = ANY(?::text[])", states)
    if caseworker:
        bind("caseworker = ?", caseworker)
    if older_than:
        bind("requested_at < ?", older_than)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM handoffs WHERE {' AND '.join(clauses)}"
        f" ORDER BY requested_at DESC LIMIT {int(limit)}",
        *args,
    )
    return [_to_handoff(r) for r in rows]


async def open_between(
    conn: Connection, subject: str, receiver: str, kind: HandoffKind
) -> Handoff | None:
    """An open handoff of `kind` for `subject` to `receiver`, if there is one."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM handoffs WHERE subject = $1 AND receiver = $2 AND kind = $3"
        " AND state IN ('requested', 'received', 'accepted', 'in_progress', 'on_hold')",
        subject,
        receiver,
        kind.value,
    )
    return _to_handoff(row) if row else None


async def is_party_to_subject(conn: Connection, subject: str, agencies: frozenset[str]) -> bool:
    """Whether any of `agencies` has sent or received a handoff about `subject`."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM handoffs WHERE subject = $1"
            " AND (sender = ANY($2::text[]) OR receiver = ANY($2::text[])))",
            subject,
            list(agencies),
        )
    )


async def timeline(conn: Connection, subject: str) -> list[asyncpg.Record]:
    """Every handoff event about `subject`, with its handoff's parties, in applied order."""
    return await conn.fetch(
        "SELECT e.seq, e.event_id, e.referral_id, e.event_type, e.producer, e.occurred_at,"
        " e.causation_id, e.state_after, e.code, h.kind, h.sender, h.receiver,"
        " h.parent_referral_id FROM handoff_events e JOIN handoffs h USING (referral_id)"
        " WHERE e.subject = $1 ORDER BY e.seq",
        subject,
    )


async def overdue(conn: Connection, senders: frozenset[str], now: datetime) -> list[UUID]:
    """Handoffs sent by `senders` still unanswered after their deadline."""
    rows = await conn.fetch(
        "SELECT referral_id FROM handoffs WHERE state IN ('requested', 'received')"
        " AND respond_by < $1 AND sender = ANY($2::text[])",
        now,
        list(senders),
    )
    return [r["referral_id"] for r in rows]


async def notifications_after(
    conn: Connection, agency: str, after: int, caseworker: str | None, limit: int = 200
) -> list[asyncpg.Record]:
    """Notifications for `agency` (optionally one caseworker) with id greater than `after`."""
    return await conn.fetch(
        "SELECT id, agency, caseworker, referral_id, event_id, event_type, state, subject,"
        " created_at FROM notifications WHERE agency = $1 AND id > $2"
        " AND ($3::text IS NULL OR caseworker = $3) ORDER BY id LIMIT $4",
        agency,
        after,
        caseworker,
        limit,
    )


async def last_notification_id(conn: Connection, agency: str) -> int:
    """The newest notification id for `agency` (0 if none)."""
    return int(
        await conn.fetchval(
            "SELECT coalesce(max(id), 0) FROM notifications WHERE agency = $1", agency
        )
    )


async def open_under_consent(
    conn: Connection, consent_id: UUID, senders: frozenset[str]
) -> list[Handoff]:
    """Open handoffs sent by `senders` on the basis of `consent_id`."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM handoffs WHERE legal_basis->>'consent_id' = $1"
        " AND sender = ANY($2::text[])"
        " AND state IN ('requested', 'received', 'accepted', 'in_progress', 'on_hold')",
        str(consent_id),
        list(senders),
    )
    return [_to_handoff(r) for r in rows]
