"""SQL adapter of early warning: students, their records, thresholds and risk signals."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import asyncpg

from contracts.codes import RiskIndicator, RiskLevel
from services.kit.database import Connection
from services.school.early_warning.domain import (
    FAILING_GRADES,
    AttendanceRecord,
    GradeRecord,
    IncidentRecord,
    OpenSignal,
    Reading,
    StudentFacts,
    StudentRecord,
    Thresholds,
)

SignalStatus = Literal["open", "cleared", "all"]


async def link_students(
    conn: Connection, school: str, pairs: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Link new (student id, subject) pairs; return the subject linked to each student id.

    A student id already linked to another subject, or a subject already linked to another
    student id, is not linked again: the caller sees the mismatch in the answer.
    """
    # In file order: the first row to name a student links them.
    unique = list(dict.fromkeys(pairs))
    ids, subjects = [p[0] for p in unique], [p[1] for p in unique]
    await conn.execute(
        "INSERT INTO ew_students (school, student_id, subject)"
        " SELECT $1, s, j FROM unnest($2::text[], $3::text[]) AS t(s, j) ON CONFLICT DO NOTHING",
        school,
        ids,
        subjects,
    )
    rows = await conn.fetch(
        "SELECT student_id, subject FROM ew_students WHERE school = $1 AND student_id = ANY($2)",
        school,
        ids,
    )
    return {r["student_id"]: r["subject"] for r in rows}


async def save_records(conn: Connection, school: str, records: Sequence[StudentRecord]) -> None:
    """Store validated records; a later record for the same key replaces an earlier one."""
    attendance = [r for r in records if isinstance(r, AttendanceRecord)]
    grades = [r for r in records if isinstance(r, GradeRecord)]
    incidents = [r for r in records if isinstance(r, IncidentRecord)]
    if attendance:
        await _save_attendance(conn, school, attendance)
    if grades:
        await _save_grades(conn, school, grades)
    if incidents:
        await _save_incidents(conn, school, incidents)


async def _save_attendance(conn: Connection, school: str, records: list[AttendanceRecord]) -> None:
    # One row per key within a statement: PostgreSQL refuses to update a row twice in one.
    latest = list({(r.student_id, r.day): r for r in records}.values())
    await conn.execute(
        "INSERT INTO ew_attendance (school, student_id, day, scheduled_minutes, absent_minutes)"
        " SELECT $1, * FROM unnest($2::text[], $3::date[], $4::int[], $5::int[])"
        " ON CONFLICT (school, student_id, day) DO UPDATE SET"
        " scheduled_minutes = EXCLUDED.scheduled_minutes,"
        " absent_minutes = EXCLUDED.absent_minutes",
        school,
        [r.student_id for r in latest],
        [r.day for r in latest],
        [r.scheduled_minutes for r in latest],
        [r.absent_minutes for r in latest],
    )


async def _save_grades(conn: Connection, school: str, records: list[GradeRecord]) -> None:
    latest: dict[tuple[str, str], GradeRecord] = {}
    for r in records:
        key = (r.student_id, r.course_code)
        if key not in latest or r.graded_on >= latest[key].graded_on:
            latest[key] = r
    rows = list(latest.values())
    await conn.execute(
        "INSERT INTO ew_grades (school, student_id, course_code, grade, credits, graded_on)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::date[])"
        " ON CONFLICT (school, student_id, course_code) DO UPDATE SET"
        " grade = EXCLUDED.grade, credits = EXCLUDED.credits, graded_on = EXCLUDED.graded_on"
        " WHERE EXCLUDED.graded_on >= ew_grades.graded_on",
        school,
        [r.student_id for r in rows],
        [r.course_code for r in rows],
        [r.grade.value for r in rows],
        [r.credits for r in rows],
        [r.graded_on for r in rows],
    )


async def _save_incidents(conn: Connection, school: str, records: list[IncidentRecord]) -> None:
    latest = list({r.incident_id: r for r in records}.values())
    await conn.execute(
        "INSERT INTO ew_incidents (school, incident_id, student_id, day, kind)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::date[], $5::text[])"
        " ON CONFLICT (school, incident_id) DO UPDATE SET"
        " student_id = EXCLUDED.student_id, day = EXCLUDED.day, kind = EXCLUDED.kind",
        school,
        [r.incident_id for r in latest],
        [r.student_id for r in latest],
        [r.day for r in latest],
        [r.kind.value for r in latest],
    )


