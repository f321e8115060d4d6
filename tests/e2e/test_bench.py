"""The benchmark runner at a tiny size on the session's stack: every phase runs against the
services as OS processes, and results.json carries every figure, positive and finite. How fast
anything was is for `make bench` to report; nothing here asserts a time."""

import json
import math

import pytest

from bench import report
from bench.runner import Plan, run
from deploy.services import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.bench]

TINY = Plan(
    mode="tiny",
    rates=(10.0,),
    seconds_per_rate=1.0,
    throughput_events=100,
    audit_entries=2_000,
    chain_queries=10,
    warm_up=5,
)


def positive(value):
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


async def test_tiny_run_writes_every_figure(stack, tmp_path):
    results = await run(stack, TINY, tmp_path / "services", say=lambda _: None)
    written = report.write(results, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "results.json").read_text())

    step = data["handoff_latency_ms"]["10"]
    assert all(positive(step[q]) for q in ("p50", "p95", "p99"))
    assert step["created"] == step["delivered"] == 10, "every referral reached the caseworker"
    for key in ("service_events_per_s", "raw_events_per_s", "ratio", "audit_verify_per_s"):
        assert positive(data[key]), key
    assert data["throughput_events"] == 100
    assert data["audit_entries"] == 2_000
    assert data["audit_verify_ok"] is True, "the loaded log verifies against its signed head"
    assert data["audit_verify_checked"] >= 2_000
    assert all(positive(data["audit_query_ms"][q]) for q in ("p50", "p99"))
    assert set(SERVICES) <= set(data["rss_mb"])
    assert all(positive(mb) for mb in data["rss_mb"].values())
    assert data["cpu_count"] >= 1 and data["cpu_model"]
    assert set(data["targets"]) == {name for name, _, _ in report.TARGETS}
    assert "handoff latency" in report.table(data)
    assert len(written) in (1, 2) and all(path.stat().st_size > 0 for path in written)
