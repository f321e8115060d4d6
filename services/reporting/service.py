"""Use cases of reporting: read the model for a range of months and build the reports."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.kit.database import Connection
from services.reporting import repository as repo
from services.reporting.domain import (
    LoopMonth,
    ParticipantMonth,
    loop_months,
    months_between,
    participant_months,
    shift_month,
)
from services.reporting.settings import ReportingSettings


def _first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


async def participant_report(
    conn: Connection, settings: ReportingSettings, first: str, last: str
) -> list[ParticipantMonth]:
    """The ESF participant report of each month from `first` to `last`."""
    people = await repo.participants(conn, _first_day(first), _first_day(shift_month(last, 1)))
    places = await repo.municipalities(conn)
    return participant_months(people, months_between(first, last), places, settings.suppress_below)


async def loop_report(
    conn: Connection,
    settings: ReportingSettings,
    first: str,
    last: str,
    as_of: datetime,
    stale_after_days: int,
) -> list[LoopMonth]:
    """Loop metrics of the handoffs requested in each month from `first` to `last`."""
    return loop_months(
        await repo.referrals(conn, as_of),
        months_between(first, last),
        as_of,
        timedelta(days=stale_after_days),
        ZoneInfo(settings.report_timezone),
        settings.suppress_below,
    )
