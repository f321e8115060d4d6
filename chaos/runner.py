"""One chaos run from start to summary.

1. Every service is started on the stack; the load runs while faults are injected.
2. Once the load and the faults are over, the run waits until the deployment is quiet, and
   the checker compares every database with the ledger.
3. Bad input is published onto the event topics and judged from the dead-letter topic.
4. The dead-letter tools recover a referral whose consent had not arrived.
5. Every HTTP API is fuzzed from its OpenAPI document.
6. A control run on fresh services, with the inbox check switched off and the same kinds of
   faults, must show duplicates: proof that the faults bite.
"""

import asyncio
import logging
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.badinput import BadInputReport, dead_letters, judge, publish, row_counts
from chaos.checker import Findings, check, take_snapshot, verify_audit_log
from chaos.deployment import Deployment, deploy
from chaos.faults import CRASH_POINT, FaultInjector, FaultPlan
from chaos.fuzz import FuzzReport, fuzz
from chaos.ledger import Ledger
from chaos.load import Load
from chaos.quiet import wait_until_quiet
from chaos.recovery import RecoveryReport, recover
from deploy.services import ServiceProcess
from deploy.stack import Stack

log = logging.getLogger(__name__)
SESSION_TIMEOUT_S = 6.0
#: The control run: the inbox check off. A redelivered event the audit log already holds then
#: fails on its unique key until it is dead-lettered; few quick retries keep that short.
CONTROL_ENV = {
    "SAMVERKAN_UNSAFE_SKIP_INBOX_CHECK_FOR_CONTROL_RUN": "true",
    "SAMVERKAN_KAFKA_MAX_ATTEMPTS": "2",
    "SAMVERKAN_KAFKA_RETRY_BACKOFF_S": "0.05",
}
#: Its faults: kills at crash points, where a redelivery or a second publication is certain.
CONTROL_PLAN = FaultPlan(
    kill_every_s=(3.0, 5.0), crash_point_every=1, at_least_once=(CRASH_POINT,), once_at={}
)
MAX_EVENT_BYTES = 65_536


@dataclass(frozen=True)
class Variant:
    """How big a run is."""

    name: str
    referrals: int
    rate_per_s: float
    concurrency: int
    bad_messages: int
    fuzz_examples: int
    control_referrals: int
    quiet_timeout_s: float


FULL = Variant("full", 10_000, 6.0, 200, 10_000, 50, 400, 900.0)
SMALL = Variant("small", 500, 6.0, 100, 1_000, 4, 150, 240.0)


@dataclass
class LoadRun:
    """A load under faults, and what the checker found after it."""

    ledger: Ledger
    injector: FaultInjector
    findings: Findings
    load_s: float
    quiet_s: float
    audit_verified: bool


async def run_under_faults(
    deployment: Deployment,
    referrals: int,
    variant: Variant,
    rng: random.Random,
    plan: FaultPlan | None = None,
) -> tuple[LoadRun, Load]:
    """Drive `referrals` handoffs through the deployment while faults are injected, wait
    until it is quiet and check it. The load's clients stay open for the caller to close."""
    ledger = Ledger()
    load = Load(deployment, ledger, rng)
    await load.start()
    injector = FaultInjector(deployment, rng, load.probe, SESSION_TIMEOUT_S, plan)
    done = asyncio.Event()
    faults = asyncio.create_task(injector.run(lambda: load.planned / referrals, done))
    began = time.monotonic()
    progress = asyncio.create_task(_report_progress(load, referrals))
    try:
        await load.run(referrals, variant.rate_per_s, variant.concurrency)
    finally:
        done.set()
        await faults
        progress.cancel()
    load_s = time.monotonic() - began
    log.info("load done in %.0fs; faults %s", load_s, dict(injector.counts()))
    quiet_s = await wait_until_quiet(deployment, variant.quiet_timeout_s)
    findings = check(ledger, await take_snapshot(deployment))
    verified = await verify_audit_log(deployment)
    return LoadRun(ledger, injector, findings, load_s, quiet_s, verified), load


