"""HTTP entry points of reporting: the reports as JSON, the ESF CSV and the charts. Only
aggregates with small cells suppressed leave this service; any authenticated caller may read
them."""

from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from contracts import utc_now
from services.kit.auth import Principal, current_principal
from services.kit.provided import provided_in
from services.reporting import export
from services.reporting.domain import LoopMonth, ParticipantMonth, months_between
from services.reporting.service import loop_report, participant_report
from services.reporting.settings import ReportingSettings

MAX_MONTHS = 36
Caller = Annotated[Principal, Depends(current_principal)]
# Years 1900-2099: the reports reach six months either side, which must stay a valid date.
MONTH = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
MonthParam = Annotated[str, Query(pattern=MONTH, description="A calendar month, YYYY-MM.")]
SVG = "image/svg+xml"


class ParticipantReport(BaseModel):
    """The ESF participant report, month by month (never summed over months)."""

    suppress_below: int
    months: list[ParticipantMonth]


class LoopReport(BaseModel):
    """The referral loop's metrics, month of request by month, as they stood at `as_of`."""

    suppress_below: int
    as_of: datetime
    stale_after_days: int
    months: list[LoopMonth]


class Range(BaseModel):
    """Months from `first` to `last`, both included."""

    first: str
    last: str


def _settings(request: Request) -> ReportingSettings:
    settings = provided_in(request.app, ReportingSettings)
    return settings


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = provided_in(request.app, asyncpg.Pool)
    return pool


def month_range(
    first: Annotated[str, Query(alias="from", pattern=MONTH)],
    last: Annotated[str, Query(alias="to", pattern=MONTH)],
) -> Range:
    """`from` and `to` months (YYYY-MM), at most 36 months apart."""
    if last < first or len(months_between(first, last)) > MAX_MONTHS:
        raise HTTPException(422, f"'to' must be 0 to {MAX_MONTHS - 1} months after 'from'")
    return Range(first=first, last=last)


Months = Annotated[Range, Depends(month_range)]
AsOf = Annotated[
    AwareDatetime | None,
    Query(
        description="The instant the loop is seen at (for reproducible reports); now if left out."
    ),
]
StaleAfter = Annotated[
    int | None, Query(ge=1, le=365, description="No update for this many days makes stale.")
]


def report_router() -> APIRouter:
    """Routes for the reports."""
    router = APIRouter(prefix="/reports", tags=["reports"])

    async def participants(request: Request, months: Range) -> list[ParticipantMonth]:
        async with _pool(request).acquire() as conn:
            return await participant_report(conn, _settings(request), months.first, months.last)

    async def loop(
        request: Request, months: Range, as_of: datetime | None, stale_after_days: int | None
    ) -> LoopReport:
        settings = _settings(request)
        moment = as_of or utc_now()
        stale = stale_after_days or settings.stale_after_days
        async with _pool(request).acquire() as conn:
            found = await loop_report(conn, settings, months.first, months.last, moment, stale)
        return LoopReport(
            suppress_below=settings.suppress_below,
            as_of=moment,
            stale_after_days=stale,
            months=found,
        )

    @router.get("/participants")
    async def participant_figures(
        request: Request, caller: Caller, months: Months
    ) -> ParticipantReport:
        """Participants started and exited per month by gender, age band and municipality;
        outcomes at exit and six months after."""
        return ParticipantReport(
            suppress_below=_settings(request).suppress_below,
            months=await participants(request, months),
        )

    @router.get("/loop")
    async def loop_figures(
        request: Request,
        caller: Caller,
        months: Months,
        as_of: AsOf = None,
        stale_after_days: StaleAfter = None,
    ) -> LoopReport:
        """Times to acknowledge, decide, first contact and close (median, 90th percentile),
        stale handoffs, rejection and failure reasons, handoffs per student, and the legal
        bases handoffs were shared on."""
        return await loop(request, months, as_of, stale_after_days)

    @router.get("/esf.csv", response_class=Response)
    async def esf_csv(request: Request, caller: Caller, months: Months) -> Response:
        """The monthly ESF participant report as CSV (semicolon-separated, ".." suppressed)."""
        body = export.esf_csv(await participants(request, months))
        name = f"esf-participants-{months.first}-{months.last}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/charts/participants.svg", response_class=Response)
    async def participants_chart(request: Request, caller: Caller, months: Months) -> Response:
        """Participants started per month, by gender."""
        threshold = _settings(request).suppress_below
        chart = export.participants_chart(await participants(request, months), threshold)
        return Response(chart, media_type=SVG)

    @router.get("/charts/outcomes.svg", response_class=Response)
    async def outcomes_chart(request: Request, caller: Caller, months: Months) -> Response:
        """Outcomes at exit, per month of exit."""
        threshold = _settings(request).suppress_below
        chart = export.outcomes_chart(await participants(request, months), threshold)
        return Response(chart, media_type=SVG)

    @router.get("/charts/loop.svg", response_class=Response)
    async def loop_chart(
        request: Request,
        caller: Caller,
        month: MonthParam,
        as_of: AsOf = None,
        stale_after_days: StaleAfter = None,
    ) -> Response:
        """Median and 90th percentile time to each step of the loop, for one month."""
        report = await loop(request, Range(first=month, last=month), as_of, stale_after_days)
        chart = export.loop_chart(report.months[0], report.suppress_below)
        return Response(chart, media_type=SVG)

    return router
