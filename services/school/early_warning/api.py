"""HTTP entry points of early warning: thin, they authorise, validate and call the desk.

Reads of a student's indicators or signals are reads of a person's record, so each is logged
(loggkontroll) like every other read.
"""

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
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
from services.features.handoffs.schemas import HandoffView
from services.features.handoffs.service import HandoffDesk
from services.kit.access_log import Purpose, authorise_read, logged
from services.kit.agencies import AgencyRegistry
from services.kit.auth import Principal, require_act
from services.kit.dependencies import Caller
from services.kit.provided import provided_in
from services.kit.schemas import Body
from services.school.early_warning import repository as repo
from services.school.early_warning.domain import (
    RECORD_OF,
    EarlyWarningRefused,
    IntakeKind,
    Thresholds,
)
from services.school.early_warning.intake import HeaderRefused, read_csv, validate_records
from services.school.early_warning.service import EarlyWarningDesk, ImportReport, SignalTally

STATUS_OF_REFUSAL = {"not_found": 404, "signal_cleared": 409}
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


def early_desk(request: Request) -> EarlyWarningDesk:
    """The service's early-warning desk."""
    desk: EarlyWarningDesk = provided_in(request.app, EarlyWarningDesk)
    return desk


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Answer a refused request with its status and reason."""
    try:
        yield
    except EarlyWarningRefused as exc:
        status = STATUS_OF_REFUSAL.get(exc.code, 400)
        raise HTTPException(status, {"error": exc.code, "detail": exc.detail}) from exc
    except HeaderRefused as exc:
        raise HTTPException(422, {"error": "bad_header", "detail": str(exc)}) from exc


def _school(request: Request, school: str) -> None:
    registry: AgencyRegistry = provided_in(request.app, AgencyRegistry)
    agency = registry.get(school)
    if agency is None or agency.kind is not AgencyKind.SCHOOL:
        raise HTTPException(404, {"error": "not_found", "detail": f"{school} is not a school"})
    if school not in provided_in(request.app, HandoffDesk).hosted:
        raise HTTPException(403, {"error": "not_hosted", "detail": f"{school} is not served here"})


def _acting(request: Request, caller: Principal, school: str) -> None:
    require_act(caller, school)
    _school(request, school)


def _reading(request: Request, caller: Principal, school: str) -> None:
    authorise_read(request, caller, school)
    _school(request, school)


def early_warning_router() -> APIRouter:
    """Routes for intake, thresholds, signals, case managers and referrals from signals."""
    router = APIRouter(prefix="/early-warning/schools/{school}", tags=["early warning"])

    @router.post("/imports/{kind}", openapi_extra=CSV_BODY)
    async def import_csv(
        school: str, kind: IntakeKind, request: Request, caller: Caller
    ) -> ImportReport:
        """Import a CSV export (text/csv, UTF-8, comma or semicolon, header first), streamed.

        Good rows are kept; each bad row is reported by line with the reason.
        """
        _acting(request, caller, school)
        desk = early_desk(request)
        rows = read_csv(request.stream(), RECORD_OF[kind], desk.today())
        with refusals():
            return await desk.import_rows(
                provided_in(request.app, asyncpg.Pool), school, kind, rows
            )

    @router.post("/records/{kind}")
    async def import_records(
        school: str, kind: IntakeKind, body: RecordBatch, request: Request, caller: Caller
    ) -> ImportReport:
        """Records as JSON, as an admin system pushes them; bad ones reported by position."""
        _acting(request, caller, school)
        desk = early_desk(request)
        rows = validate_records(body.records, RECORD_OF[kind], desk.today())
        return await desk.import_rows(provided_in(request.app, asyncpg.Pool), school, kind, rows)

    @router.get("/thresholds")
    async def get_thresholds(school: str, request: Request, caller: Caller) -> Thresholds:
        """The thresholds in force at the school."""
        _reading(request, caller, school)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn:
            return await early_desk(request).thresholds(conn, school)

    @router.put("/thresholds")
    async def set_thresholds(
        school: str, body: Thresholds, request: Request, caller: Caller
    ) -> ThresholdsSet:
        """Set the school's thresholds; every student is reassessed against them."""
        _acting(request, caller, school)
        tally = await early_desk(request).set_thresholds(
            provided_in(request.app, asyncpg.Pool), school, body
        )
        return ThresholdsSet(thresholds=body, signals=tally)

    @router.get("/signals")
    async def list_signals(
        school: str,
        request: Request,
        caller: Caller,
        status: Literal["open", "cleared", "all"] = "open",
        indicator: RiskIndicator | None = None,
        level: RiskLevel | None = None,
        case_manager: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        purpose: Purpose = None,
    ) -> list[SignalView]:
        """The school's risk signals, newest first."""
        _reading(request, caller, school)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn:
            rows = await repo.signals(conn, school, status, indicator, level, case_manager,
                                      limit=limit)  # fmt: skip
        records = [(r["subject"], r["signal_id"]) for r in rows]
        await logged(request, caller, purpose, AccessedResource.SUBJECT_RECORD, records)
        return [SignalView.of(r) for r in rows]

    @router.get("/students/{student_id}")
    async def get_student(
        school: str, student_id: str, request: Request, caller: Caller, purpose: Purpose = None
    ) -> StudentView:
        """A student's indicators now, case manager and open signals."""
        _reading(request, caller, school)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn:
            student = await repo.student(conn, school, student_id)
            if student is None:
                raise HTTPException(404, {"error": "not_found", "detail": "no such student"})
            with refusals():
                readings = await early_desk(request).readings(conn, school, student_id)
            rows = await repo.signals(conn, school, "open", student_id=student_id)
        await logged(
            request, caller, purpose, AccessedResource.SUBJECT_RECORD, [(student["subject"], None)]
        )
        return StudentView(
            **dict(student),
            indicators=[IndicatorView(**vars(r)) for r in readings],
            open_signals=[SignalView.of(r) for r in rows],
        )

    @router.put("/students/{student_id}/case-manager")
    async def assign_case_manager(
        school: str, student_id: str, body: CaseManager, request: Request, caller: Caller
    ) -> CaseManager:
        """Make a staff member the student's case manager (samordnare)."""
        _acting(request, caller, school)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn:
            with refusals():
                await early_desk(request).assign_case_manager(
                    conn, school, student_id, body.case_manager
                )
        return body

    @router.post("/signals/{signal_id}/referral", status_code=201)
    async def refer_from_signal(
        school: str, signal_id: UUID, body: SignalReferral, request: Request, caller: Caller
    ) -> HandoffView:
        """Refer the student of an open signal to another agency, on the basis given."""
        _acting(request, caller, school)
        async with provided_in(request.app, asyncpg.Pool).acquire() as conn, conn.transaction():
            with refusals():
                handoff = await early_desk(request).refer(
                    conn, provided_in(request.app, HandoffDesk), school, signal_id,
                    body.receiver, body.legal_basis,
                    timedelta(days=body.respond_within_days), body.reason,
                    tuple(body.data_categories) if body.data_categories else None,
                    body.protected_identity,
                )  # fmt: skip
        return HandoffView.of(handoff, school)

    return router
