"""Small-cell suppression, the monthly participant figures and the loop metrics, without I/O."""

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.codes import AgeBand, Gender, HandoffKind, Outcome
from services.reporting.domain import (
    LoopEvent,
    Participant,
    Referral,
    loop_months,
    months_between,
    nearest_rank,
    participant_months,
    shift_month,
    suppress,
)

pytestmark = [pytest.mark.unit, pytest.mark.reporting]

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def shown(table):
    return {name: cell.count for name, cell in table.cells.items()}


def test_a_table_without_small_cells_is_shown_whole():
    table = suppress({"woman": 12, "man": 10, "other_or_unknown": 0}, 5)
    assert shown(table) == {"woman": 12, "man": 10, "other_or_unknown": 0}
    assert table.total.count == 22


def test_one_small_cell_takes_the_smallest_other_cell_with_it():
    table = suppress({"woman": 12, "man": 10, "other_or_unknown": 2}, 5)
    assert shown(table) == {"woman": 12, "man": None, "other_or_unknown": None}
    assert [n for n, c in table.cells.items() if c.suppressed] == ["man", "other_or_unknown"]
    assert table.total.count == 24, "the total stays: 24 - 12 leaves man and other unknown"


def test_small_cells_that_add_up_to_less_than_the_threshold_take_another_cell():
    table = suppress({"a": 1, "b": 1, "c": 9, "d": 20}, 5)
    assert shown(table) == {"a": None, "b": None, "c": None, "d": 20}


def test_small_cells_that_add_up_to_the_threshold_hide_only_themselves():
    table = suppress({"a": 3, "b": 2, "c": 9, "d": 20}, 5)
    assert shown(table) == {"a": None, "b": None, "c": 9, "d": 20}


def test_a_total_under_the_threshold_hides_everything_but_zeros():
    table = suppress({"a": 3, "b": 0, "c": 1}, 5)
    assert shown(table) == {"a": None, "b": 0, "c": None}
    assert table.total.count is None and table.total.suppressed
    empty = suppress({"a": 0, "b": 0}, 5)
    assert empty.total.count == 0 and shown(empty) == {"a": 0, "b": 0}


@pytest.mark.parametrize("threshold", [3, 5, 10])
def test_no_hidden_cell_can_be_worked_out_from_the_total(threshold):
    rng = random.Random(threshold)
    for _ in range(2000):
        counts = {f"c{i}": rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 13, 40]) for i in range(5)}
        table = suppress(counts, threshold)
        hidden = [n for n, c in table.cells.items() if c.suppressed]
        assert all(table.cells[n].suppressed for n in counts if 0 < counts[n] < threshold)
        assert all(not table.cells[n].suppressed for n in counts if counts[n] == 0)
        if table.total.count is not None and hidden:
            # What the total leaves over is shared by at least two hidden cells, and is at
            # least the threshold, so no hidden cell is pinned down by subtraction.
            assert len(hidden) >= 2
            assert sum(counts[n] for n in hidden) >= threshold
        for name, cell in table.cells.items():
            assert cell.count in (None, counts[name])


def test_months_and_percentiles():
    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert shift_month("2025-03", -6) == "2024-09"
    assert nearest_rank([5, 1, 4, 2, 3], 90) == 5
    assert nearest_rank(list(range(1, 21)), 90) == 18
    assert nearest_rank([7.5], 90) == 7.5


def shown_cells(cells):
    return {name: cell.count for name, cell in cells.items()}


def person(month_day, gender="woman", age="15_17", place="1440", **more):
    return Participant(Gender(gender), AgeBand(age), place, month_day, **more)


def test_participants_are_counted_per_month_started_exited_and_followed_up():
    people = [
        *[person(date(2025, 1, 10)) for _ in range(6)],
        *[person(date(2025, 1, 12), "man", "18_19", "1480") for _ in range(2)],
        *[person(date(2025, 1, 14), "man", "20_24", "1440") for _ in range(5)],
        *[
            person(date(2024, 12, 1), exited_on=date(2025, 1, 20), exit_outcome=Outcome.IN_WORK)
            for _ in range(5)
        ],
        *[
            person(
                date(2024, 6, 1),
                exited_on=date(2024, 7, 3),
                exit_outcome=Outcome.SUPPORT_GIVEN,
                outcome_after_6_months=Outcome.RETURNED_TO_STUDIES,
            )
            for _ in range(6)
        ],
        person(date(2024, 6, 1), exited_on=date(2024, 7, 9), exit_outcome=Outcome.NONE),
    ]
    [january] = participant_months(people, ["2025-01"], ["1440", "1480"], 5)

    started = january.started
    assert started.total.count == 13
    assert shown_cells(started.gender) == {"woman": 6, "man": 7, "other_or_unknown": 0}
    assert shown_cells(started.age_band) == {
        "under_15": 0,
        "15_17": 6,
        "18_19": None,
        "20_24": None,
        "25_plus": 0,
    }
    assert shown_cells(started.municipality) == {"1440": None, "1480": None}

    assert january.exited.total.count == 5
    assert january.outcome_at_exit.exit_month == "2025-01"
    assert shown_cells(january.outcome_at_exit.outcome) == {
        "returned_to_studies": 0,
        "in_work": 5,
        "in_other_activity": 0,
        "none": 0,
    }

    later = january.outcome_after_6_months
    assert later.exit_month == "2024-07"
    assert later.total.count == 7
    assert shown_cells(later.outcome) == {
        "returned_to_studies": None,
        "in_work": 0,
        "in_other_activity": 0,
        "none": 0,
        "not_recorded": None,
    }


