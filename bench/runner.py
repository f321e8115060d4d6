"""One benchmark run: the phases in order on one stack, and the results they add up to."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench import audit, handoffs, throughput
from bench.deployment import Deployment, database_work
from bench.footprint import Footprint
from bench.report import targets
from contracts import utc_now
from deploy.stack import Stack


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do."""

    mode: str = "full"
    rates: tuple[float, ...] = (50.0, 100.0, 200.0)
    seconds_per_rate: float = 60.0
    throughput_events: int = 20_000
    audit_entries: int = 1_000_000
    chain_queries: int = 1_000
    # Before anything is timed, referrals at a moderate rate for a while: the broker's JIT
    # compiler alone takes a third of a core for the first minute after a start, and a
    # deployment is measured as it runs, not as it starts.
    warm_up: int = 1_500
    warm_up_rate: float = 50.0

    def referrals(self, rate: float) -> int:
        """How many referrals the step at `rate` sends."""
        return int(rate * self.seconds_per_rate)


FULL = Plan()
QUICK = Plan(
    mode="quick",
    seconds_per_rate=5.0,
    warm_up=500,
    throughput_events=3_000,
    audit_entries=100_000,
    chain_queries=300,
)


async def run(stack: Stack, plan: Plan, workdir: Path, say: Any = print) -> dict[str, Any]:
    """Every phase of `plan` against services started on `stack`; the results."""
    deployment = await Deployment.create(stack, workdir)
    footprint = Footprint()
    latency: dict[str, dict[str, object]] = {}
    try:
        say("starting the services")
        deployment.start()
        wanted = plan.warm_up + sum(plan.referrals(rate) for rate in plan.rates)
        say(f"recording {wanted} consents")
        subjects = await handoffs.record_consents(deployment, wanted)
        await deployment.settle()
        say(f"warming up: {plan.warm_up} referrals at {plan.warm_up_rate:g}/s")
        await handoffs.measure_rate(
            deployment,
            subjects[: plan.warm_up],
            plan.warm_up_rate,
            plan.warm_up / plan.warm_up_rate,
        )
        subjects = subjects[plan.warm_up :]
        await deployment.settle()
        for rate in plan.rates:
            say(f"handoffs at {rate:g}/s for {plan.seconds_per_rate:g} s")
            count = plan.referrals(rate)
            before = await database_work(stack, deployment.databases())
            with footprint.watching(
                f"handoffs@{rate:g}", deployment.pids, deployment.infrastructure
            ):
                step = await handoffs.measure_rate(
                    deployment, subjects[:count], rate, plan.seconds_per_rate
                )
            await deployment.settle()
            after = await database_work(stack, deployment.databases())
            subjects = subjects[count:]
            latency[f"{rate:g}"] = {
                **step.to_json(),
                # Everything each referral caused, in every service, until all had settled.
                **{
                    f"{name}_per_referral": round((after[name] - before[name]) / count, 1)
                    for name in after
                },
            }
        say(f"throughput on {plan.throughput_events} events")
        with footprint.watching("throughput", deployment.pids, deployment.infrastructure):
            rates = await throughput.measure(deployment, plan.throughput_events)
        say(f"audit log with {plan.audit_entries:,} entries")
        with footprint.watching("audit", deployment.pids, deployment.infrastructure):
            logged = await audit.measure(deployment, plan.audit_entries, plan.chain_queries)
    finally:
        deployment.stop()
    results: dict[str, Any] = {
        "mode": plan.mode,
        "finished_at": utc_now().isoformat(timespec="seconds"),
        "plan": asdict(plan),
        **machine(),
        "handoff_latency_ms": latency,
        "throughput_events": rates.events,
        "service_events_per_s": round(rates.service_per_s, 1),
        "raw_events_per_s": round(rates.raw_per_s, 1),
        "ratio": round(rates.ratio, 3),
        **logged.to_json(),
        "rss_mb": footprint.rss_mb,
        "cpu_percent": footprint.cpu_percent,
        "machine_percent": footprint.machine_percent,
    }
    results["targets"] = targets(results)
    return results


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "setting": "one machine, everything on loopback: the load generator, Kafka,"
        " PostgreSQL (fsync on) and every service process share its CPUs",
    }


def cpu_model() -> str:
    """The CPU's model name, as the kernel reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
