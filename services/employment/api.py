"""HTTP entry points of ESF participation: the KAA or employment caseworker records who started
in a project activity, who left with which outcome, and where they were six months later."""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from contracts.codes import AccessedResource, AgeBand, Gender, Outcome
from contracts.envelope import AgencyId
from services.employment.participation import (
    EsfOutcome,
    Participation,
    ParticipationDesk,
    ParticipationRefused,
    reported_municipality,
)
from services.features.subjects.api import Pseudonyms, subject_of
from services.features.subjects.schemas import SubjectInput
from services.kit.access_log import Purpose, Reads
from services.kit.commands import Commands
from services.kit.dependencies import Caller, Pool, Registry, Settings
from services.kit.schemas import Act


class Enrolment(SubjectInput):
    """A young person starts in a project activity."""

    agency: AgencyId
    gender: Gender
    age_band: AgeBand = Field(description="Age band at the start.")
    municipality: str = Field(pattern=r"^\d{4}$", description="Home municipality (SCB code).")
    started_on: date


class Exit(Act):
    """The participant left, with where they went (the ESF outcome at exit)."""

    exited_on: date
    outcome: EsfOutcome


class FollowUp(Act):
    """Where a former participant is some months after leaving (ESF asks at six)."""

    months_after_exit: int = Field(default=6, ge=1, le=36)
    outcome: EsfOutcome


class ParticipationView(BaseModel):
    """A participation as recorded."""

    participation_id: UUID
    agency: str
    subject: str
    gender: Gender
    age_band: AgeBand
    municipality: str
    started_on: date
    exited_on: date | None
    exit_outcome: Outcome | None
    follow_ups: dict[int, Outcome]

    @classmethod
    def of(cls, participation: Participation) -> "ParticipationView":
        """View of a participation."""
        return cls(
            **{
                name: getattr(participation, name)
                for name in cls.model_fields
                if name != "follow_ups"
            },
            follow_ups=dict(participation.follow_ups),
        )


async def participation_desk(settings: Settings) -> ParticipationDesk:
    """The participation use cases, staging events under this service's topic prefix."""
    return ParticipationDesk(topic_prefix=settings.kafka.topic_prefix)


Participations = Annotated[ParticipationDesk, Depends(participation_desk)]


async def enrol(
    body: Enrolment,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    pseudonyms: Pseudonyms,
    desk: Participations,
) -> ParticipationView:
    """Record that a young person started; their home municipality is not shared for a
    protected identity (the agency's own municipality is reported instead)."""
    async with commands.acting_for(caller, body.agency) as conn:
        agency = registry.get(body.agency)
        assert agency is not None  # hosted agencies are registered
        subject, protected = await subject_of(conn, pseudonyms, body, body.agency)
        participation = await desk.enrol(
            conn, body.agency, subject, body.gender, body.age_band,
            reported_municipality(body.municipality, agency.municipality, protected),
            body.started_on,
        )  # fmt: skip
    return ParticipationView.of(participation)


async def exit_participation(
    participation_id: UUID, body: Exit, caller: Caller, commands: Commands, desk: Participations
) -> ParticipationView:
    """Record that the participant left, with the outcome at exit."""
    async with commands.acting_for(caller, body.agency) as conn:
        participation = await desk.exit(
            conn, participation_id, body.agency, body.exited_on, body.outcome
        )
    return ParticipationView.of(participation)


async def follow_up(
    participation_id: UUID,
    body: FollowUp,
    caller: Caller,
    commands: Commands,
    desk: Participations,
) -> ParticipationView:
    """Record where a former participant is, some months after leaving."""
    async with commands.acting_for(caller, body.agency) as conn:
        participation = await desk.follow_up(
            conn, participation_id, body.agency, body.months_after_exit, body.outcome
        )
    return ParticipationView.of(participation)


async def get_participation(
    participation_id: UUID,
    caller: Caller,
    pool: Pool,
    reads: Reads,
    desk: Participations,
    agency: Annotated[str, Query()],
    purpose: Purpose = None,
) -> ParticipationView:
    """One participation, as the agency that recorded it sees it."""
    reads.authorise(caller, agency)
    async with pool.acquire() as conn:
        participation = await desk.get(conn, participation_id)
    if participation is None or participation.agency != agency:
        raise ParticipationRefused("not_found", "no such participation")
    records = [(participation.subject, participation_id)]
    await reads.log(caller, purpose, AccessedResource.SUBJECT_RECORD, records)
    return ParticipationView.of(participation)


def participation_router() -> APIRouter:
    """Routes for recording ESF participation."""
    router = APIRouter(prefix="/participants", tags=["participation"])
    router.post("", status_code=201)(enrol)
    router.post("/{participation_id}/exit")(exit_participation)
    router.post("/{participation_id}/follow-ups", status_code=201)(follow_up)
    router.get("/{participation_id}")(get_participation)
    return router
