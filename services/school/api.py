"""HTTP entry points of the school's own duty reports (KAA dropout, report of concern)."""

from datetime import date, timedelta
from typing import Literal

import asyncpg
from fastapi import APIRouter, Request
from pydantic import Field

from contracts.codes import ConcernCode, DropoutReason
from contracts.envelope import AgencyId
from contracts.events import ConcernReported, DropoutReported
from services.features.handoffs.schemas import HandoffView
from services.features.handoffs.service import HandoffDesk
from services.features.subjects.api import subject_of
from services.features.subjects.schemas import SubjectInput
from services.kit.auth import require_act
from services.kit.dependencies import Caller
from services.kit.identity import Pseudonymizer
from services.kit.provided import provided_in
from services.school.domain import (
    CONCERN_BASIS,
    KAA_BASIS,
    kaa_unit_for,
    social_services_for,
)


class DropoutReport(SubjectInput):
    """A student under 20 left or never started upper-secondary school."""

    school: AgencyId
    home_municipality: str = Field(
        pattern=r"^\d{4}$", description="Where the student is registered."
    )
    reason: DropoutReason
    left_on: date
    under_20: Literal[True] = Field(description="KAA covers young people under 20 only.")
    respond_within_days: int = Field(default=7, ge=0, le=90)


class ConcernReport(SubjectInput):
    """A report of concern (orosanmälan) about a child."""

    school: AgencyId
    municipality: str = Field(pattern=r"^\d{4}$", description="Municipality of social services.")
    concern: ConcernCode
    subject_is_child: Literal[True] = Field(
        description="The duty to report applies to children under 18; otherwise refer with consent."
    )
    respond_within_days: int = Field(default=2, ge=0, le=30)


def school_router() -> APIRouter:
    """Routes for reports only a school makes."""
    router = APIRouter(tags=["school"])

    @router.post("/dropout-reports", status_code=201)
    async def report_dropout(body: DropoutReport, request: Request, caller: Caller) -> HandoffView:
        """Tell the student's home municipality (KAA) that the student left school."""
        require_act(caller, body.school)
        desk = provided_in(request.app, HandoffDesk)
        kaa = kaa_unit_for(desk.registry, body.home_municipality)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            subject, protected = await subject_of(
                conn, provided_in(request.app, Pseudonymizer), body, body.school
            )
            handoff = await desk.open(
                conn, DropoutReported, sender=body.school, receiver=kaa.id,
                subject=subject, legal_basis=KAA_BASIS,
                respond_within=timedelta(days=body.respond_within_days),
                reason=body.reason, left_on=body.left_on, under_20=True,
                protected_identity=protected,
            )  # fmt: skip
        return HandoffView.of(handoff, body.school)

    @router.post("/concern-reports", status_code=201)
    async def report_concern(body: ConcernReport, request: Request, caller: Caller) -> HandoffView:
        """Report concern about a child to social services; needs no consent."""
        require_act(caller, body.school)
        desk = provided_in(request.app, HandoffDesk)
        social = social_services_for(desk.registry, body.municipality)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            subject, protected = await subject_of(
                conn, provided_in(request.app, Pseudonymizer), body, body.school
            )
            handoff = await desk.open(
                conn, ConcernReported, sender=body.school, receiver=social.id,
                subject=subject, legal_basis=CONCERN_BASIS,
                respond_within=timedelta(days=body.respond_within_days),
                concern=body.concern, subject_is_child=True,
                protected_identity=protected,
            )  # fmt: skip
        return HandoffView.of(handoff, body.school)

    return router
