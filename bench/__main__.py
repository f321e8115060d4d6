"""`python -m bench [--quick] [--out DIR]`: start a fresh local stack and the services, run every
benchmark, print a table, write DIR/results.json and DIR/results.png, stop everything."""

import argparse
import shutil
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from bench import report
from bench.runner import FULL, QUICK, run
from deploy.kafka_jars import REPO_ROOT
from deploy.stack import Stack

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; 0 when they ran (targets are reported, not enforced)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds per rate, 100k entries")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)

    # A fresh stack each time: no data left from an earlier run is measured.
    workdir = args.out / "stack"
    shutil.rmtree(workdir, ignore_errors=True)
    stack = Stack(workdir)
    say("starting Kafka and PostgreSQL")
    stack.start(databases=[], topics=[])
    try:
        results = _event_loop_run(run(stack, plan, args.out / "services", say))
    finally:
        stack.stop()
    print()
    print(report.table(results))
    for path in report.write(results, args.out):
        print(f"wrote {path}")
    return 0


def _event_loop_run(job: Coroutine[Any, Any, T]) -> T:
    """Run `job` on uvloop, as the services (under uvicorn) run."""
    return uvloop.run(job)


if __name__ == "__main__":
    sys.exit(main())
