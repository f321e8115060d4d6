"""Early warning in the school service, on the real database and broker: intake by CSV and
JSON, the indicators at each threshold, signals that stay inside the school, a case manager,
and a referral made from a signal."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from deploy.credentials import demo_principals, new_pseudonym_key, write_principals
from deploy.kafka_jars import REPO_ROOT
from services.kit.agencies import AgencyRegistry
from services.kit.provided import provided_in
from services.kit.settings import DatabaseSettings
from services.school.bootstrap import create_app
from services.school.early_warning.domain import AttendanceRecord
from services.school.early_warning.intake import read_csv
from services.school.early_warning.service import EarlyWarningDesk
from services.school.settings import SchoolSettings

pytestmark = [pytest.mark.integration, pytest.mark.reporting]

SCHOOL = "ale.school.ale-gymnasium"
BASE = f"/early-warning/schools/{SCHOOL}"
HEADER = "student_id,subject,day,scheduled_minutes,absent_minutes\n"


def subject(n: int) -> str:
    return f"{n:064x}"


class School:
    """The school service in this process, driven over HTTP as its admin system would."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient, keys: dict[str, str], dsn: str):
        self.app, self.http, self.keys, self.dsn = app, http, keys, dsn

    def as_(self, principal: str = f"{SCHOOL}.agency_system") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[principal]}"}

    async def csv(self, kind: str, text: str | bytes, status: int = 200) -> dict:
        body = text.encode() if isinstance(text, str) else text
        answer = await self.http.post(
            f"{BASE}/imports/{kind}",
            content=body,
            headers={**self.as_(), "Content-Type": "text/csv"},
        )
        assert answer.status_code == status, answer.text
        return answer.json()

    async def records(self, kind: str, records: list[dict]) -> dict:
        answer = await self.http.post(
            f"{BASE}/records/{kind}", json={"records": records}, headers=self.as_()
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def levels(self, student_id: str) -> dict[str, str | None]:
        answer = await self.http.get(f"{BASE}/students/{student_id}", headers=self.as_())
        assert answer.status_code == 200, answer.text
        return {i["indicator"]: i["level"] for i in answer.json()["indicators"]}

    async def open_signals(self, **query: str) -> list[dict]:
        answer = await self.http.get(f"{BASE}/signals", params=query, headers=self.as_())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def outbox_types(self) -> list[str]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return [r["event_type"] for r in await conn.fetch("SELECT event_type FROM outbox")]
        finally:
            await conn.close()


@pytest.fixture
async def school(
    kafka_settings, topic_prefix, new_database, tmp_path: Path
) -> AsyncIterator[School]:
    registry = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")
    keys = write_principals(
        demo_principals(registry), tmp_path / "principals.yaml", tmp_path / "keys.json"
    )
    dsn = await new_database("school")
    settings = SchoolSettings(
        kafka=kafka_settings("school", topic_prefix=topic_prefix),
        db=DatabaseSettings(dsn=dsn),
        principals_file=tmp_path / "principals.yaml",
        pseudonym_key=new_pseudonym_key(),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://school") as http:
            yield School(app, http, keys, dsn)


def attendance(student: str, n: int, absent: int, scheduled: int = 1000, day="2026-03-02"):
    return f"{student},{subject(n)},{day},{scheduled},{absent}\n"


async def test_a_csv_with_bad_rows_imports_the_good_ones_and_reports_each_bad_one(school):
    text = (
        HEADER
        + attendance("s-0", 1, 0)
        + attendance("s-49", 2, 49)  # 4.9 %: under warning
        + f"s-bad,{'x' * 64},2026-03-02,1000,0\n"  # line 4: not a subject reference
        + attendance("s-50", 3, 50)  # exactly 5 %: warning
        + attendance("s-over", 4, 1001)  # line 6: more absent than scheduled
        + attendance("s-99", 5, 99)  # 9.9 %: still a warning
        + attendance("s-future", 6, 0, day="2099-01-01")  # line 8
        + "s-short,1,2\n"  # line 9
        + attendance("s-100", 7, 100)  # exactly 10 %: alert
        + attendance("s-50", 8, 0, day="2026-03-03")  # line 11: s-50 belongs to subject 3
    )
    report = await school.csv("attendance", text)
    assert report["rows_read"] == 10
    assert report["rows_imported"] == 5
    assert report["rows_rejected"] == 5
    assert report["bad_rows"] == [
        {"line": 4, "reason": "subject: String should match pattern '^[0-9a-f]{64}$'"},
        {"line": 6, "reason": "absent_minutes is more than scheduled_minutes"},
        {"line": 8, "reason": "day: date is in the future"},
        {"line": 9, "reason": "expected 5 fields, found 3"},
        {"line": 11, "reason": "student_id is linked to another subject"},
    ]
    assert report["signals"] == {"students_assessed": 5, "raised": 3, "changed": 0, "cleared": 0}

    assert (await school.levels("s-0"))["attendance"] is None
    assert (await school.levels("s-49"))["attendance"] is None
    assert (await school.levels("s-50"))["attendance"] == "warning"
    assert (await school.levels("s-99"))["attendance"] == "warning"
    assert (await school.levels("s-100"))["attendance"] == "alert"
    signals = {s["student_id"]: s for s in await school.open_signals()}
    assert {k: s["level"] for k, s in signals.items()} == {
        "s-50": "warning",
        "s-99": "warning",
        "s-100": "alert",
    }
    assert signals["s-100"]["measures"] == {
        "absence_percent": 10.0,
        "absent_minutes": 100,
        "scheduled_minutes": 1000,
    }

    again = await school.csv("attendance", text)
    assert again["rows_imported"] == 5, "the same file again changes nothing"
    assert again["signals"] == {"students_assessed": 5, "raised": 0, "changed": 0, "cleared": 0}

    types = await school.outbox_types()
    assert not [t for t in types if t.startswith("RiskSignal")], "signals stay in the school"
    assert "RecordAccessed" in types, "reading a student's indicators is logged"


async def test_signals_change_level_and_clear_as_new_records_arrive(school):
    await school.csv("attendance", HEADER + attendance("s1", 1, 50) + attendance("s2", 2, 99))
    later = await school.csv(
        "attendance",
        HEADER
        + attendance("s1", 1, 0, scheduled=1200, day="2026-03-03")  # 50 of 2200: 2.3 %
        + attendance("s2", 2, 1, day="2026-03-03"),  # 100 of 2000: exactly 5 %, still warning
    )
    assert later["signals"] == {"students_assessed": 2, "raised": 0, "changed": 0, "cleared": 1}
    worse = await school.csv("attendance", HEADER + attendance("s2", 2, 200, day="2026-03-04"))
    assert worse["signals"]["changed"] == 1
    assert [(s["student_id"], s["level"]) for s in await school.open_signals()] == [("s2", "alert")]
    cleared = await school.open_signals(status="cleared")
    assert [(s["student_id"], s["cleared_at"] is not None) for s in cleared] == [("s1", True)]


async def test_course_performance_and_behaviour_at_each_threshold(school):
    def grade(student, n, course, mark, credits=100):
        return {
            "student_id": student,
            "subject": subject(n),
            "course_code": course,
            "grade": mark,
            "credits": credits,
            "graded_on": "2026-01-15",
        }

    grades = [
        grade("g0", 1, "MATMAT01a", "C"),
        grade("g1", 2, "MATMAT01a", "F", credits=50),  # one failing grade: warning
        *[grade("g3", 3, c, "F", credits=50) for c in ("MATMAT01a", "ENGENG05", "SVESVE01")],
        grade("p", 4, "MATMAT01a", "E"),  # E passes
        grade("c250", 5, "MATMAT01a", "-", credits=250),  # one course, but 250 points missing
        {**grade("g1", 2, "HISHIS01a", "A"), "grade": "G"},  # not a grade: position 8 refused
    ]
    report = await school.records("grades", grades)
    assert report["rows_imported"] == 7
    assert report["bad_rows"] == [
        {"line": 8, "reason": "grade: Input should be 'A', 'B', 'C', 'D', 'E', 'F' or '-'"}
    ]
    course = {
        s: (await school.levels(s))["course_performance"] for s in ("g0", "g1", "g3", "p", "c250")
    }
    assert course == {"g0": None, "g1": "warning", "g3": "alert", "p": None, "c250": "alert"}

    incidents = "student_id;subject;incident_id;day;kind\n" + "".join(
        f"{student};{subject(n)};{student}-{i};2026-02-{10 + i};disruption\n"
        for student, n, count in (("b1", 11, 1), ("b2", 12, 2), ("b4", 13, 4))
        for i in range(count)
    )
    assert (await school.csv("incidents", incidents))["rows_imported"] == 7
    behaviour = {s: (await school.levels(s))["behaviour"] for s in ("b1", "b2", "b4")}
    assert behaviour == {"b1": None, "b2": "warning", "b4": "alert"}


async def test_a_school_sets_its_own_thresholds_and_everyone_is_reassessed(school):
    await school.csv("attendance", HEADER + attendance("s1", 1, 30) + attendance("s2", 2, 60))
    assert [s["student_id"] for s in await school.open_signals()] == ["s2"]
    chosen = {"absence_percent": {"warning_at": 3, "alert_at": 6}}
    answer = await school.http.put(f"{BASE}/thresholds", json=chosen, headers=school.as_())
    assert answer.status_code == 200, answer.text
    assert answer.json()["signals"] == {
        "students_assessed": 2,
        "raised": 1,
        "changed": 1,
        "cleared": 0,
    }
    levels = {s["student_id"]: s["level"] for s in await school.open_signals()}
    assert levels == {"s1": "warning", "s2": "alert"}
    current = await school.http.get(f"{BASE}/thresholds", headers=school.as_())
    assert current.json()["absence_percent"] == {"warning_at": 3.0, "alert_at": 6.0}
    assert current.json()["incidents"] == {"warning_at": 2.0, "alert_at": 4.0}


async def test_a_case_manager_is_assigned_and_a_signal_becomes_a_referral(school):
    await school.csv("attendance", HEADER + attendance("s1", 1, 150))
    caseworker = school.as_(f"{SCHOOL}.caseworker")
    assigned = await school.http.put(
        f"{BASE}/students/s1/case-manager",
        json={"case_manager": "maria.samordnare"},
        headers=caseworker,
    )
    assert assigned.status_code == 200, assigned.text
    [signal] = await school.open_signals(case_manager="maria.samordnare")

    consent = await school.http.post(
        "/consents",
        headers=caseworker,
        json={
            "agency": SCHOOL,
            "subject": subject(1),
            "given_by": "subject",
            "method": "digital_signature",
            "recipients": ["ale.social"],
            "data_categories": ["attendance"],
            "valid_until": "2030-01-01T00:00:00Z",
        },
    )
    assert consent.status_code == 201, consent.text
    basis = {"kind": "consent", "consent_id": consent.json()["consent_id"]}

    path = f"{BASE}/signals/{signal['signal_id']}/referral"
    too_much = await school.http.post(
        path,
        headers=caseworker,
        json={
            "receiver": "ale.social",
            "legal_basis": basis,
            "data_categories": ["attendance", "grades"],
        },
    )
    assert too_much.status_code == 422, "the consent does not cover grades"
    referral = await school.http.post(
        path, headers=caseworker, json={"receiver": "ale.social", "legal_basis": basis}
    )
    assert referral.status_code == 201, referral.text
    made = referral.json()
    assert (made["sender"], made["receiver"], made["subject"]) == (SCHOOL, "ale.social", subject(1))
    assert (made["reason"], made["state"]) == ("absence", "requested")
    [linked] = await school.open_signals()
    assert linked["referral_id"] == made["referral_id"]
    assert "ReferralRequested" in await school.outbox_types()

    other = await school.http.post(
        path,
        headers=school.as_("ale.social.caseworker"),
        json={"receiver": "ale.social", "legal_basis": basis},
    )
    assert other.status_code == 403
    nobody = await school.http.get(f"{BASE}/signals")
    assert nobody.status_code == 401


async def test_a_large_file_is_imported_in_batches_as_it_streams(school):
    students = 2000

    async def export():
        yield HEADER.encode()
        for day in range(1, 11):
            yield "".join(
                attendance(
                    f"s{n}",
                    n + 1,
                    60 if n % 10 == 0 else 0,
                    scheduled=600,
                    day=f"2026-02-{day:02d}",
                )
                for n in range(students)
            ).encode()

    answer = await school.http.post(
        f"{BASE}/imports/attendance",
        content=export(),
        headers={**school.as_(), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows_read"], report["rows_imported"], report["rows_rejected"]) == (
        20_000,
        20_000,
        0,
    )
    assert report["signals"] == {
        "students_assessed": students,
        "raised": students // 10,
        "changed": 0,
        "cleared": 0,
    }


async def test_an_upload_that_breaks_off_keeps_and_assesses_what_arrived(school):
    desk = provided_in(school.app, EarlyWarningDesk)

    async def broken_upload():
        yield HEADER.encode()
        yield "".join(attendance(f"s{n}", n + 1, 100) for n in range(600)).encode()
        raise ConnectionError("the admin system went away")

    rows = read_csv(broken_upload(), AttendanceRecord, desk.today())
    with pytest.raises(ConnectionError):
        await desk.import_rows(provided_in(school.app, asyncpg.Pool), SCHOOL, "attendance", rows)
    # The first batch of 500 was committed: its students have their signals.
    assert len(await school.open_signals(limit="500")) == 500


async def test_a_file_with_a_header_that_does_not_fit_is_refused_whole(school):
    refused = await school.csv("attendance", "student_id,personnummer,day\n1,2,3\n", status=422)
    assert refused == {
        "error": "bad_header",
        "detail": "unexpected columns: personnummer",
    }