async def facts(
    conn: Connection, school: str, student_ids: Sequence[str], window_days: int
) -> list[StudentFacts]:
    """What counts for each student's indicators: attendance and incidents over the window
    that ends on the student's latest recorded day, and every course's latest grade."""
    rows = await conn.fetch(
        """
        WITH latest AS (
            SELECT s.student_id, greatest(
                (SELECT max(day) FROM ew_attendance a
                  WHERE a.school = $1 AND a.student_id = s.student_id),
                (SELECT max(day) FROM ew_incidents i
                  WHERE i.school = $1 AND i.student_id = s.student_id)) AS last_day
            FROM ew_students s WHERE s.school = $1 AND s.student_id = ANY($2::text[])
        )
        SELECT l.student_id,
            coalesce(a.scheduled, 0) AS scheduled_minutes,
            coalesce(a.absent, 0) AS absent_minutes,
            (SELECT count(*) FROM ew_incidents i WHERE i.school = $1
              AND i.student_id = l.student_id AND i.day > l.last_day - $3::int) AS incidents,
            coalesce(g.failing, 0) AS failing_grades,
            coalesce(g.missing, 0) AS missing_credits
        FROM latest l
        LEFT JOIN LATERAL (
            SELECT sum(scheduled_minutes) AS scheduled, sum(absent_minutes) AS absent
            FROM ew_attendance a WHERE a.school = $1 AND a.student_id = l.student_id
              AND a.day > l.last_day - $3::int) a ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS failing, sum(credits) AS missing
            FROM ew_grades g WHERE g.school = $1 AND g.student_id = l.student_id
              AND g.grade = ANY($4::text[])) g ON true
        """,
        school,
        list(student_ids),
        window_days,
        sorted(g.value for g in FAILING_GRADES),
    )
    return [
        StudentFacts(
            student_id=r["student_id"],
            scheduled_minutes=int(r["scheduled_minutes"]),
            absent_minutes=int(r["absent_minutes"]),
            incidents=int(r["incidents"]),
            failing_grades=int(r["failing_grades"]),
            missing_credits=int(r["missing_credits"]),
        )
        for r in rows
    ]


async def student_ids(conn: Connection, school: str) -> list[str]:
    """Every student the school has records of."""
    rows = await conn.fetch("SELECT student_id FROM ew_students WHERE school = $1", school)
    return [r["student_id"] for r in rows]


async def student(conn: Connection, school: str, student_id: str) -> asyncpg.Record | None:
    """One student: subject and case manager."""
    return await conn.fetchrow(
        "SELECT student_id, subject, case_manager, case_manager_assigned_at FROM ew_students"
        " WHERE school = $1 AND student_id = $2",
        school,
        student_id,
    )


async def assign_case_manager(
    conn: Connection, school: str, student_id: str, case_manager: str, at: datetime
) -> bool:
    """Make `case_manager` the student's samordnare; False if the student is unknown."""
    status = await conn.execute(
        "UPDATE ew_students SET case_manager = $3, case_manager_assigned_at = $4"
        " WHERE school = $1 AND student_id = $2",
        school,
        student_id,
        case_manager,
        at,
    )
    return status.endswith(" 1")


async def thresholds(conn: Connection, school: str) -> Thresholds | None:
    """The school's own thresholds, if it set any."""
    raw = await conn.fetchval("SELECT thresholds FROM ew_thresholds WHERE school = $1", school)
    return None if raw is None else Thresholds.model_validate_json(raw)


async def save_thresholds(conn: Connection, school: str, chosen: Thresholds, at: datetime) -> None:
    """Set the school's thresholds."""
    await conn.execute(
        "INSERT INTO ew_thresholds (school, thresholds, updated_at) VALUES ($1, $2::jsonb, $3)"
        " ON CONFLICT (school) DO UPDATE SET thresholds = EXCLUDED.thresholds,"
        " updated_at = EXCLUDED.updated_at",
        school,
        chosen.model_dump_json(),
        at,
    )


