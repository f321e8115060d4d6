"""Early warning (tidig upptäckt och åtgärd): the ABC indicators per student, their thresholds,
the records school admin systems send, and how open risk signals follow the readings. No I/O.

A risk signal stays inside the school: it is a row in the school's own database, never an event
on the bus. Sharing anything about it takes a referral, on its own legal basis.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from contracts.codes import DataCategory, ReferralReason, RiskIndicator, RiskLevel
from contracts.envelope import SubjectRef
from services.kit.refusals import Refused

StudentId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9._\-]{1,40}$"),
    Field(description="The student's id in the school admin system (never a personnummer)."),
]


class Band(BaseModel):
    """A warning level and an alert level; a value at or above a level reaches it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning_at: float = Field(ge=0)
    alert_at: float = Field(ge=0)

    @model_validator(mode="after")
    def _warning_first(self) -> "Band":
        if self.warning_at > self.alert_at:
            raise ValueError("warning_at must not be above alert_at")
        return self

    def level(self, value: Fraction | int) -> RiskLevel | None:
        """The level `value` reaches, compared exactly (5 % is 5 %, not 4.999...)."""
        # Fraction(str(x)) takes the threshold as written, so 7.1 means 71/10.
        if value >= Fraction(str(self.alert_at)):
            return RiskLevel.ALERT
        if value >= Fraction(str(self.warning_at)):
            return RiskLevel.WARNING
        return None


class Thresholds(BaseModel):
    """When an indicator warns or alerts; each school may set its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    absence_percent: Band = Field(
        default=Band(warning_at=5, alert_at=10),
        description="Share of scheduled time absent (chronic absence is commonly 10 % or more).",
    )
    incidents: Band = Field(
        default=Band(warning_at=2, alert_at=4), description="Behaviour incidents in the window."
    )
    failing_grades: Band = Field(
        default=Band(warning_at=1, alert_at=3), description="Courses graded F or '-'."
    )
    missing_credits: Band = Field(
        default=Band(warning_at=100, alert_at=250),
        description="Course points (gymnasiepoäng) not passed; a diploma allows at most 250.",
    )
    window_days: int = Field(
        default=120,
        ge=7,
        le=400,
        description="Attendance and incidents count over this many days, back from the"
        " student's latest recorded school day.",
    )


class Grade(StrEnum):
    """Upper-secondary grades: A-E pass; F fails; '-' means no basis for a grade."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    NO_BASIS = "-"


FAILING_GRADES = frozenset({Grade.F, Grade.NO_BASIS})


class IncidentKind(StrEnum):
    """Coded behaviour incidents, as school admin systems log them."""

    DISRUPTION = "disruption"
    DEGRADING_TREATMENT = "degrading_treatment"
    THREAT = "threat"
    VIOLENCE = "violence"
    OTHER = "other"


def _not_in_the_future(value: date, info: ValidationInfo) -> date:
    # The caller's clock comes in the validation context, so the models stay free of I/O.
    today = (info.context or {}).get("today")
    if today is not None and value > today:
        raise ValueError("date is in the future")
    return value


PastDate = Annotated[date, AfterValidator(_not_in_the_future)]


