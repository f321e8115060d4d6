"""The results of a run: the targets they are read against, a table, results.json and a chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# (name, what it says, rule): the rule is `le:` (at most) or `ge:` (at least) a bound.
TARGETS: list[tuple[str, str, str]] = [
    ("handoff_p99_at_100", "handoff p99 at 100 referrals/s <= 100 ms", "le:100"),
    ("service_events_per_s", ">= 3,000 events/s per service process", "ge:3000"),
    ("ratio", ">= 25 % of the raw client's rate", "ge:0.25"),
    ("audit_query_p99", "audit chain query p99 <= 10 ms", "le:10"),
    ("audit_verify_per_s", "verification >= 200,000 entries/s", "ge:200000"),
    ("rss_mb_max", "<= 150 MB RSS per service", "le:150"),
]


def _measured(results: dict[str, Any], name: str) -> float | None:
    if name == "handoff_p99_at_100":
        value = results["handoff_latency_ms"].get("100", {}).get("p99")
    elif name == "audit_query_p99":
        value = results["audit_query_ms"]["p99"]
    elif name == "rss_mb_max":
        value = max(results["rss_mb"].values(), default=None)
    else:
        value = results[name]
    return None if value is None else float(value)


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target with the measured value and whether it was met (reported, not asserted)."""
    found: dict[str, dict[str, Any]] = {}
    for name, text, rule in TARGETS:
        value = _measured(results, name)
        op, bound = rule.split(":")
        met = None
        if value is not None and math.isfinite(value):
            met = value <= float(bound) if op == "le" else value >= float(bound)
        found[name] = {"target": text, "measured": value, "met": met}
    return found


def table(results: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    lines = [
        f"Samverkan benchmark ({results['mode']}) on {results['cpu_count']} x "
        f"{results['cpu_model']}; load generator, broker, database and services share them.",
        "",
        "handoff latency, school 201 -> social caseworker SSE (ms)",
        f"  {'offered/s':>9} {'sent/s':>8} {'201/s':>8} {'p50':>8} {'p95':>8} {'p99':>8}"
        f" {'max':>8} {'lost':>5} {'refused':>7} {'failed':>6} {'xacts/ref':>9}"
        f" {'fsyncs/ref':>10}",
    ]
    for rate, step in results["handoff_latency_ms"].items():
        lines.append(
            f"  {rate:>9} {step['sent_per_s']:>8} {step['created_per_s']:>8} {step['p50']:>8}"
            f" {step['p95']:>8} {step['p99']:>8} {step['max']:>8} {step['lost']:>5}"
            f" {step['refused']:>7} {step['failed']:>6} {step.get('commits_per_referral', '')!s:>9}"
            f" {step.get('wal_syncs_per_referral', '')!s:>10}"
        )
    lines += [
        "",
        f"throughput ({results['throughput_events']} events): service"
        f" {results['service_events_per_s']:.0f} events/s, raw aiokafka"
        f" {results['raw_events_per_s']:.0f} events/s, ratio {results['ratio']:.2f}",
        "",
        f"audit ({results['audit_entries']:,} entries): chain query p50"
        f" {results['audit_query_ms']['p50']} ms, p99 {results['audit_query_ms']['p99']} ms;"
        f" verify {results['audit_verify_per_s']:,} entries/s"
        f" ({'ok' if results['audit_verify_ok'] else 'FAILED'}); loaded at"
        f" {results['audit_load_per_s']:,} entries/s",
        "",
        "peak RSS (MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in results["rss_mb"].items()),
        "machine busy, % of all CPUs (benchmarked processes / anything else): "
        + ", ".join(
            f"{phase} {m['benchmarked']}/{m['other']}"
            for phase, m in results["machine_percent"].items()
        ),
        "",
        "targets (reported, not asserted):",
    ]
    for target in results["targets"].values():
        mark = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        lines.append(f"  {mark:>6}  {target['target']} (measured {target['measured']})")
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> list[Path]:
    """results.json and, where matplotlib is installed, results.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json"]
    written[0].write_text(json.dumps(results, indent=2) + "\n")
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no chart")
        return written
    matplotlib.use("Agg")
    written.append(_chart(results, out / "results.png"))
    return written


def _chart(results: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, ((latency, rates), (memory, audit)) = plt.subplots(2, 2, figsize=(12, 8))
    figure.suptitle(
        f"Samverkan benchmark ({results['mode']}), {results['cpu_count']} x"
        f" {results['cpu_model']}, everything on loopback"
    )
    steps = results["handoff_latency_ms"]
    names = list(steps)
    width = 0.25
    for i, quantile in enumerate(("p50", "p95", "p99")):
        latency.bar(
            [x + (i - 1) * width for x in range(len(names))],
            [steps[n][quantile] or 0 for n in names],
            width,
            label=quantile,
        )
    latency.axhline(100, color="red", linestyle="--", linewidth=1, label="p99 target")
    latency.set_xticks(range(len(names)), [f"{n}/s" for n in names])
    latency.set(title="handoff latency: 201 to caseworker SSE", ylabel="ms")
    latency.legend()

    rates.bar(
        ["service", "raw aiokafka"],
        [results["service_events_per_s"], results["raw_events_per_s"]],
        color=["tab:blue", "tab:gray"],
    )
    rates.axhline(3000, color="red", linestyle="--", linewidth=1, label="service target")
    rates.set(title=f"throughput (ratio {results['ratio']:.2f})", ylabel="events/s")
    rates.legend()

    services = list(results["rss_mb"])
    memory.barh(services, [results["rss_mb"][s] for s in services])
    memory.axvline(150, color="red", linestyle="--", linewidth=1, label="target")
    memory.set(title="peak RSS under load", xlabel="MB")
    memory.legend()

    query = results["audit_query_ms"]
    audit.bar(["p50", "p95", "p99"], [query[q] or 0 for q in ("p50", "p95", "p99")])
    audit.axhline(10, color="red", linestyle="--", linewidth=1, label="p99 target")
    audit.set(
        title=f"audit chain query at {results['audit_entries']:,} entries;"
        f" verify {results['audit_verify_per_s']:,}/s",
        ylabel="ms",
    )
    audit.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
