"""SQL adapter of the reporting read model. Every write is idempotent and order-independent:
a replayed event changes nothing, and the first value recorded for a fact wins."""

from datetime import date, datetime
from uuid import UUID

import asyncpg

from contracts import Event
from contracts.codes import AgeBand, Gender, HandoffKind, Outcome
from contracts.events import (
    HandoffOpened,
    OutcomeFollowUpRecorded,
    ParticipantEnrolled,
    ParticipantExited,
)
from contracts.lifecycle import OPENING_EVENTS
from services.kit.database import Connection
from services.reporting.domain import FOLLOW_UP_MONTHS, LoopEvent, Participant, Referral


async def save_enrolment(conn: Connection, event: ParticipantEnrolled) -> None:
    """A participant started."""
    await conn.execute(
        "INSERT INTO participants (participation_id, gender, age_band, municipality, started_on)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (participation_id) DO UPDATE SET"
        " gender = coalesce(participants.gender, EXCLUDED.gender),"
        " age_band = coalesce(participants.age_band, EXCLUDED.age_band),"
        " municipality = coalesce(participants.municipality, EXCLUDED.municipality),"
        " started_on = coalesce(participants.started_on, EXCLUDED.started_on)",
        event.correlation_id,
        event.gender.value,
        event.age_band.value,
        event.municipality,
        event.started_on,
    )


async def save_exit(conn: Connection, event: ParticipantExited) -> None:
    """A participant left."""
    await conn.execute(
        "INSERT INTO participants (participation_id, exited_on, exit_outcome) VALUES ($1, $2, $3)"
        " ON CONFLICT (participation_id) DO UPDATE SET"
        " exited_on = coalesce(participants.exited_on, EXCLUDED.exited_on),"
        " exit_outcome = coalesce(participants.exit_outcome, EXCLUDED.exit_outcome)",
        event.correlation_id,
        event.exited_on,
        event.outcome.value,
    )


async def save_follow_up(conn: Connection, event: OutcomeFollowUpRecorded) -> None:
    """Where a former participant was some months after leaving."""
    await conn.execute(
        "INSERT INTO follow_ups (participation_id, months_after_exit, outcome)"
        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        event.correlation_id,
        event.months_after_exit,
        event.outcome.value,
    )


async def save_opening(conn: Connection, event: HandoffOpened) -> None:
    """A handoff was opened."""
    await conn.execute(
        "INSERT INTO referrals (referral_id, kind, subject, basis_kind, requested_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.correlation_id,
        OPENING_EVENTS[event.event_type].value,
        event.subject,
        event.legal_basis.kind,
        event.occurred_at,
    )


async def save_handoff_event(conn: Connection, event: Event) -> None:
    """A later event of a handoff, with its coded reason or outcome."""
    code = getattr(event, "reason", None) or getattr(event, "outcome", None)
    await conn.execute(
        "INSERT INTO referral_events (event_id, referral_id, event_type, occurred_at, code)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.event_id,
        event.correlation_id,
        event.event_type,
        event.occurred_at,
        None if code is None else str(code),
    )


async def participants(conn: Connection, first_day: date, end_day: date) -> list[Participant]:
    """Participants who started in [first_day, end_day), or exited then or within the
    follow-up interval before it."""
    rows = await conn.fetch(
        "SELECT p.*, f.outcome AS after_follow_up FROM participants p"
        " LEFT JOIN follow_ups f ON f.participation_id = p.participation_id"
        " AND f.months_after_exit = $3"
        " WHERE p.started_on IS NOT NULL AND ((p.started_on >= $1 AND p.started_on < $2)"
        " OR (p.exited_on >= ($1 - make_interval(months => $3))::date AND p.exited_on < $2))",
        first_day,
        end_day,
        FOLLOW_UP_MONTHS,
    )
    return [
        Participant(
            gender=Gender(r["gender"]),
            age_band=AgeBand(r["age_band"]),
            municipality=r["municipality"],
            started_on=r["started_on"],
            exited_on=r["exited_on"],
            exit_outcome=Outcome(r["exit_outcome"]) if r["exit_outcome"] else None,
            outcome_after_6_months=Outcome(r["after_follow_up"]) if r["after_follow_up"] else None,
        )
        for r in rows
    ]


async def municipalities(conn: Connection) -> list[str]:
    """Every municipality participants came from: the columns of the municipality tables."""
    rows = await conn.fetch(
        "SELECT DISTINCT municipality FROM participants WHERE municipality IS NOT NULL"
        " ORDER BY municipality"
    )
    return [r["municipality"] for r in rows]


async def referrals(conn: Connection, as_of: datetime) -> list[Referral]:
    """Every handoff requested by `as_of`, with its later events."""
    rows = await conn.fetch(
        "SELECT r.referral_id, r.kind, r.subject, r.basis_kind, r.requested_at,"
        " e.event_type, e.occurred_at, e.code FROM referrals r"
        " LEFT JOIN referral_events e ON e.referral_id = r.referral_id"
        " WHERE r.requested_at <= $1 ORDER BY r.referral_id, e.occurred_at",
        as_of,
    )
    grouped: dict[UUID, list[asyncpg.Record]] = {}
    for r in rows:
        grouped.setdefault(r["referral_id"], []).append(r)
    return [_referral(group) for group in grouped.values()]


def _referral(rows: list[asyncpg.Record]) -> Referral:
    head = rows[0]
    return Referral(
        kind=HandoffKind(head["kind"]),
        subject=head["subject"],
        basis_kind=head["basis_kind"],
        requested_at=head["requested_at"],
        events=tuple(
            LoopEvent(r["event_type"], r["occurred_at"], r["code"])
            for r in rows
            if r["event_type"] is not None
        ),
    )
