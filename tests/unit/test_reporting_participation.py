"""The rules of ESF participation at the employment service, without I/O."""

import uuid
from datetime import date

import pytest

from contracts.codes import AgeBand, Gender, Outcome
from services.employment.participation import (
    Participation,
    ParticipationRefused,
    check_exit,
    check_follow_up,
    check_start,
    months_later,
    reported_municipality,
)

pytestmark = [pytest.mark.unit, pytest.mark.reporting]

TODAY = date(2026, 11, 23)


def participation(**changes):
    fields = dict(
        participation_id=uuid.uuid4(),
        agency="ale.kaa",
        subject="a" * 64,
        gender=Gender.WOMAN,
        age_band=AgeBand.AGE_18_19,
        municipality="1440",
        started_on=date(2026, 1, 10),
        last_event_id=uuid.uuid4(),
    )
    return Participation(**{**fields, **changes})


def refused(check, *args):
    with pytest.raises(ParticipationRefused) as caught:
        check(*args)
    return caught.value.code


def test_months_later_stays_in_the_target_month():
    assert months_later(date(2025, 3, 15), 6) == date(2025, 9, 15)
    assert months_later(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert months_later(date(2025, 12, 1), 1) == date(2026, 1, 1)


def test_a_start_or_an_exit_cannot_be_in_the_future_or_out_of_order():
    assert refused(check_start, date(2026, 11, 24), TODAY) == "invalid_date"
    check_start(TODAY, TODAY)
    assert refused(check_exit, participation(), date(2026, 11, 24), TODAY) == "invalid_date"
    assert refused(check_exit, participation(), date(2026, 1, 9), TODAY) == "invalid_date"
    left = participation(exited_on=date(2026, 3, 1), exit_outcome=Outcome.IN_WORK)
    assert refused(check_exit, left, date(2026, 4, 1), TODAY) == "already_exited"
    check_exit(participation(), date(2026, 1, 10), TODAY)


def test_a_follow_up_comes_once_after_the_exit_when_its_time_has_come():
    assert refused(check_follow_up, participation(), 6, TODAY) == "not_exited"
    left = participation(exited_on=date(2026, 5, 24), exit_outcome=Outcome.IN_WORK)
    assert refused(check_follow_up, left, 6, TODAY) == "too_early"
    check_follow_up(left, 6, date(2026, 11, 24))
    followed = participation(exited_on=date(2026, 5, 1), follow_ups=((6, Outcome.NONE),))
    assert refused(check_follow_up, followed, 6, TODAY) == "already_followed_up"
    check_follow_up(followed, 3, TODAY)


def test_a_protected_identity_reports_the_agencys_municipality_not_the_home():
    assert reported_municipality("1480", "1440", protected_identity=False) == "1480"
    assert reported_municipality("1480", "1440", protected_identity=True) == "1440"
