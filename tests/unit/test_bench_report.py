"""How benchmark results are summarised and read against their targets."""

import math

import pytest

from bench.report import targets
from bench.stats import percentile, summary

pytestmark = [pytest.mark.unit, pytest.mark.bench]


def test_percentiles_interpolate_between_closest_ranks():
    samples = [float(n) for n in range(1, 101)]  # 1 .. 100
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert summary([]) == {"p50": None, "p95": None, "p99": None, "max": None}


def results(p99_at_100=80.0, events=3500.0, ratio=0.3, query_p99=12.0, verify=250_000, rss=90.0):
    return {
        "handoff_latency_ms": {"50": {"p99": 10.0}, "100": {"p99": p99_at_100}},
        "service_events_per_s": events,
        "ratio": ratio,
        "audit_query_ms": {"p50": 3.0, "p99": query_p99},
        "audit_verify_per_s": verify,
        "rss_mb": {"school": 80.0, "audit": rss},
    }


def test_each_target_is_met_or_missed_by_its_bound():
    met = {name: t["met"] for name, t in targets(results()).items()}
    assert met == {
        "handoff_p99_at_100": True,
        "service_events_per_s": True,
        "ratio": True,
        "audit_query_p99": False,
        "audit_verify_per_s": True,
        "rss_mb_max": True,
    }
    missed = targets(results(p99_at_100=101.0, events=2999.0, ratio=0.2, rss=151.0))
    assert [name for name, t in missed.items() if t["met"]] == ["audit_verify_per_s"]


def test_a_rate_not_measured_is_not_judged():
    data = results()
    del data["handoff_latency_ms"]["100"]
    assert targets(data)["handoff_p99_at_100"] == {
        "target": "handoff p99 at 100 referrals/s <= 100 ms",
        "measured": None,
        "met": None,
    }