T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def referral(subject="s1", kind=HandoffKind.REFERRAL, basis="consent", at=T0, *steps):
    events = tuple(LoopEvent(t, at + timedelta(hours=h), code) for t, h, code in steps)
    return Referral(kind, subject, basis, at, events)


def test_loop_metrics_follow_each_handoff_to_as_of():
    done = [
        ("ReferralReceived", 0.01, None),
        ("ReferralAccepted", 2, None),
        ("FirstContactMade", 24, None),
        ("ReferralCompleted", 100, "in_work"),
    ]
    referrals = [
        *[referral(f"s{i}", HandoffKind.REFERRAL, "consent", T0, *done) for i in range(5)],
        *[
            referral(
                f"r{i}",
                HandoffKind.REFERRAL,
                "consent",
                T0,
                ("ReferralReceived", 0.01, None),
                ("ReferralRejected", 3 + i, "no_capacity"),
            )
            for i in range(6)
        ],
        *[
            referral(
                f"s{i}",
                HandoffKind.DROPOUT_REPORT,
                "legal_duty",
                T0,
                ("ReferralReceived", 0.02, None),
            )
            for i in range(5)
        ],
        referral("x", HandoffKind.REFERRAL, "consent", T0, ("ReferralEnteredInError", 1, None)),
    ]
    as_of = T0 + timedelta(days=30)
    [march] = loop_months(referrals, ["2025-03"], as_of, timedelta(days=14), STOCKHOLM, 5)

    assert march.kind.total.count == 16, "the one entered in error is left out"
    assert shown(march.kind) == {"referral": 11, "dropout_report": 5, "concern_report": 0}
    assert shown(march.legal_basis) == {"consent": 11, "legal_duty": 5, "necessary_disclosure": 0}
    assert shown(march.status) == {"open_updated": 0, "open_stale": 5, "closed": 11}
    assert march.time_to_acknowledge.n.count == 16
    assert march.time_to_acknowledge.median_seconds == 36.0
    assert march.time_to_decide.n.count == 11
    assert march.time_to_decide.median_seconds == 3 * 3600  # 2, 2, 2, 2, 2, 3, 4, 5, ...
    assert march.time_to_decide.p90_seconds == 7 * 3600
    assert march.time_to_first_contact.n.count == 5
    assert march.time_to_first_contact.median_seconds == 24 * 3600
    assert march.time_to_close.n == march.status.cells["closed"]
    assert shown(march.rejection_reasons)["no_capacity"] == 6
    assert march.failure_reasons.total.count == 0
    per_student = march.handoffs_per_student
    assert per_student.students.count == 11  # s0-s4 have two handoffs each, r0-r5 one
    assert (per_student.median, per_student.p90, per_student.mean) == (1.0, 2.0, 1.45)


def test_loop_metrics_as_of_an_earlier_instant_see_only_what_had_happened():
    steps = [("ReferralReceived", 0.01, None), ("ReferralAccepted", 48, None)]
    referrals = [referral(f"s{i}", HandoffKind.REFERRAL, "consent", T0, *steps) for i in range(5)]
    [early] = loop_months(
        referrals, ["2025-03"], T0 + timedelta(hours=1), timedelta(days=14), STOCKHOLM, 5
    )
    assert early.time_to_decide.n.count == 0 and early.time_to_decide.median_seconds is None
    assert shown(early.status) == {"open_updated": 5, "open_stale": 0, "closed": 0}
    [later] = loop_months(
        referrals, ["2025-03"], T0 + timedelta(days=20), timedelta(days=14), STOCKHOLM, 5
    )
    assert shown(later.status) == {"open_updated": 0, "open_stale": 5, "closed": 0}
    assert later.time_to_decide.median_seconds == 48 * 3600


def test_timings_over_fewer_than_the_threshold_are_suppressed():
    steps = [("ReferralReceived", 0.01, None), ("ReferralRejected", 1, "not_in_remit")]
    referrals = [referral(f"s{i}", HandoffKind.REFERRAL, "consent", T0, *steps) for i in range(4)]
    [march] = loop_months(
        referrals, ["2025-03"], T0 + timedelta(days=1), timedelta(days=14), STOCKHOLM, 5
    )
    assert march.time_to_decide.n.suppressed
    assert march.time_to_decide.median_seconds is None
    assert march.time_to_decide.p90_seconds is None
    assert march.handoffs_per_student.students.suppressed
    assert march.handoffs_per_student.mean is None


def test_the_month_of_a_request_is_the_swedish_month():
    late = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Stockholm
    referrals = [referral(f"s{i}", HandoffKind.REFERRAL, "consent", late) for i in range(5)]
    march, april = loop_months(
        referrals,
        ["2025-03", "2025-04"],
        late + timedelta(days=1),
        timedelta(days=14),
        STOCKHOLM,
        5,
    )
    assert (march.kind.total.count, april.kind.total.count) == (0, 5)


def test_every_month_of_a_range_is_reported_even_when_empty():
    months = participant_months([], months_between("2025-01", "2025-03"), [], 5)
    assert [m.month for m in months] == ["2025-01", "2025-02", "2025-03"]
    assert all(m.started.total.count == 0 for m in months)
    assert list(itertools.chain.from_iterable(m.started.municipality for m in months)) == []
