"""The ESF CSV and the charts show exactly the published cells: ".." where one is hidden."""

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.codes import AgeBand, Gender, HandoffKind, Outcome
from services.reporting.charts import Series, bar_chart
from services.reporting.domain import (
    LoopEvent,
    Participant,
    Referral,
    loop_months,
    participant_months,
)
from services.reporting.export import esf_csv, loop_chart, outcomes_chart, participants_chart

pytestmark = [pytest.mark.unit, pytest.mark.reporting]

SVG = "{http://www.w3.org/2000/svg}"


def january():
    people = [
        *[
            Participant(
                Gender.WOMAN,
                AgeBand.AGE_15_17,
                "1440",
                date(2025, 1, 5),
                date(2025, 1, 25),
                Outcome.IN_WORK,
            )
            for _ in range(9)
        ],
        *[Participant(Gender.MAN, AgeBand.AGE_18_19, "1480", date(2025, 1, 6)) for _ in range(3)],
    ]
    return participant_months(people, ["2025-01"], ["1440", "1480"], 5)


def test_the_esf_csv_has_one_row_per_published_count():
    rows = list(csv.DictReader(io.StringIO(esf_csv(january())), delimiter=";"))
    started = {
        (r["breakdown"], r["category"]): r["count"] for r in rows if r["section"] == "started"
    }
    assert started[("total", "all")] == "12"
    assert started[("gender", "woman")] == ".."
    assert started[("gender", "man")] == ".."
    assert started[("gender", "other_or_unknown")] == "0"
    assert started[("municipality", "1440")] == ".."
    exit_rows = [r for r in rows if r["section"] == "outcome_at_exit"]
    assert {r["exit_month"] for r in exit_rows} == {"2025-01"}
    assert {r["category"]: r["count"] for r in exit_rows}["in_work"] == "9"
    follow_up = [r for r in rows if r["section"] == "outcome_after_6_months"]
    assert {r["exit_month"] for r in follow_up} == {"2024-07"}
    assert {r["month"] for r in rows} == {"2025-01"}
    assert list(rows[0]) == ["month", "section", "exit_month", "breakdown", "category", "count"]


def texts(svg):
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_charts_are_svg_with_suppressed_values_drawn_as_dots():
    labels = texts(participants_chart(january(), 5))
    assert "Participants started per month, by gender" in labels
    assert labels.count("..") == 2, "women and men are hidden: a bar would give them away"
    assert "9" not in labels and "3" not in labels
    outcome_labels = texts(outcomes_chart(january(), 5))
    assert "9" in outcome_labels


def test_a_chart_scales_to_its_largest_value_and_escapes_text():
    svg = bar_chart("A & B", ["<x>"], [Series("n", (43.0,)), Series("m", (None,))], "people", "")
    labels = texts(svg)
    assert "A & B" in labels and "<x>" in labels
    assert "43" in labels and ".." in labels
    assert "50" in labels, "the axis ends at a round number above the largest value"


def test_the_loop_chart_picks_a_unit_for_its_durations():
    t0 = datetime(2025, 3, 3, tzinfo=UTC)
    referrals = [
        Referral(
            HandoffKind.REFERRAL,
            f"s{i}",
            "consent",
            t0,
            (LoopEvent("ReferralAccepted", t0 + timedelta(hours=5 + i)),),
        )
        for i in range(5)
    ]
    [march] = loop_months(
        referrals,
        ["2025-03"],
        t0 + timedelta(days=2),
        timedelta(days=14),
        ZoneInfo("Europe/Stockholm"),
        5,
    )
    labels = texts(loop_chart(march, 5))
    assert "hours" in labels
    assert "7" in labels and "9" in labels  # median and 90th percentile to decide
    assert labels.count("..") == 6, "acknowledge, first contact and close: fewer than 5"
