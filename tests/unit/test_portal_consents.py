"""The consent page's reading of a consent: in force, withdrawn, expired or not yet valid;
and a consent valid "until" a date covers that whole date in Swedish time."""

from datetime import UTC, date, datetime

import pytest

from services.portal.views.consents import end_of_day, standing

pytestmark = [pytest.mark.unit, pytest.mark.lawful]

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def consent(valid_from: str, valid_until: str, withdrawn_at: str | None = None) -> dict:
    return {"valid_from": valid_from, "valid_until": valid_until, "withdrawn_at": withdrawn_at}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (consent("2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"), "in_force"),
        (
            consent("2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", "2026-05-01T00:00Z"),
            "withdrawn",
        ),
        (consent("2025-01-01T00:00:00+00:00", "2026-06-01T12:00:00+00:00"), "expired"),
        (consent("2026-06-02T00:00:00+00:00", "2027-01-01T00:00:00+00:00"), "pending"),
    ],
)
def test_standing(given, expected):
    assert standing(given, NOW) == expected


def test_valid_until_a_date_covers_the_whole_date_in_sweden():
    summer = datetime.fromisoformat(end_of_day(date(2027, 6, 30)))
    assert summer.astimezone(UTC) > datetime(2027, 6, 30, 21, 59, tzinfo=UTC)
    assert summer.astimezone(UTC) < datetime(2027, 6, 30, 22, 0, tzinfo=UTC)
    winter = datetime.fromisoformat(end_of_day(date(2027, 1, 31)))
    assert winter.astimezone(UTC).hour == 22 and winter.astimezone(UTC).minute == 59
