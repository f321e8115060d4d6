"""ESF/SCB reporting from events only: participants started and exited per month, their
outcomes at exit and six months later, and the referral loop's metrics. No I/O.

Small cells are suppressed so that nobody can be identified:

- a count of 1 to `threshold - 1` people is hidden (shown as null with `suppressed`, ".." in
  CSV and charts); zero is shown, it identifies nobody;
- every table is published with its total, so when a table hides cells, the hidden cells
  together must be at least two and add up to at least `threshold`; otherwise the smallest
  shown non-zero cells are hidden too (complementary suppression), so that no hidden cell can
  be worked out by subtracting the shown ones from the total;
- a total under `threshold` is hidden with all its non-zero cells;
- tables are published per calendar month only, never summed over months, and no cell of one
  table is the total of another: sums across tables would let a reader subtract their way to
  a hidden cell.
"""

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from pydantic import BaseModel

from contracts import Event
from contracts.catalogue import type_of
from contracts.codes import (
    AgeBand,
    FailureReason,
    Gender,
    HandoffKind,
    Outcome,
    RejectionReason,
)
from contracts.events import (
    ConcernAcknowledged,
    FirstContactMade,
    ReferralAccepted,
    ReferralCancelled,
    ReferralCompleted,
    ReferralEnteredInError,
    ReferralExpired,
    ReferralFailed,
    ReferralReceived,
    ReferralRejected,
)

SUPPRESSED = ".."
ESF_OUTCOMES = (
    Outcome.RETURNED_TO_STUDIES,
    Outcome.IN_WORK,
    Outcome.IN_OTHER_ACTIVITY,
    Outcome.NONE,
)
NOT_RECORDED = "not_recorded"
BASIS_KINDS = ("consent", "legal_duty", "necessary_disclosure")
STATUSES = ("open_updated", "open_stale", "closed")
FOLLOW_UP_MONTHS = 6


class Cell(BaseModel):
    """A published count: the number, or null and `suppressed`."""

    count: int | None
    suppressed: bool = False

    @property
    def label(self) -> str:
        """How the cell is written in CSV and charts."""
        return SUPPRESSED if self.count is None else str(self.count)


class Table(BaseModel):
    """A one-way table of counts with its total."""

    total: Cell
    cells: dict[str, Cell]


def _cell(count: int, hidden: bool) -> Cell:
    return Cell(count=None, suppressed=True) if hidden else Cell(count=count)


def suppress_count(count: int, threshold: int) -> Cell:
    """A count published on its own: hidden when it is 1 to threshold - 1."""
    return _cell(count, 0 < count < threshold)


def suppress(counts: Mapping[str, int], threshold: int) -> Table:
    """A table of counts with small cells hidden, and complementary cells where the total
    would give a hidden cell away (see the module's rules)."""
    total = sum(counts.values())
    if total < threshold:
        hidden = {name for name, n in counts.items() if n > 0}
    else:
        hidden = {name for name, n in counts.items() if 0 < n < threshold}
        while hidden and (len(hidden) < 2 or sum(counts[n] for n in hidden) < threshold):
            shown = [name for name, n in counts.items() if n > 0 and name not in hidden]
            hidden.add(min(shown, key=lambda name: (counts[name], name)))
    return Table(
        total=suppress_count(total, threshold),
        cells={name: _cell(n, name in hidden) for name, n in counts.items()},
    )


def _values(codes: type[StrEnum]) -> list[str]:
    return [code.value for code in codes]


def count_by(values: Iterable[str], categories: Sequence[str]) -> dict[str, int]:
    """How many of `values` fall in each category, in the categories' order."""
    found = Counter(values)
    return {category: found[category] for category in categories}


