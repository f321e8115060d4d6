"""The streaming CSV intake: good rows kept, each bad row reported by line with the reason."""

from datetime import date

import pytest

from services.school.early_warning.domain import AttendanceRecord, GradeRecord, IncidentRecord
from services.school.early_warning.intake import (
    BadRow,
    GoodRow,
    HeaderRefused,
    read_csv,
    validate_records,
)

pytestmark = [pytest.mark.unit, pytest.mark.reporting]

TODAY = date(2026, 3, 2)
S1, S2 = "1" * 64, "2" * 64


async def chunks_of(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def rows(data: bytes, model=AttendanceRecord, size=7, **options):
    return [r async for r in read_csv(chunks_of(data, size), model, TODAY, **options)]


ATTENDANCE = (
    "student_id,subject,day,scheduled_minutes,absent_minutes\n"
    f"s1,{S1},2026-03-02,300,30\n"
    f"s2,{S2},2026-03-02,300,0\n"
).encode()


async def test_every_row_is_read_whatever_the_chunk_boundaries():
    expected = await rows(ATTENDANCE, size=len(ATTENDANCE))
    assert [r.record.student_id for r in expected if isinstance(r, GoodRow)] == ["s1", "s2"]
    assert [r.line for r in expected] == [2, 3]
    for size in (1, 2, 5, 64):
        assert await rows(ATTENDANCE, size=size) == expected


async def test_bad_rows_are_reported_by_line_with_the_reason_and_good_rows_kept():
    data = (
        b"student_id,subject,day,scheduled_minutes,absent_minutes\r\n"
        + f"s1,{S1},2026-03-02,300,30\r\n".encode()
        + b"s2,not-a-subject,2026-03-02,300,0\r\n"
        + f"s3,{S2},2026-02-30,300,0\r\n".encode()
        + f"s4,{S2},2026-03-01,300\r\n".encode()
        + b"\r\n"
        + f"s5,{S2},2026-03-01,300,301\r\n".encode()
        + f"s6,{S2},2026-03-09,300,0\r\n".encode()
        + b"s7,\xff\xfe,2026-03-01,300,0\r\n"
        + f's8,"{S2},2026-03-01,300,0\r\n'.encode()
        + f"s9,{S2},2026-03-01,,0\r\n".encode()
        + f"s10,{S2},2026-03-01,300,0".encode()  # no newline at the end
    )
    found = await rows(data)
    good = [(r.line, r.record.student_id) for r in found if isinstance(r, GoodRow)]
    bad = {r.line: r.reason for r in found if isinstance(r, BadRow)}
    assert good == [(2, "s1"), (12, "s10")]
    assert bad[3].startswith("subject: String should match pattern")
    assert bad[4].startswith("day: Input should be a valid date")
    assert bad[5] == "expected 5 fields, found 4"
    assert 6 not in bad and 6 not in dict(good), "blank lines are skipped"
    assert bad[7] == "absent_minutes is more than scheduled_minutes"
    assert bad[8] == "day: date is in the future"
    assert bad[9] == "the line is not UTF-8"
    assert bad[10] == "not CSV: unexpected end of data"
    assert bad[11] == "scheduled_minutes: Field required"
    assert sorted(bad) == [3, 4, 5, 7, 8, 9, 10, 11]


async def test_reasons_never_repeat_the_values_of_a_row():
    data = ATTENDANCE.splitlines()[0] + b"\ns1,19900101-1234,2026-03-02,300,30\n"
    [bad] = await rows(data)
    assert isinstance(bad, BadRow)
    assert "19900101" not in bad.reason


async def test_a_line_longer_than_the_limit_is_skipped_not_kept():
    long_line = b"s1," + b"x" * 5000 + b",2026-03-02,300,30\n"
    data = ATTENDANCE + long_line + f"s3,{S1},2026-03-01,300,0\n".encode()
    found = await rows(data, size=100, max_line_bytes=1000)
    assert found[2] == BadRow(4, "the line is longer than 1000 bytes")
    assert isinstance(found[3], GoodRow) and found[3].line == 5


async def test_semicolons_a_byte_order_mark_and_any_column_order_are_understood():
    data = (
        "\ufeffSubject;student_id;absent_minutes;day;scheduled_minutes\n"
        f"{S1};s1;12;2026-03-02;240\n"
    ).encode()
    [row] = await rows(data)
    assert isinstance(row, GoodRow)
    assert row.record.model_dump(mode="json") == {
        "student_id": "s1",
        "subject": S1,
        "day": "2026-03-02",
        "scheduled_minutes": 240,
        "absent_minutes": 12,
    }


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"student_id,subject,day,scheduled_minutes\n", "missing columns: absent_minutes"),
        (
            b"student_id,subject,personnummer,day,scheduled_minutes,absent_minutes\n",
            "unexpected columns: personnummer",
        ),
        (b"student_id,student_id,subject,day,scheduled_minutes,absent_minutes\n", "twice"),
    ],
)
async def test_a_header_that_does_not_fit_refuses_the_whole_file(header, message):
    with pytest.raises(HeaderRefused, match=message):
        await rows(header + f"s1,{S1},2026-03-02,300,30\n".encode())


async def test_an_empty_file_or_one_without_a_header_is_refused_without_echoing_it():
    with pytest.raises(HeaderRefused, match="the file is empty"):
        await rows(b"\n\n")
    with pytest.raises(HeaderRefused) as refused:
        await rows(f"s1,{S1},2026-03-02,300,30\n".encode())
    assert S1 not in str(refused.value) and "header" in str(refused.value)


async def test_rows_come_out_while_the_file_is_still_arriving():
    consumed = []

    async def slow_file():
        yield ATTENDANCE
        consumed.append("first")
        for _ in range(1000):
            yield f"s9,{S1},2026-03-01,300,0\n".encode()
            consumed.append("more")

    stream = read_csv(slow_file(), AttendanceRecord, TODAY)
    first = await anext(stream)
    assert isinstance(first, GoodRow) and first.line == 2
    assert consumed == [], "the first row came out before the rest of the file was read"
    await stream.aclose()


def test_json_records_are_validated_one_by_one_and_numbered_from_one():
    records = [
        {
            "student_id": "s1",
            "subject": S1,
            "course_code": "MATMAT01a",
            "grade": "F",
            "credits": 100,
            "graded_on": "2026-01-10",
        },
        {
            "student_id": "s1",
            "subject": S1,
            "course_code": "ENGENG05",
            "grade": "Q",
            "credits": 100,
            "graded_on": "2026-01-10",
        },
    ]
    found = list(validate_records(records, GradeRecord, TODAY))
    assert isinstance(found[0], GoodRow) and found[0].line == 1
    assert isinstance(found[1], BadRow) and found[1].line == 2
    assert found[1].reason.startswith("grade: Input should be")


async def test_incidents_need_a_known_kind():
    data = (
        "student_id,subject,incident_id,day,kind\n"
        f"s1,{S1},inc-1,2026-03-01,disruption\n"
        f"s1,{S1},inc-2,2026-03-01,swearing\n"
    ).encode()
    good, bad = await rows(data, model=IncidentRecord)
    assert isinstance(good, GoodRow) and isinstance(bad, BadRow)
    assert bad.reason.startswith("kind: Input should be")
