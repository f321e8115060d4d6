"""HTTP entry points of the school's own duty reports (KAA dropout, report of concern)."""

from datetime import date, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from contracts.codes import ConcernCode, DropoutReason
from contracts.envelope import AgencyId
from contracts.events import ConcernReported, DropoutReported
from services.features.handoffs.api import Desk
from services.features.handoffs.schemas import HandoffView
from services.features.subjects.api import Pseudonyms, subject_of
from services.features.subjects.schemas import SubjectInput
from services.kit.commands import Commands
from services.kit.dependencies import Caller
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


async def report_dropout(
    body: DropoutReport, caller: Caller, commands: Commands, desk: Desk, pseudonyms: Pseudonyms
) -> HandoffView:
    """Tell the student's home municipality (KAA) that the student left school."""
    async with commands.acting_for(caller, body.school) as conn:
        kaa = kaa_unit_for(desk.registry, body.home_municipality)
        subject, protected = await subject_of(conn, pseudonyms, body, body.school)
        handoff = await desk.open(
            conn, DropoutReported, sender=body.school, receiver=kaa.id,
            subject=subject, legal_basis=KAA_BASIS,
            respond_within=timedelta(days=body.respond_within_days),
            reason=body.reason, left_on=body.left_on, under_20=True,
            protected_identity=protected,
        )  # fmt: skip
    return HandoffView.of(handoff, body.school)


async def report_concern(
    body: ConcernReport, caller: Caller, commands: Commands, desk: Desk, pseudonyms: Pseudonyms
) -> HandoffView:
    """Report concern about a child to social services; needs no consent."""
    async with commands.acting_for(caller, body.school) as conn:
        social = social_services_for(desk.registry, body.municipality)
        subject, protected = await subject_of(conn, pseudonyms, body, body.school)
        handoff = await desk.open(
            conn, ConcernReported, sender=body.school, receiver=social.id,
            subject=subject, legal_basis=CONCERN_BASIS,
            respond_within=timedelta(days=body.respond_within_days),
            concern=body.concern, subject_is_child=True,
            protected_identity=protected,
        )  # fmt: skip
    return HandoffView.of(handoff, body.school)


def school_router() -> APIRouter:
    """Routes for reports only a school makes."""
    router = APIRouter(tags=["school"])
    router.post("/dropout-reports", status_code=201)(report_dropout)
    router.post("/concern-reports", status_code=201)(report_concern)
    return router
