"""HTTP entry points of reporting: the reports as JSON, the ESF CSV and the charts. Only
aggregates with small cells suppressed leave this service; any authenticated caller may read
them."""

from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from contracts import utc_now
from services.kit.dependencies import Caller, Pool
from services.kit.provided import provided
from services.reporting import export
from services.reporting.domain import LoopMonth, ParticipantMonth, months_between
from services.reporting.service import loop_report, participant_report
from services.reporting.settings import ReportingSettings

MAX_MONTHS = 36
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


def month_range(
    first: Annotated[str, Query(alias="from", pattern=MONTH)],
    last: Annotated[str, Query(alias="to", pattern=MONTH)],
) -> Range:
    """`from` and `to` months (YYYY-MM), at most 36 months apart."""
    if last < first or len(months_between(first, last)) > MAX_MONTHS:
        raise HTTPException(422, f"'to' must be 0 to {MAX_MONTHS - 1} months after 'from'")
    return Range(first=first, last=last)


Months = Annotated[Range, Depends(month_range)]
Settings = Annotated[ReportingSettings, Depends(provided(ReportingSettings))]
AsOf = Annotated[
    AwareDatetime | None,
    Query(
        description="The instant the loop is seen at (for reproducible reports); now if left out."
    ),
]
StaleAfter = Annotated[
    int | None, Query(ge=1, le=365, description="No update for this many days makes stale.")
]


async def _participants(
    pool: asyncpg.Pool, settings: ReportingSettings, months: Range
) -> list[ParticipantMonth]:
    async with pool.acquire() as conn:
        return await participant_report(conn, settings, months.first, months.last)


async def _loop(
    pool: asyncpg.Pool,
    settings: ReportingSettings,
    months: Range,
    as_of: datetime | None,
    stale_after_days: int | None,
) -> LoopReport:
    moment = as_of or utc_now()
    stale = stale_after_days or settings.stale_after_days
    async with pool.acquire() as conn:
        found = await loop_report(conn, settings, months.first, months.last, moment, stale)
    return LoopReport(
        suppress_below=settings.suppress_below, as_of=moment, stale_after_days=stale, months=found
    )


async def participant_figures(
    caller: Caller, months: Months, pool: Pool, settings: Settings
) -> ParticipantReport:
    """Participants started and exited per month by gender, age band and municipality;
    outcomes at exit and six months after."""
    return ParticipantReport(
        suppress_below=settings.suppress_below,
        months=await _participants(pool, settings, months),
    )


async def loop_figures(
    caller: Caller,
    months: Months,
    pool: Pool,
    settings: Settings,
    as_of: AsOf = None,
    stale_after_days: StaleAfter = None,
) -> LoopReport:
    """Times to acknowledge, decide, first contact and close (median, 90th percentile),
    stale handoffs, rejection and failure reasons, handoffs per student, and the legal
    bases handoffs were shared on."""
    return await _loop(pool, settings, months, as_of, stale_after_days)


async def esf_csv(caller: Caller, months: Months, pool: Pool, settings: Settings) -> Response:
    """The monthly ESF participant report as CSV (semicolon-separated, ".." suppressed)."""
    body = export.esf_csv(await _participants(pool, settings, months))
    name = f"esf-participants-{months.first}-{months.last}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def participants_chart(
    caller: Caller, months: Months, pool: Pool, settings: Settings
) -> Response:
    """Participants started per month, by gender."""
    found = await _participants(pool, settings, months)
    return Response(export.participants_chart(found, settings.suppress_below), media_type=SVG)


async def outcomes_chart(
    caller: Caller, months: Months, pool: Pool, settings: Settings
) -> Response:
    """Outcomes at exit, per month of exit."""
    found = await _participants(pool, settings, months)
    return Response(export.outcomes_chart(found, settings.suppress_below), media_type=SVG)


async def loop_chart(
    caller: Caller,
    month: MonthParam,
    pool: Pool,
    settings: Settings,
    as_of: AsOf = None,
    stale_after_days: StaleAfter = None,
) -> Response:
    """Median and 90th percentile time to each step of the loop, for one month."""
    report = await _loop(pool, settings, Range(first=month, last=month), as_of, stale_after_days)
    chart = export.loop_chart(report.months[0], report.suppress_below)
    return Response(chart, media_type=SVG)


def report_router() -> APIRouter:
    """Routes for the reports."""
    router = APIRouter(prefix="/reports", tags=["reports"])
    router.get("/participants")(participant_figures)
    router.get("/loop")(loop_figures)
    router.get("/esf.csv", response_class=Response)(esf_csv)
    router.get("/charts/participants.svg", response_class=Response)(participants_chart)
    router.get("/charts/outcomes.svg", response_class=Response)(outcomes_chart)
    router.get("/charts/loop.svg", response_class=Response)(loop_chart)
    return router
