"""ESF participation: a young person starts in a project activity, leaves it with an outcome,
and is followed up some months later (ESF: six). Each change is stored and its event staged
for the bus in one transaction; the reporting service builds the monthly SCB figures from them.

The rules come first and do no I/O; the use cases and their SQL follow.
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg

from contracts import DutyBasis, LegalDuty, utc_now
from contracts.codes import AgeBand, Gender, Outcome
from contracts.events import OutcomeFollowUpRecorded, ParticipantEnrolled, ParticipantExited
from services.kit import outbox
from services.kit.database import Connection
from services.kit.refusals import Refused

MIGRATIONS = Path(__file__).parent / "migrations"
# Participant data for ESF monitoring is collected under the ESF+ regulation, not on consent.
ESF_BASIS = DutyBasis(duty=LegalDuty.ESF_PARTICIPANT_DATA)
EsfOutcome = Literal[
    Outcome.RETURNED_TO_STUDIES, Outcome.IN_WORK, Outcome.IN_OTHER_ACTIVITY, Outcome.NONE
]
SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


class ParticipationRefused(Refused):
    """A change to a participation that must not happen, and why."""


@dataclass(frozen=True)
class Participation:
    """One young person's participation in a project activity at one agency."""

    participation_id: UUID
    agency: str
    subject: str
    gender: Gender
    age_band: AgeBand
    municipality: str
    started_on: date
    last_event_id: UUID
    exited_on: date | None = None
    exit_outcome: Outcome | None = None
    follow_ups: tuple[tuple[int, Outcome], ...] = ()


def months_later(day: date, months: int) -> date:
    """The same day `months` calendar months later (the month's last day if it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reported_municipality(home: str, agency_municipality: str, protected_identity: bool) -> str:
    """The municipality an event may carry: for a protected identity (skyddad folkbokföring)
    where the person lives must not travel, so the agency's own municipality stands in."""
    return agency_municipality if protected_identity else home


def check_start(started_on: date, today: date) -> None:
    """A participation cannot start in the future."""
    if started_on > today:
        raise ParticipationRefused("invalid_date", "started_on is in the future")


def check_exit(participation: Participation, exited_on: date, today: date) -> None:
    """A participant leaves once, not before starting and not in the future."""
    if participation.exited_on is not None:
        raise ParticipationRefused("already_exited", f"exited on {participation.exited_on}")
    if exited_on > today:
        raise ParticipationRefused("invalid_date", "exited_on is in the future")
    if exited_on < participation.started_on:
        raise ParticipationRefused("invalid_date", "exited_on is before started_on")


def check_follow_up(participation: Participation, months_after_exit: int, today: date) -> None:
    """A follow-up is recorded once per interval, after the exit and once the time has come."""
    if participation.exited_on is None:
        raise ParticipationRefused("not_exited", "the participant has not exited")
    if any(months == months_after_exit for months, _ in participation.follow_ups):
        raise ParticipationRefused(
            "already_followed_up", f"the {months_after_exit}-month follow-up is recorded"
        )
    due = months_later(participation.exited_on, months_after_exit)
    if due > today:
        raise ParticipationRefused("too_early", f"the follow-up is due on {due}")