async def _report_progress(load: Load, referrals: int) -> None:
    while True:
        await asyncio.sleep(15)
        ledger = load.ledger
        log.info(
            "load: %d of %d handoffs started, %d opened; %d calls unanswered at first",
            load.planned, referrals, len(ledger.handoffs), ledger.indeterminate,
        )  # fmt: skip


async def bad_input(
    deployment: Deployment, load: Load, variant: Variant, rng: random.Random
) -> BadInputReport:
    """Publish bad messages, wait until every consumer is past them, and judge."""
    await wait_until_quiet(deployment, variant.quiet_timeout_s)
    before = await row_counts(deployment)
    client = deployment.stack.kafka.client_config()
    landed = await publish(client, deployment.prefix, variant.bad_messages, rng, MAX_EVENT_BYTES)
    await wait_until_quiet(deployment, variant.quiet_timeout_s)
    report = judge(landed, await dead_letters(deployment), deployment.prefix)
    after = await row_counts(deployment)
    report.effects = {t: after[t] - before[t] for t in before if after[t] != before[t]}
    down = [name for name, p in deployment.services.items() if not _alive(p)]
    report.problems += [f"{name} is down after the bad input" for name in down]
    # The consumers still work: a new report of concern goes round the loop.
    await load.probe()
    return report


def _alive(process: ServiceProcess) -> bool:
    return process.process is not None and process.process.poll() is None


async def run(stack: Stack, variant: Variant, workdir: Path, seed: int) -> dict[str, Any]:
    """Every phase of a chaos run on `stack`; the summary."""
    rng = random.Random(seed)
    lap = Laps()
    for leftover in ("run", "control"):
        shutil.rmtree(workdir / leftover, ignore_errors=True)
    deployment = deploy(stack, workdir / "run")
    lap("deploy")
    try:
        main, load = await run_under_faults(deployment, variant.referrals, variant, rng)
        lap("load_and_check")
        try:
            bad = await bad_input(deployment, load, variant, rng)
        finally:
            await load.close()
        lap("bad_input")
        recovered = await recover(deployment, variant.quiet_timeout_s)
        lap("recovery_tools")
        fuzzed = await asyncio.to_thread(fuzz, deployment, variant.fuzz_examples)
        lap("fuzz")
    finally:
        deployment.stop()
    control_deployment = deploy(stack, workdir / "control", CONTROL_ENV)
    try:
        control, control_load = await run_under_faults(
            control_deployment, variant.control_referrals, variant, rng, CONTROL_PLAN
        )
        await control_load.close()
    finally:
        control_deployment.stop()
    lap("control")
    summary = summarize(variant, seed, main, bad, recovered, fuzzed, control)
    summary["details"]["phases_s"] = lap.seconds
    return summary