class StudentRecord(BaseModel):
    """One row from a school admin system, about one student."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    student_id: StudentId
    subject: SubjectRef


class AttendanceRecord(StudentRecord):
    """Scheduled and absent minutes of one student on one school day (a later row for the
    same day replaces the earlier one: corrections)."""

    day: PastDate
    scheduled_minutes: int = Field(gt=0, le=1440)
    absent_minutes: int = Field(ge=0, le=1440)

    @model_validator(mode="after")
    def _absent_within_scheduled(self) -> "AttendanceRecord":
        if self.absent_minutes > self.scheduled_minutes:
            raise ValueError("absent_minutes is more than scheduled_minutes")
        return self


class GradeRecord(StudentRecord):
    """The grade in one course (a later grade, e.g. after a retake, replaces an earlier one)."""

    course_code: str = Field(pattern=r"^[A-Za-z0-9]{3,20}$", description="e.g. MATMAT01a")
    grade: Grade
    credits: int = Field(gt=0, le=3000, description="Course points (gymnasiepoäng).")
    graded_on: PastDate


class IncidentRecord(StudentRecord):
    """One behaviour incident, by its id in the admin system (sending it again changes
    nothing)."""

    incident_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")
    day: PastDate
    kind: IncidentKind


IntakeKind = Literal["attendance", "grades", "incidents"]
RECORD_OF: dict[str, type[StudentRecord]] = {
    "attendance": AttendanceRecord,
    "grades": GradeRecord,
    "incidents": IncidentRecord,
}


@dataclass(frozen=True)
class StudentFacts:
    """What the school knows about one student, over the indicator window."""

    student_id: str
    scheduled_minutes: int = 0
    absent_minutes: int = 0
    incidents: int = 0
    failing_grades: int = 0
    missing_credits: int = 0


@dataclass(frozen=True)
class Reading:
    """One indicator of one student: its level (None: below warning) and what it measured."""

    indicator: RiskIndicator
    level: RiskLevel | None
    measures: dict[str, Any]


def _higher(a: RiskLevel | None, b: RiskLevel | None) -> RiskLevel | None:
    order = [None, RiskLevel.WARNING, RiskLevel.ALERT]
    return max(a, b, key=order.index)


def assess(facts: StudentFacts, thresholds: Thresholds) -> list[Reading]:
    """The three ABC indicators of a student."""
    absence = (
        Fraction(100 * facts.absent_minutes, facts.scheduled_minutes)
        if facts.scheduled_minutes
        else Fraction(0)
    )
    course_level = _higher(
        thresholds.failing_grades.level(facts.failing_grades),
        thresholds.missing_credits.level(facts.missing_credits),
    )
    return [
        Reading(
            RiskIndicator.ATTENDANCE,
            thresholds.absence_percent.level(absence),
            {
                "absence_percent": round(float(absence), 2),
                "absent_minutes": facts.absent_minutes,
                "scheduled_minutes": facts.scheduled_minutes,
            },
        ),
        Reading(
            RiskIndicator.BEHAVIOUR,
            thresholds.incidents.level(facts.incidents),
            {"incidents": facts.incidents},
        ),
        Reading(
            RiskIndicator.COURSE_PERFORMANCE,
            course_level,
            {"failing_grades": facts.failing_grades, "missing_credits": facts.missing_credits},
        ),
    ]


@dataclass(frozen=True)
class OpenSignal:
    """A risk signal not yet cleared."""

    signal_id: UUID
    indicator: RiskIndicator
    level: RiskLevel


@dataclass(frozen=True)
class SignalChange:
    """What to do with a student's signal for one indicator after a reading."""

    action: Literal["raise", "change", "clear"]
    reading: Reading
    signal_id: UUID | None = None


def signal_changes(open_signals: list[OpenSignal], readings: list[Reading]) -> list[SignalChange]:
    """Raise a signal when an indicator reaches a level, change its level when the level moves,
    clear it when the indicator is back under warning; otherwise leave it alone."""
    current = {s.indicator: s for s in open_signals}
    changes = []
    for reading in readings:
        signal = current.get(reading.indicator)
        if signal is None and reading.level is not None:
            changes.append(SignalChange("raise", reading))
        elif signal is not None and reading.level is None:
            changes.append(SignalChange("clear", reading, signal.signal_id))
        elif signal is not None and reading.level != signal.level:
            changes.append(SignalChange("change", reading, signal.signal_id))
    return changes


# What a referral made from a signal is about and shares, unless the school says otherwise.
REFERRAL_DEFAULTS: dict[RiskIndicator, tuple[ReferralReason, tuple[DataCategory, ...]]] = {
    RiskIndicator.ATTENDANCE: (ReferralReason.ABSENCE, (DataCategory.ATTENDANCE,)),
    RiskIndicator.COURSE_PERFORMANCE: (ReferralReason.STUDY_DIFFICULTIES, (DataCategory.GRADES,)),
    RiskIndicator.BEHAVIOUR: (ReferralReason.OTHER, (DataCategory.SOCIAL_SITUATION,)),
}


class EarlyWarningRefused(Refused):
    """A request the early-warning desk will not carry out, and why."""