@dataclass
class ParticipationDesk:
    """Participations at the agencies one service hosts."""

    topic_prefix: str = ""
    clock: Callable[[], datetime] = field(default=utc_now)

    def today(self) -> date:
        """Today in Swedish time."""
        return self.clock().astimezone(SWEDISH_TIME).date()

    async def enrol(
        self,
        conn: Connection,
        agency: str,
        subject: str,
        gender: Gender,
        age_band: AgeBand,
        municipality: str,
        started_on: date,
    ) -> Participation:
        """Start a participation, unless the person already takes part at the agency."""
        check_start(started_on, self.today())
        existing = await conn.fetchval(
            "SELECT participation_id FROM participations"
            " WHERE agency = $1 AND subject = $2 AND exited_on IS NULL",
            agency,
            subject,
        )
        if existing is not None:
            raise ParticipationRefused(
                "already_participating", f"open participation {existing} at {agency}"
            )
        event = ParticipantEnrolled(
            **self._envelope(agency, uuid4(), subject, None),
            gender=gender,
            age_band=age_band,
            municipality=municipality,
            started_on=started_on,
        )
        await conn.execute(
            "INSERT INTO participations (participation_id, agency, subject, gender, age_band,"
            " municipality, started_on, last_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            event.correlation_id,
            agency,
            subject,
            gender.value,
            age_band.value,
            municipality,
            started_on,
            event.event_id,
        )
        await outbox.add(conn, event, self.topic_prefix)
        return await self._require(conn, event.correlation_id, agency)

    async def exit(
        self,
        conn: Connection,
        participation_id: UUID,
        agency: str,
        exited_on: date,
        outcome: Outcome,
    ) -> Participation:
        """Record that the participant left, with the outcome at exit."""
        participation = await self._require(conn, participation_id, agency, lock=True)
        check_exit(participation, exited_on, self.today())
        event = ParticipantExited(
            **self._envelope(agency, participation_id, participation.subject, participation),
            exited_on=exited_on,
            outcome=outcome,
        )
        await conn.execute(
            "UPDATE participations SET exited_on = $2, exit_outcome = $3, last_event_id = $4"
            " WHERE participation_id = $1",
            participation_id,
            exited_on,
            outcome.value,
            event.event_id,
        )
        await outbox.add(conn, event, self.topic_prefix)
        return await self._require(conn, participation_id, agency)

    async def follow_up(
        self,
        conn: Connection,
        participation_id: UUID,
        agency: str,
        months_after_exit: int,
        outcome: Outcome,
    ) -> Participation:
        """Record where a former participant is `months_after_exit` months after leaving."""
        participation = await self._require(conn, participation_id, agency, lock=True)
        check_follow_up(participation, months_after_exit, self.today())
        event = OutcomeFollowUpRecorded(
            **self._envelope(agency, participation_id, participation.subject, participation),
            months_after_exit=months_after_exit,
            outcome=outcome,
        )
        await conn.execute(
            "INSERT INTO participation_follow_ups (participation_id, months_after_exit, outcome,"
            " recorded_at) VALUES ($1, $2, $3, $4)",
            participation_id,
            months_after_exit,
            outcome.value,
            event.occurred_at,
        )
        await conn.execute(
            "UPDATE participations SET last_event_id = $2 WHERE participation_id = $1",
            participation_id,
            event.event_id,
        )
        await outbox.add(conn, event, self.topic_prefix)
        return await self._require(conn, participation_id, agency)

    async def get(self, conn: Connection, participation_id: UUID) -> Participation | None:
        """One participation."""
        row = await conn.fetchrow(
            "SELECT * FROM participations WHERE participation_id = $1", participation_id
        )
        if row is None:
            return None
        follow_ups = await conn.fetch(
            "SELECT months_after_exit, outcome FROM participation_follow_ups"
            " WHERE participation_id = $1 ORDER BY months_after_exit",
            participation_id,
        )
        return _participation(row, follow_ups)

    async def _require(
        self, conn: Connection, participation_id: UUID, agency: str, lock: bool = False
    ) -> Participation:
        if lock:
            await conn.execute(
                "SELECT 1 FROM participations WHERE participation_id = $1 FOR UPDATE",
                participation_id,
            )
        participation = await self.get(conn, participation_id)
        if participation is None or participation.agency != agency:
            raise ParticipationRefused(
                "not_found", f"{agency} has no participation {participation_id}"
            )
        return participation

    def _envelope(
        self,
        agency: str,
        participation_id: UUID,
        subject: str,
        previous: Participation | None,
    ) -> dict[str, Any]:
        return {
            "event_id": uuid4(),
            "occurred_at": self.clock(),
            "producer": agency,
            "correlation_id": participation_id,
            "causation_id": previous.last_event_id if previous else None,
            "subject": subject,
            "legal_basis": ESF_BASIS,
        }


def _participation(row: asyncpg.Record, follow_ups: list[asyncpg.Record]) -> Participation:
    return Participation(
        participation_id=row["participation_id"],
        agency=row["agency"],
        subject=row["subject"],
        gender=Gender(row["gender"]),
        age_band=AgeBand(row["age_band"]),
        municipality=row["municipality"],
        started_on=row["started_on"],
        last_event_id=row["last_event_id"],
        exited_on=row["exited_on"],
        exit_outcome=Outcome(row["exit_outcome"]) if row["exit_outcome"] else None,
        follow_ups=tuple((r["months_after_exit"], Outcome(r["outcome"])) for r in follow_ups),
    )
