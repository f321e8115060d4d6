"""HTTP entry points of early warning: thin, they authorise, validate and call the desk.

Reads of a student's indicators or signals are reads of a person's record, so each is logged
(loggkontroll) like every other read.
"""

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from contracts.codes import (
    AccessedResource,
    AgencyKind,
    DataCategory,
    ReferralReason,
    RiskIndicator,
    RiskLevel,
)
from contracts.envelope import AgencyId, LegalBasis, StaffId
from services.features.handoffs.api import Desk
from services.features.handoffs.schemas import HandoffView
from services.kit.access_log import Purpose, Reads
from services.kit.agencies import AgencyRegistry
from services.kit.commands import Commands
from services.kit.dependencies import Caller, Pool, Registry
from services.kit.provided import provided
from services.kit.schemas import Body
from services.school.early_warning import repository as repo
from services.school.early_warning.domain import (
    RECORD_OF,
    EarlyWarningRefused,
    IntakeKind,
    Thresholds,
)
from services.school.early_warning.intake import read_csv, validate_records
from services.school.early_warning.service import EarlyWarningDesk, ImportReport, SignalTally

EarlyDesk = Annotated[EarlyWarningDesk, Depends(provided(EarlyWarningDesk))]
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class RecordBatch(Body):
    """Records as JSON, with the same fields as the CSV columns of their kind."""

    records: list[dict[str, Any]] = Field(max_length=50_000)


class ThresholdsSet(BaseModel):
    """The thresholds now in force, and what reassessing every student changed."""

    thresholds: Thresholds
    signals: SignalTally


class IndicatorView(BaseModel):
    """One indicator of a student: its level (null: below warning) and what it measured."""

    indicator: RiskIndicator
    level: RiskLevel | None
    measures: dict[str, Any]


class SignalView(BaseModel):
    """A risk signal, open or cleared."""

    signal_id: UUID
    student_id: str
    subject: str
    case_manager: str | None
    indicator: RiskIndicator
    level: RiskLevel
    measures: dict[str, Any]
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    referral_id: UUID | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> "SignalView":
        """View of a signal row."""
        return cls.model_validate({**dict(row), "measures": json.loads(row["measures"])})


class StudentView(BaseModel):
    """A student's indicators now, case manager and open signals."""

    student_id: str
    subject: str
    case_manager: str | None
    case_manager_assigned_at: datetime | None
    indicators: list[IndicatorView]
    open_signals: list[SignalView]


class CaseManager(Body):
    """The student's case manager (samordnare) at the school."""

    case_manager: StaffId


class SignalReferral(Body):
    """A referral about the student of a signal. Reason and data categories default to what
    the indicator is about; the legal basis must cover them."""

    receiver: AgencyId
    legal_basis: LegalBasis
    reason: ReferralReason | None = None
    data_categories: Annotated[list[DataCategory], Field(min_length=1)] | None = None
    respond_within_days: int = Field(default=14, ge=0, le=90)
    protected_identity: bool = False


def _school(registry: AgencyRegistry, school: str) -> None:
    """404 unless `school` is a registered school (whether it is hosted is checked first)."""
    agency = registry.get(school)
    if agency is None or agency.kind is not AgencyKind.SCHOOL:
        raise EarlyWarningRefused("not_found", f"{school} is not a school")


async def import_csv(
    school: str,
    kind: IntakeKind,
    request: Request,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    pool: Pool,
    desk: EarlyDesk,
) -> ImportReport:
    """Import a CSV export (text/csv, UTF-8, comma or semicolon, header first), streamed.

    Good rows are kept; each bad row is reported by line with the reason.
    """
    commands.authorise(caller, school)
    _school(registry, school)
    rows = read_csv(request.stream(), RECORD_OF[kind], desk.today())
    return await desk.import_rows(pool, school, kind, rows)


async def import_records(
    school: str,
    kind: IntakeKind,
    body: RecordBatch,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    pool: Pool,
    desk: EarlyDesk,
) -> ImportReport:
    """Records as JSON, as an admin system pushes them; bad ones reported by position."""
    commands.authorise(caller, school)
    _school(registry, school)
    rows = validate_records(body.records, RECORD_OF[kind], desk.today())
    return await desk.import_rows(pool, school, kind, rows)


