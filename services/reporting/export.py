"""The reports as a board reads them: the monthly ESF participant report as CSV, and charts.
Suppressed cells stay suppressed here: ".." in CSV, no bar in a chart. No I/O."""

import csv
import io

from contracts.codes import Gender, Outcome
from services.reporting.charts import Series, bar_chart
from services.reporting.domain import (
    ESF_OUTCOMES,
    Breakdown,
    Cell,
    LoopMonth,
    OutcomeTable,
    ParticipantMonth,
    Timing,
)

CSV_COLUMNS = ("month", "section", "exit_month", "breakdown", "category", "count")


def esf_csv(months: list[ParticipantMonth]) -> str:
    """One row per published count, semicolon-separated as Swedish spreadsheets expect.

    `exit_month` says whose outcomes an outcome row counts: those who exited in the report
    month (at exit) or six months before it (the follow-up).
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for month in months:
        for section, people in (("started", month.started), ("exited", month.exited)):
            writer.writerows(_breakdown_rows(month.month, section, people))
        for section, table in (
            ("outcome_at_exit", month.outcome_at_exit),
            ("outcome_after_6_months", month.outcome_after_6_months),
        ):
            writer.writerows(_outcome_rows(month.month, section, table))
    return out.getvalue()


def _breakdown_rows(month: str, section: str, people: Breakdown) -> list[list[str]]:
    rows = [[month, section, "", "total", "all", people.total.label]]
    for name, cells in (
        ("gender", people.gender),
        ("age_band", people.age_band),
        ("municipality", people.municipality),
    ):
        rows += [[month, section, "", name, category, c.label] for category, c in cells.items()]
    return rows


def _outcome_rows(month: str, section: str, table: OutcomeTable) -> list[list[str]]:
    rows = [[month, section, table.exit_month, "total", "all", table.total.label]]
    rows += [
        [month, section, table.exit_month, "outcome", category, c.label]
        for category, c in table.outcome.items()
    ]
    return rows


GENDER_NAMES = {
    Gender.WOMAN: "women",
    Gender.MAN: "men",
    Gender.OTHER_OR_UNKNOWN: "other or unknown",
}
OUTCOME_NAMES = {
    Outcome.RETURNED_TO_STUDIES: "studies",
    Outcome.IN_WORK: "work",
    Outcome.IN_OTHER_ACTIVITY: "other activity",
    Outcome.NONE: "none of these",
}


def _counts(cells: list[Cell]) -> tuple[float | None, ...]:
    return tuple(None if c.count is None else float(c.count) for c in cells)


def suppression_note(threshold: int) -> str:
    """What ".." means on a chart of people."""
    return (
        f".. = fewer than {threshold} people, or hidden so that such a count"
        " cannot be worked out from the total"
    )


def participants_chart(months: list[ParticipantMonth], threshold: int) -> str:
    """Participants started per month, by gender."""
    series = [
        Series(name, _counts([m.started.gender[gender.value] for m in months]))
        for gender, name in GENDER_NAMES.items()
    ]
    return bar_chart(
        "Participants started per month, by gender",
        [m.month for m in months],
        series,
        "people",
        suppression_note(threshold),
    )


def outcomes_chart(months: list[ParticipantMonth], threshold: int) -> str:
    """Outcomes at exit per month."""
    series = [
        Series(OUTCOME_NAMES[o], _counts([m.outcome_at_exit.outcome[o.value] for m in months]))
        for o in ESF_OUTCOMES
    ]
    return bar_chart(
        "Where participants went at exit, per month of exit",
        [m.month for m in months],
        series,
        "people",
        suppression_note(threshold),
    )


def loop_chart(month: LoopMonth, threshold: int) -> str:
    """Median and 90th percentile time to each milestone of the referrals of one month."""
    stages: list[tuple[str, Timing]] = [
        ("acknowledge", month.time_to_acknowledge),
        ("decide", month.time_to_decide),
        ("first contact", month.time_to_first_contact),
        ("close", month.time_to_close),
    ]
    longest = max((t.p90_seconds or 0.0 for _, t in stages), default=0.0)
    divisor, unit = _duration_unit(longest)

    def scaled(values: list[float | None]) -> tuple[float | None, ...]:
        return tuple(None if v is None else round(v / divisor, 2) for v in values)

    series = [
        Series("median", scaled([t.median_seconds for _, t in stages])),
        Series("90th percentile", scaled([t.p90_seconds for _, t in stages])),
    ]
    return bar_chart(
        f"Referral loop, handoffs requested in {month.month}: time from request",
        [name for name, _ in stages],
        series,
        unit,
        f".. = fewer than {threshold} handoffs reached this step",
    )


def _duration_unit(seconds: float) -> tuple[float, str]:
    if seconds < 120:
        return 1.0, "seconds"
    if seconds < 2 * 86_400:
        return 3_600.0, "hours"
    return 86_400.0, "days"
