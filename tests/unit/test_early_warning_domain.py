"""Early-warning indicators at each threshold, and how open signals follow the readings."""

import uuid
from datetime import date
from fractions import Fraction

import pytest
from pydantic import ValidationError

from contracts.codes import RiskIndicator, RiskLevel
from services.school.early_warning.domain import (
    AttendanceRecord,
    Band,
    GradeRecord,
    OpenSignal,
    StudentFacts,
    Thresholds,
    assess,
    signal_changes,
)

pytestmark = [pytest.mark.unit, pytest.mark.reporting]

SUBJECT = "a" * 64
WARNING, ALERT = RiskLevel.WARNING, RiskLevel.ALERT


def level_of(indicator, **facts):
    readings = {r.indicator: r for r in assess(StudentFacts("s1", **facts), Thresholds())}
    return readings[indicator].level


@pytest.mark.parametrize(
    ("absent", "scheduled", "expected"),
    [
        (0, 1200, None),
        (59, 1200, None),  # 4.92 %
        (60, 1200, WARNING),  # exactly 5 %
        (119, 1200, WARNING),  # 9.92 %
        (120, 1200, ALERT),  # exactly 10 %
        (1200, 1200, ALERT),
        (0, 0, None),  # nothing recorded yet
    ],
)
def test_absence_warns_at_5_and_alerts_at_10_percent(absent, scheduled, expected):
    level = level_of(RiskIndicator.ATTENDANCE, absent_minutes=absent, scheduled_minutes=scheduled)
    assert level == expected


@pytest.mark.parametrize(
    ("incidents", "expected"), [(0, None), (1, None), (2, WARNING), (3, WARNING), (4, ALERT)]
)
def test_behaviour_warns_at_2_and_alerts_at_4_incidents(incidents, expected):
    assert level_of(RiskIndicator.BEHAVIOUR, incidents=incidents) == expected


@pytest.mark.parametrize(
    ("failing", "missing", "expected"),
    [
        (0, 0, None),
        (1, 50, WARNING),  # one failing grade
        (2, 99, WARNING),
        (3, 150, ALERT),  # three failing grades
        (0, 100, WARNING),  # missing credits alone (e.g. courses still to be graded)
        (0, 249, WARNING),
        (0, 250, ALERT),  # at the diploma limit
        (1, 300, ALERT),  # the higher of the two counts
    ],
)
def test_course_performance_counts_failing_grades_and_missing_credits(failing, missing, expected):
    level = level_of(
        RiskIndicator.COURSE_PERFORMANCE, failing_grades=failing, missing_credits=missing
    )
    assert level == expected


def test_thresholds_are_compared_exactly_as_written():
    band = Band(warning_at=7.1, alert_at=12.5)
    assert band.level(Fraction(709, 100)) is None
    assert band.level(Fraction(71, 10)) is WARNING
    assert band.level(Fraction(25, 2)) is ALERT


def test_a_school_can_choose_its_own_thresholds():
    strict = Thresholds(absence_percent=Band(warning_at=3, alert_at=6))
    readings = assess(StudentFacts("s1", absent_minutes=36, scheduled_minutes=1200), strict)
    assert readings[0].level is WARNING
    assert readings[0].measures == {
        "absence_percent": 3.0,
        "absent_minutes": 36,
        "scheduled_minutes": 1200,
    }


def test_a_warning_above_its_alert_is_refused():
    with pytest.raises(ValidationError, match="warning_at must not be above alert_at"):
        Band(warning_at=10, alert_at=5)


def _reading(indicator, level):
    return next(
        r
        for r in assess(
            StudentFacts(
                "s1",
                absent_minutes={None: 0, WARNING: 60, ALERT: 120}[level],
                scheduled_minutes=1200,
            ),
            Thresholds(),
        )
        if r.indicator is indicator
    )


def test_signals_are_raised_changed_and_cleared_with_the_readings():
    attendance = RiskIndicator.ATTENDANCE
    signal = OpenSignal(uuid.uuid4(), attendance, WARNING)

    raised = signal_changes([], [_reading(attendance, WARNING)])
    assert [(c.action, c.reading.level) for c in raised] == [("raise", WARNING)]

    escalated = signal_changes([signal], [_reading(attendance, ALERT)])
    assert [(c.action, c.signal_id) for c in escalated] == [("change", signal.signal_id)]

    cleared = signal_changes([signal], [_reading(attendance, None)])
    assert [(c.action, c.signal_id) for c in cleared] == [("clear", signal.signal_id)]

    assert signal_changes([signal], [_reading(attendance, WARNING)]) == []
    assert signal_changes([], [_reading(attendance, None)]) == []


def test_records_refuse_impossible_values_future_dates_and_extra_fields():
    today = date(2026, 3, 2)
    good = {
        "student_id": "s-1",
        "subject": SUBJECT,
        "day": "2026-03-02",
        "scheduled_minutes": "300",
        "absent_minutes": "30",
    }
    record = AttendanceRecord.model_validate(good, context={"today": today})
    assert (record.day, record.absent_minutes) == (date(2026, 3, 2), 30)

    with pytest.raises(ValidationError, match="absent_minutes is more than scheduled_minutes"):
        AttendanceRecord.model_validate({**good, "absent_minutes": "301"})
    with pytest.raises(ValidationError, match="date is in the future"):
        AttendanceRecord.model_validate({**good, "day": "2026-03-03"}, context={"today": today})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AttendanceRecord.model_validate({**good, "personnummer": "200101012384"})
    with pytest.raises(ValidationError, match="grade"):
        GradeRecord.model_validate(
            {
                "student_id": "s-1",
                "subject": SUBJECT,
                "course_code": "MATMAT01a",
                "grade": "G",
                "credits": 100,
                "graded_on": "2026-01-10",
            }
        )