async def open_signals(
    conn: Connection, school: str, student_ids: Sequence[str]
) -> dict[str, list[OpenSignal]]:
    """Open signals of the students, by student id."""
    rows = await conn.fetch(
        "SELECT signal_id, student_id, indicator, level FROM ew_signals"
        " WHERE school = $1 AND student_id = ANY($2::text[]) AND cleared_at IS NULL",
        school,
        list(student_ids),
    )
    found: dict[str, list[OpenSignal]] = {}
    for r in rows:
        signal = OpenSignal(r["signal_id"], RiskIndicator(r["indicator"]), RiskLevel(r["level"]))
        found.setdefault(r["student_id"], []).append(signal)
    return found


async def raise_signal(
    conn: Connection, school: str, student_id: str, reading: Reading, at: datetime
) -> UUID:
    """Open a signal for a reading that reached a level."""
    assert reading.level is not None
    signal_id = uuid4()
    await conn.execute(
        "INSERT INTO ew_signals (signal_id, school, student_id, indicator, level, measures,"
        " raised_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)",
        signal_id,
        school,
        student_id,
        reading.indicator.value,
        reading.level.value,
        json.dumps(reading.measures),
        at,
    )
    return signal_id


async def update_signal(
    conn: Connection, signal_id: UUID, reading: Reading, at: datetime, clear: bool
) -> None:
    """Record a new level of an open signal, or clear it."""
    await conn.execute(
        "UPDATE ew_signals SET level = coalesce($2::text, level), measures = $3::jsonb,"
        " updated_at = $4::timestamptz,"
        " cleared_at = CASE WHEN $5::boolean THEN $4::timestamptz END WHERE signal_id = $1",
        signal_id,
        reading.level.value if reading.level else None,
        json.dumps(reading.measures),
        at,
        clear,
    )


_SIGNAL_COLUMNS = (
    "s.signal_id, s.school, s.student_id, st.subject, st.case_manager, s.indicator, s.level,"
    " s.measures, s.raised_at, s.updated_at, s.cleared_at, s.referral_id"
)


async def signal(
    conn: Connection, school: str, signal_id: UUID, lock: bool = False
) -> asyncpg.Record | None:
    """One signal of the school, with the student's subject and case manager."""
    suffix = " FOR UPDATE OF s" if lock else ""
    return await conn.fetchrow(
        f"SELECT {_SIGNAL_COLUMNS} FROM ew_signals s JOIN ew_students st USING (school,"
        f" student_id) WHERE s.school = $1 AND s.signal_id = $2{suffix}",
        school,
        signal_id,
    )


async def signals(
    conn: Connection,
    school: str,
    status: SignalStatus,
    indicator: RiskIndicator | None = None,
    level: RiskLevel | None = None,
    case_manager: str | None = None,
    student_id: str | None = None,
    limit: int = 100,
) -> list[asyncpg.Record]:
    """The school's signals, newest first, filtered."""
    return await conn.fetch(
        f"SELECT {_SIGNAL_COLUMNS} FROM ew_signals s JOIN ew_students st USING (school,"
        " student_id) WHERE s.school = $1"
        " AND ($2 = 'all' OR (s.cleared_at IS NULL) = ($2 = 'open'))"
        " AND ($3::text IS NULL OR s.indicator = $3) AND ($4::text IS NULL OR s.level = $4)"
        " AND ($5::text IS NULL OR st.case_manager = $5)"
        " AND ($6::text IS NULL OR s.student_id = $6)"
        " ORDER BY s.raised_at DESC, s.signal_id LIMIT $7",
        school,
        status,
        indicator.value if indicator else None,
        level.value if level else None,
        case_manager,
        student_id,
        limit,
    )


async def link_referral(conn: Connection, signal_id: UUID, referral_id: UUID) -> None:
    """Remember the referral made from a signal."""
    await conn.execute(
        "UPDATE ew_signals SET referral_id = $2 WHERE signal_id = $1", signal_id, referral_id
    )
