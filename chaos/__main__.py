"""``python -m chaos [--small] [--control]``: a chaos run on a stack of its own.

Starts Kafka and PostgreSQL in ``build/chaos/stack`` (afresh each time), runs every phase
(``chaos.runner``), prints the summary table and writes ``build/chaos/summary.json``. Exits 1
when a check failed. ``--control`` runs only the control run, with the inbox check off, and
exits 1 unless it finds duplicates.
"""

import argparse
import asyncio
import json
import logging
import random
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from chaos.deployment import deploy
from chaos.runner import (
    CONTROL_ENV,
    CONTROL_PLAN,
    FULL,
    SMALL,
    passed,
    run,
    run_under_faults,
    table,
)
from deploy.kafka_jars import REPO_ROOT
from deploy.stack import Stack

DEFAULT_OUT = REPO_ROOT / "build" / "chaos"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--small", action="store_true", help="500 referrals instead of 10,000")
    parser.add_argument("--control", action="store_true", help="only the control run")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where files go")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the services and both servers are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    variant = SMALL if args.small else FULL
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    shutil.rmtree(args.out / "stack", ignore_errors=True)
    stack = Stack(args.out / "stack")
    stack.start(databases=[], topics=[])
    try:
        if args.control:
            return _control_only(stack, args.out, variant.control_referrals, seed)
        summary = asyncio.run(run(stack, variant, args.out, seed))
    finally:
        stack.stop()
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary))
    print(f"summary: {args.out / 'summary.json'}")
    wrong = passed(summary)
    for problem in wrong:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if wrong else 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _control_only(stack: Stack, out: Path, referrals: int, seed: int) -> int:
    variant = SMALL
    deployment = deploy(stack, out / "control", CONTROL_ENV)

    async def control() -> int:
        found, load = await run_under_faults(
            deployment, referrals, variant, random.Random(seed), CONTROL_PLAN
        )
        await load.close()
        report = {
            "referrals": len(found.ledger.handoffs),
            "faults": dict(found.injector.counts()),
            "control_duplicates": len(found.findings.duplicated),
            "findings": found.findings.examples(),
        }
        (out / "control.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        return len(found.findings.duplicated)

    try:
        return 0 if asyncio.run(control()) > 0 else 1
    finally:
        deployment.stop()


if __name__ == "__main__":
    sys.exit(main())