def nearest_rank(values: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile: a value that was actually observed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# Months


def month_of(day: date) -> str:
    """'YYYY-MM' of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: str, months: int) -> str:
    """The month `months` later (earlier when negative)."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included."""
    found = [first]
    while found[-1] < last:
        found.append(shift_month(found[-1], 1))
    return found


# Participants


@dataclass(frozen=True)
class Participant:
    """A participant as the participation events describe them."""

    gender: Gender
    age_band: AgeBand
    municipality: str
    started_on: date
    exited_on: date | None = None
    exit_outcome: Outcome | None = None
    outcome_after_6_months: Outcome | None = None


class Breakdown(BaseModel):
    """People counted by gender, by age band and by municipality (three tables, one total)."""

    total: Cell
    gender: dict[str, Cell]
    age_band: dict[str, Cell]
    municipality: dict[str, Cell]


class OutcomeTable(BaseModel):
    """Where the people who exited in `exit_month` went."""

    exit_month: str
    total: Cell
    outcome: dict[str, Cell]


class ParticipantMonth(BaseModel):
    """One month of the ESF participant report."""

    month: str
    started: Breakdown
    exited: Breakdown
    outcome_at_exit: OutcomeTable
    outcome_after_6_months: OutcomeTable


def esf_outcome(outcome: Outcome) -> str:
    """The ESF outcome category (support without a placement counts as none)."""
    return Outcome.NONE.value if outcome is Outcome.SUPPORT_GIVEN else outcome.value


def _breakdown(
    people: list[Participant], municipalities: Sequence[str], threshold: int
) -> Breakdown:
    by_gender = suppress(count_by((p.gender for p in people), _values(Gender)), threshold)
    by_age = suppress(count_by((p.age_band for p in people), _values(AgeBand)), threshold)
    by_place = suppress(count_by((p.municipality for p in people), municipalities), threshold)
    return Breakdown(
        total=by_gender.total,
        gender=by_gender.cells,
        age_band=by_age.cells,
        municipality=by_place.cells,
    )


def _outcomes(
    exit_month: str, outcomes: list[str], categories: Sequence[str], threshold: int
) -> OutcomeTable:
    table = suppress(count_by(outcomes, categories), threshold)
    return OutcomeTable(exit_month=exit_month, total=table.total, outcome=table.cells)


def participant_months(
    participants: Sequence[Participant],
    months: Sequence[str],
    municipalities: Sequence[str],
    threshold: int,
) -> list[ParticipantMonth]:
    """The monthly participant report for each of `months`."""
    esf = [o.value for o in ESF_OUTCOMES]
    report = []
    for month in months:
        started = [p for p in participants if month_of(p.started_on) == month]
        exited = [p for p in participants if p.exited_on and month_of(p.exited_on) == month]
        cohort_month = shift_month(month, -FOLLOW_UP_MONTHS)
        cohort = [p for p in participants if p.exited_on and month_of(p.exited_on) == cohort_month]
        at_exit = [esf_outcome(p.exit_outcome or Outcome.NONE) for p in exited]
        later = [
            esf_outcome(p.outcome_after_6_months) if p.outcome_after_6_months else NOT_RECORDED
            for p in cohort
        ]
        report.append(
            ParticipantMonth(
                month=month,
                started=_breakdown(started, municipalities, threshold),
                exited=_breakdown(exited, municipalities, threshold),
                outcome_at_exit=_outcomes(month, at_exit, esf, threshold),
                outcome_after_6_months=_outcomes(
                    cohort_month, later, [*esf, NOT_RECORDED], threshold
                ),
            )
        )
    return report


# The referral loop


@dataclass(frozen=True)
class LoopEvent:
    """A handoff event after the one that opened the handoff."""

    event_type: str
    occurred_at: datetime
    code: str | None = None


@dataclass(frozen=True)
class Referral:
    """A handoff (referral, dropout report or report of concern) and its events."""

    kind: HandoffKind
    subject: str
    basis_kind: str
    requested_at: datetime
    events: tuple[LoopEvent, ...] = ()


DECISIONS = frozenset(
    type_of(model) for model in (ReferralAccepted, ReferralRejected, ConcernAcknowledged)
)
# Entered in error is not a closing: such a handoff is left out of the timings altogether.
CLOSINGS = frozenset(
    type_of(model)
    for model in (
        ReferralRejected,
        ReferralCompleted,
        ReferralFailed,
        ReferralCancelled,
        ReferralExpired,
    )
)


@dataclass(frozen=True)
class Progress:
    """How far a handoff had come at some instant."""

    acknowledged_at: datetime | None
    decided_at: datetime | None
    first_contact_at: datetime | None
    closed_at: datetime | None
    last_update_at: datetime
    rejection: str | None
    failure: str | None
    entered_in_error: bool


def progress(referral: Referral, as_of: datetime) -> Progress:
    """What had happened to `referral` by `as_of` (the first of each milestone counts)."""
    seen = sorted(
        (e for e in referral.events if e.occurred_at <= as_of), key=lambda e: e.occurred_at
    )

    def first(types: Iterable[str]) -> LoopEvent | None:
        wanted = frozenset(types)
        return next((e for e in seen if e.event_type in wanted), None)

    closing = first(CLOSINGS)
    return Progress(
        acknowledged_at=_at(first({type_of(ReferralReceived)})),
        decided_at=_at(first(DECISIONS)),
        first_contact_at=_at(first({type_of(FirstContactMade)})),
        closed_at=_at(closing),
        last_update_at=max([referral.requested_at, *(e.occurred_at for e in seen)]),
        rejection=closing.code if closing and is_of_type(closing, ReferralRejected) else None,
        failure=closing.code if closing and is_of_type(closing, ReferralFailed) else None,
        entered_in_error=first({type_of(ReferralEnteredInError)}) is not None,
    )


def is_of_type(event: LoopEvent, model: type[Event]) -> bool:
    """Whether a recorded loop event is of the type of `model`."""
    return event.event_type == type_of(model)


def _at(event: LoopEvent | None) -> datetime | None:
    return event.occurred_at if event else None


class Timing(BaseModel):
    """Seconds from the request to a milestone, over the handoffs that reached it."""

    n: Cell
    median_seconds: float | None
    p90_seconds: float | None


class HandoffsPerStudent(BaseModel):
    """How many handoffs each student referred in the month has had in all."""

    students: Cell
    median: float | None
    p90: float | None
    mean: float | None


class LoopMonth(BaseModel):
    """The loop metrics of the handoffs requested in one month, as they stood at `as_of`."""

    month: str
    kind: Table
    legal_basis: Table
    status: Table
    time_to_acknowledge: Timing
    time_to_decide: Timing
    time_to_first_contact: Timing
    time_to_close: Timing
    rejection_reasons: Table
    failure_reasons: Table
    handoffs_per_student: HandoffsPerStudent


def _timing(
    pairs: list[tuple[datetime, datetime | None]], threshold: int, n: Cell | None = None
) -> Timing:
    seconds = [(done - start).total_seconds() for start, done in pairs if done is not None]
    shown = len(seconds) >= threshold
    return Timing(
        n=suppress_count(len(seconds), threshold) if n is None else n,
        median_seconds=statistics.median(seconds) if shown else None,
        p90_seconds=nearest_rank(seconds, 90) if shown else None,
    )


def _per_student(subjects: set[str], counts: Counter[str], threshold: int) -> HandoffsPerStudent:
    values = [counts[s] for s in subjects]
    shown = len(values) >= threshold
    return HandoffsPerStudent(
        students=suppress_count(len(values), threshold),
        median=float(statistics.median(values)) if shown else None,
        p90=float(nearest_rank(values, 90)) if shown else None,
        mean=round(sum(values) / len(values), 2) if shown else None,
    )


def loop_months(
    referrals: Sequence[Referral],
    months: Sequence[str],
    as_of: datetime,
    stale_after: timedelta,
    zone: tzinfo,
    threshold: int,
) -> list[LoopMonth]:
    """Loop metrics per month of request, as things stood at `as_of`. Handoffs entered in
    error are left out: they should never have been sent."""
    live = [
        (r, p)
        for r in referrals
        if r.requested_at <= as_of and not (p := progress(r, as_of)).entered_in_error
    ]
    handoffs_of = Counter(r.subject for r, _ in live)
    report = []
    for month in months:
        chosen = [
            (r, p) for r, p in live if month_of(r.requested_at.astimezone(zone).date()) == month
        ]
        report.append(_loop_month(month, chosen, handoffs_of, as_of, stale_after, threshold))
    return report


def _loop_month(
    month: str,
    chosen: list[tuple[Referral, Progress]],
    handoffs_of: Counter[str],
    as_of: datetime,
    stale_after: timedelta,
    threshold: int,
) -> LoopMonth:
    def table(values: Iterable[str], categories: Sequence[str]) -> Table:
        return suppress(count_by(values, categories), threshold)

    def timing(reached: Callable[[Progress], datetime | None], n: Cell | None = None) -> Timing:
        return _timing([(r.requested_at, reached(p)) for r, p in chosen], threshold, n)

    status = table((_status(p, as_of, stale_after) for _, p in chosen), STATUSES)
    return LoopMonth(
        month=month,
        kind=table((r.kind.value for r, _ in chosen), _values(HandoffKind)),
        legal_basis=table((r.basis_kind for r, _ in chosen), BASIS_KINDS),
        status=status,
        time_to_acknowledge=timing(lambda p: p.acknowledged_at),
        time_to_decide=timing(lambda p: p.decided_at),
        time_to_first_contact=timing(lambda p: p.first_contact_at),
        # The same count as the status table's closed cell, hidden the same way.
        time_to_close=timing(lambda p: p.closed_at, status.cells["closed"]),
        rejection_reasons=table(
            (p.rejection for _, p in chosen if p.rejection), _values(RejectionReason)
        ),
        failure_reasons=table((p.failure for _, p in chosen if p.failure), _values(FailureReason)),
        handoffs_per_student=_per_student({r.subject for r, _ in chosen}, handoffs_of, threshold),
    )


def _status(progress: Progress, as_of: datetime, stale_after: timedelta) -> str:
    if progress.closed_at is not None:
        return "closed"
    return "open_stale" if progress.last_update_at <= as_of - stale_after else "open_updated"
