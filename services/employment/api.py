"""HTTP entry points of ESF participation: the KAA or employment caseworker records who started
in a project activity, who left with which outcome, and where they were six months later."""

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
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
from services.features.handoffs.service import HandoffDesk
from services.features.subjects.api import subject_of
from services.features.subjects.schemas import SubjectInput
from services.kit.access_log import Purpose, authorise_read, logged
from services.kit.agencies import AgencyRegistry
from services.kit.auth import require_act
from services.kit.dependencies import Caller
from services.kit.identity import Pseudonymizer
from services.kit.provided import provided_in
from services.kit.schemas import Act
from services.kit.settings import ServiceSettings

STATUS_OF_REFUSAL = {
    "not_found": 404,
    "already_participating": 409,
    "already_exited": 409,
    "already_followed_up": 409,
    "not_exited": 409,
    "too_early": 409,
    "invalid_date": 422,
}


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


def participation_desk(request: Request) -> ParticipationDesk:
    """The participation use cases, staging events under this service's topic prefix."""
    settings = provided_in(request.app, ServiceSettings)
    return ParticipationDesk(topic_prefix=settings.kafka.topic_prefix)


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Answer a refused change with its status and reason."""
    try:
        yield
    except ParticipationRefused as exc:
        status = STATUS_OF_REFUSAL.get(exc.code, 400)
        raise HTTPException(status, {"error": exc.code, "detail": exc.detail}) from exc


def _hosted(request: Request, agency: str) -> None:
    if agency not in provided_in(request.app, HandoffDesk).hosted:
        raise HTTPException(403, {"error": "not_hosted", "detail": f"{agency} is not served here"})


def participation_router() -> APIRouter:
    """Routes for recording ESF participation."""
    router = APIRouter(prefix="/participants", tags=["participation"])

    @router.post("", status_code=201)
    async def enrol(body: Enrolment, request: Request, caller: Caller) -> ParticipationView:
        """Record that a young person started; their home municipality is not shared for a
        protected identity (the agency's own municipality is reported instead)."""
        require_act(caller, body.agency)
        _hosted(request, body.agency)
        registry: AgencyRegistry = provided_in(request.app, AgencyRegistry)
        agency = registry.get(body.agency)
        assert agency is not None  # hosted agencies are registered
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            subject, protected = await subject_of(
                conn, provided_in(request.app, Pseudonymizer), body, body.agency
            )
            with refusals():
                participation = await participation_desk(request).enrol(
                    conn, body.agency, subject, body.gender, body.age_band,
                    reported_municipality(body.municipality, agency.municipality, protected),
                    body.started_on,
                )  # fmt: skip
        return ParticipationView.of(participation)

    @router.post("/{participation_id}/exit")
    async def exit_participation(
        participation_id: UUID, body: Exit, request: Request, caller: Caller
    ) -> ParticipationView:
        """Record that the participant left, with the outcome at exit."""
        require_act(caller, body.agency)
        _hosted(request, body.agency)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            with refusals():
                participation = await participation_desk(request).exit(
                    conn, participation_id, body.agency, body.exited_on, body.outcome
                )
        return ParticipationView.of(participation)

    @router.post("/{participation_id}/follow-ups", status_code=201)
    async def follow_up(
        participation_id: UUID, body: FollowUp, request: Request, caller: Caller
    ) -> ParticipationView:
        """Record where a former participant is, some months after leaving."""
        require_act(caller, body.agency)
        _hosted(request, body.agency)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            with refusals():
                participation = await participation_desk(request).follow_up(
                    conn, participation_id, body.agency, body.months_after_exit, body.outcome
                )
        return ParticipationView.of(participation)

    @router.get("/{participation_id}")
    async def get_participation(
        participation_id: UUID,
        request: Request,
        caller: Caller,
        agency: Annotated[str, Query()],
        purpose: Purpose = None,
    ) -> ParticipationView:
        """One participation, as the agency that recorded it sees it."""
        authorise_read(request, caller, agency)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn:
            participation = await participation_desk(request).get(conn, participation_id)
        if participation is None or participation.agency != agency:
            raise HTTPException(404, {"error": "not_found", "detail": "no such participation"})
        await logged(
            request,
            caller,
            purpose,
            AccessedResource.SUBJECT_RECORD,
            [(participation.subject, participation_id)],
        )
        return ParticipationView.of(participation)

    return router