class Laps:
    """Seconds each phase took, in order."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def __call__(self, phase: str) -> None:
        """`phase` is over."""
        now = time.monotonic()
        self.seconds[phase] = round(now - self._since, 1)
        self._since = now


def summarize(
    variant: Variant,
    seed: int,
    main: LoadRun,
    bad: BadInputReport,
    recovered: RecoveryReport,
    fuzzed: FuzzReport,
    control: LoadRun,
) -> dict[str, Any]:
    """The summary: the keys the issue asks for first, then the details behind them."""
    found = main.findings
    recoveries = [f.recovered_s for f in main.injector.faults]
    known = [r for r in recoveries if r is not None]
    return {
        "referrals": sum(h.flow != "probe" for h in main.ledger.handoffs.values()),
        "faults": dict(sorted(main.injector.counts().items())),
        "lost": len(found.lost_referrals),
        "duplicated": len(found.duplicated),
        "backwards": len(found.backwards),
        "dead_lettered": bad.dead_lettered,
        "audit_verified": main.audit_verified and found.audit_missing == 0,
        "control_duplicates": len(control.findings.duplicated),
        "recovery_s": round(max(known), 1) if known and len(known) == len(recoveries) else None,
        "details": {
            "variant": variant.name,
            "seed": seed,
            "load_s": round(main.load_s, 1),
            "quiet_s": round(main.quiet_s, 1),
            "handoffs_per_s": round(len(main.ledger.handoffs) / main.load_s, 2),
            "probes": sum(h.flow == "probe" for h in main.ledger.handoffs.values()),
            "checked_referrals": found.checked_referrals,
            "unsettled_referrals": found.unsettled_referrals,
            "indeterminate_calls": main.ledger.indeterminate,
            "settled_by_retry": main.ledger.settled_by_retry,
            "settled_by_lookup": main.ledger.settled_by_lookup,
            "unsettled_calls": main.ledger.unsettled,
            "server_errors_under_faults": dict(main.ledger.server_errors),
            "stream_late": main.ledger.stream_late,
            "abandoned_flows": dict(main.ledger.abandoned),
            "audit_missing_events": found.audit_missing,
            "dead_lettered_during_load": dict(found.dead_lettered),
            "fault_log": [
                {
                    "kind": f.kind,
                    "target": f.target,
                    "at_s": round(f.at_s, 1),
                    "lasted_s": round(f.lasted_s, 1),
                    "recovered_s": None if f.recovered_s is None else round(f.recovered_s, 1),
                }
                for f in main.injector.faults
            ],
            "findings": found.examples(),
            "bad_input": {
                "sent": bad.sent,
                "by_kind": dict(sorted(bad.by_kind.items())),
                "dead_letters_by_reason": dict(sorted(bad.by_reason.items())),
                "problems": bad.problems[:20],
                "effects": bad.effects,
            },
            "recovery_tools": {
                "dead_letters": recovered.dead_letters,
                "replayed": recovered.replayed,
                "states_after_replay": recovered.states,
                "recovered": recovered.recovered,
            },
            "fuzz": {
                "operations": dict(fuzzed.operations),
                "requests": dict(fuzzed.requests),
                "server_errors": fuzzed.server_errors[:20],
                "server_error_count": len(fuzzed.server_errors),
            },
            "control": {
                "referrals": len(control.ledger.handoffs),
                "faults": dict(sorted(control.injector.counts().items())),
                "lost": len(control.findings.lost_referrals),
                "backwards": len(control.findings.backwards),
                "findings": control.findings.examples(),
            },
        },
    }


def passed(summary: dict[str, Any]) -> list[str]:
    """What is wrong with a run; empty when it passed."""
    details = summary["details"]
    wrong = [
        f"{key} is {summary[key]}, not 0"
        for key in ("lost", "duplicated", "backwards")
        if summary[key] != 0
    ]
    if not summary["audit_verified"]:
        wrong.append("the audit log did not verify or is incomplete")
    if summary["control_duplicates"] <= 0:
        wrong.append("the control run without the inbox check found no duplicates")
    if summary["dead_lettered"] != details["bad_input"]["sent"]:
        wrong.append("not every bad message was dead-lettered as it should be")
    if details["bad_input"]["effects"] or details["bad_input"]["problems"]:
        wrong.append("bad input had effects or problems")
    if details["fuzz"]["server_error_count"]:
        wrong.append("fuzzing found server errors")
    if not details["recovery_tools"]["recovered"]:
        wrong.append("replaying the dead letter did not recover the referral")
    if summary["recovery_s"] is None:
        wrong.append("the loop did not recover after every fault")
    return wrong


def table(summary: dict[str, Any]) -> str:
    """The summary as a table for people."""
    details = summary["details"]
    rows = [
        ("referrals", summary["referrals"]),
        ("faults", ", ".join(f"{k} {v}" for k, v in summary["faults"].items())),
        ("lost", summary["lost"]),
        ("duplicated", summary["duplicated"]),
        ("backwards", summary["backwards"]),
        ("dead_lettered", f"{summary['dead_lettered']} of {details['bad_input']['sent']}"),
        ("audit_verified", summary["audit_verified"]),
        ("control_duplicates", summary["control_duplicates"]),
        ("recovery_s", summary["recovery_s"]),
        ("indeterminate calls", details["indeterminate_calls"]),
        ("unsettled referrals", details["unsettled_referrals"]),
        ("fuzzed requests", sum(details["fuzz"]["requests"].values())),
        ("fuzz server errors", details["fuzz"]["server_error_count"]),
        ("replay recovered", details["recovery_tools"]["recovered"]),
        ("load, quiet (s)", f"{details['load_s']}, {details['quiet_s']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