async def get_thresholds(
    school: str, caller: Caller, reads: Reads, registry: Registry, pool: Pool, desk: EarlyDesk
) -> Thresholds:
    """The thresholds in force at the school."""
    reads.authorise(caller, school)
    _school(registry, school)
    async with pool.acquire() as conn:
        return await desk.thresholds(conn, school)


async def set_thresholds(
    school: str,
    body: Thresholds,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    pool: Pool,
    desk: EarlyDesk,
) -> ThresholdsSet:
    """Set the school's thresholds; every student is reassessed against them."""
    commands.authorise(caller, school)
    _school(registry, school)
    tally = await desk.set_thresholds(pool, school, body)
    return ThresholdsSet(thresholds=body, signals=tally)


async def list_signals(
    school: str,
    caller: Caller,
    reads: Reads,
    registry: Registry,
    pool: Pool,
    status: Literal["open", "cleared", "all"] = "open",
    indicator: RiskIndicator | None = None,
    level: RiskLevel | None = None,
    case_manager: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    purpose: Purpose = None,
) -> list[SignalView]:
    """The school's risk signals, newest first."""
    reads.authorise(caller, school)
    _school(registry, school)
    async with pool.acquire() as conn:
        rows = await repo.signals(conn, school, status, indicator, level, case_manager,
                                  limit=limit)  # fmt: skip
    records = [(r["subject"], r["signal_id"]) for r in rows]
    await reads.log(caller, purpose, AccessedResource.SUBJECT_RECORD, records)
    return [SignalView.of(r) for r in rows]


async def get_student(
    school: str,
    student_id: str,
    caller: Caller,
    reads: Reads,
    registry: Registry,
    pool: Pool,
    desk: EarlyDesk,
    purpose: Purpose = None,
) -> StudentView:
    """A student's indicators now, case manager and open signals."""
    reads.authorise(caller, school)
    _school(registry, school)
    async with pool.acquire() as conn:
        student = await repo.student(conn, school, student_id)
        if student is None:
            raise EarlyWarningRefused("not_found", "no such student")
        readings = await desk.readings(conn, school, student_id)
        rows = await repo.signals(conn, school, "open", student_id=student_id)
    records = [(student["subject"], None)]
    await reads.log(caller, purpose, AccessedResource.SUBJECT_RECORD, records)
    return StudentView(
        **dict(student),
        indicators=[IndicatorView(**vars(r)) for r in readings],
        open_signals=[SignalView.of(r) for r in rows],
    )


async def assign_case_manager(
    school: str,
    student_id: str,
    body: CaseManager,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    pool: Pool,
    desk: EarlyDesk,
) -> CaseManager:
    """Make a staff member the student's case manager (samordnare)."""
    commands.authorise(caller, school)
    _school(registry, school)
    async with pool.acquire() as conn:
        await desk.assign_case_manager(conn, school, student_id, body.case_manager)
    return body


async def refer_from_signal(
    school: str,
    signal_id: UUID,
    body: SignalReferral,
    caller: Caller,
    commands: Commands,
    registry: Registry,
    desk: EarlyDesk,
    handoffs: Desk,
) -> HandoffView:
    """Refer the student of an open signal to another agency, on the basis given."""
    async with commands.acting_for(caller, school) as conn:
        _school(registry, school)
        handoff = await desk.refer(
            conn, handoffs, school, signal_id, body.receiver, body.legal_basis,
            timedelta(days=body.respond_within_days), body.reason,
            tuple(body.data_categories) if body.data_categories else None,
            body.protected_identity,
        )  # fmt: skip
    return HandoffView.of(handoff, school)


def early_warning_router() -> APIRouter:
    """Routes for intake, thresholds, signals, case managers and referrals from signals."""
    router = APIRouter(prefix="/early-warning/schools/{school}", tags=["early warning"])
    router.post("/imports/{kind}", openapi_extra=CSV_BODY)(import_csv)
    router.post("/records/{kind}")(import_records)
    router.get("/thresholds")(get_thresholds)
    router.put("/thresholds")(set_thresholds)
    router.get("/signals")(list_signals)
    router.get("/students/{student_id}")(get_student)
    router.put("/students/{student_id}/case-manager")(assign_case_manager)
    router.post("/signals/{signal_id}/referral", status_code=201)(refer_from_signal)
    return router
