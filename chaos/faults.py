"""Faults while the load runs: one every 5-10 s, each ended before the next begins.

Most are a SIGKILL of a random service, restarted at once. Some kills are at an armed crash
point (after a consumer's database commit and before its offset commit, or after the relay's
publish and before it marks the events sent), where a redelivery or a second publication is
certain. Once each, at set points of the load: the Kafka broker is killed (SIGKILL) and
restarted, PostgreSQL is killed and restarted (crash recovery), and a service is stopped
(SIGSTOP) past its consumer session timeout, so that its group rebalances under load, and
then continued (SIGCONT).

After each fault a probe (a report of concern sent and acknowledged back) measures how long
the loop takes to work end to end again.
"""

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chaos.deployment import Deployment
from contracts.services import AGENCY_SERVICES, SERVICES, names
from deploy.services import ServiceProcess

log = logging.getLogger(__name__)

KILL = "kill"
CRASH_POINT = "crash_point"
BROKER_RESTART = "broker_restart"
DATABASE_RESTART = "database_restart"
STOP_PAST_SESSION_TIMEOUT = "stop_past_session_timeout"
#: Crash points and the services that reach them under load (only agency services relay).
CRASH_POINTS = {
    "consumer_after_commit": names(SERVICES),
    "relay_after_publish": names(AGENCY_SERVICES),
}


@dataclass
class Fault:
    """One fault: what, to whom, when (seconds into the run) and for how long."""

    kind: str
    target: str
    at_s: float
    lasted_s: float = 0.0
    #: From the end of the fault until a probe sent then had gone round the loop.
    recovered_s: float | None = None


@dataclass
class FaultPlan:
    """When the one-off faults happen, as fractions of the load."""

    kill_every_s: tuple[float, float] = (5.0, 10.0)
    #: Every this many faults, a kill is made at a crash point instead.
    crash_point_every: int = 2
    #: The first crash points, in order (service, point): a second publication that reaches
    #: every consumer, and redeliveries to the audit log and to an agency; then at random.
    first_crash_points: tuple[tuple[str, str], ...] = (
        ("school", "relay_after_publish"),
        ("audit", "consumer_after_commit"),
        ("social", "consumer_after_commit"),
    )
    #: Routine faults made at the end if the load was over before one of them was due.
    at_least_once: tuple[str, ...] = (CRASH_POINT, KILL)
    once_at: dict[str, float] = field(
        default_factory=lambda: {
            BROKER_RESTART: 0.2,
            STOP_PAST_SESSION_TIMEOUT: 0.45,
            DATABASE_RESTART: 0.7,
        }
    )


class FaultInjector:
    """Injects faults into a deployment until told to stop."""

    def __init__(
        self,
        deployment: Deployment,
        rng: random.Random,
        probe: Callable[[], Awaitable[None]],
        session_timeout_s: float,
        plan: FaultPlan | None = None,
    ) -> None:
        self.deployment = deployment
        self.rng = rng
        self.probe = probe
        self.session_timeout_s = session_timeout_s
        self.plan = plan or FaultPlan()
        self.faults: list[Fault] = []
        self._probes: list[asyncio.Task[None]] = []
        self._loop = asyncio.get_running_loop()
        self._began = self._loop.time()

    def counts(self) -> Counter[str]:
        """How many faults of each kind were injected."""
        return Counter(f.kind for f in self.faults)

    async def run(self, progress: Callable[[], float], done: asyncio.Event) -> None:
        """Inject faults until `done` is set; then the one-off faults not yet made, and a
        kill and a crash point if none was made, so that each happens even in a short run;
        then wait for the probes."""
        pending = dict(sorted(self.plan.once_at.items(), key=lambda item: item[1]))
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.rng.uniform(*self.plan.kill_every_s))
            if done.is_set():
                break
            due = next((k for k, at in pending.items() if progress() >= at), None)
            if due is not None:
                del pending[due]
                await self.inject(due)
            elif self._routine() % self.plan.crash_point_every == 0:
                await self.inject(CRASH_POINT)
            else:
                await self.inject(KILL)
        for kind in pending:
            await self.inject(kind)
        for kind in self.plan.at_least_once:
            if kind not in self.counts():
                await self.inject(kind)
        await asyncio.gather(*self._probes)

    async def inject(self, kind: str) -> Fault:
        """Make one fault of `kind` and start a probe of the recovery after it."""
        fault = Fault(kind, "", self._loop.time() - self._began)
        self.faults.append(fault)
        if kind == KILL:
            process = self._random_service()
            fault.target = process.name
            await asyncio.to_thread(_kill_and_restart, process)
        elif kind == CRASH_POINT:
            made = sum(f.kind == CRASH_POINT for f in self.faults) - 1
            if made < len(self.plan.first_crash_points):
                service, point = self.plan.first_crash_points[made]
            else:
                point = self.rng.choice(sorted(CRASH_POINTS))
                service = self.rng.choice(CRASH_POINTS[point])
            process = self.deployment.services[service]
            fault.target = f"{process.name}@{point}"
            await asyncio.to_thread(_crash_at, process, point)
        elif kind == BROKER_RESTART:
            fault.target = "kafka"
            await asyncio.to_thread(self.deployment.stack.kafka.restart, hard=True)
        elif kind == DATABASE_RESTART:
            fault.target = "postgresql"
            await asyncio.to_thread(self.deployment.stack.postgres.restart, hard=True)
        elif kind == STOP_PAST_SESSION_TIMEOUT:
            process = self._random_service()
            fault.target = process.name
            await self._stop_and_continue(process)
        else:
            raise ValueError(f"no fault {kind}")
        fault.lasted_s = self._loop.time() - self._began - fault.at_s
        log.info("fault %s on %s lasted %.1fs", kind, fault.target, fault.lasted_s)
        self._probes.append(asyncio.create_task(self._measure_recovery(fault)))
        return fault

    def _routine(self) -> int:
        """Kills made so far, at crash points or not (the one-off faults aside)."""
        return sum(f.kind in (KILL, CRASH_POINT) for f in self.faults)

    def _random_service(self) -> ServiceProcess:
        return self.deployment.services[self.rng.choice(sorted(self.deployment.services))]

    async def _stop_and_continue(self, process: ServiceProcess) -> None:
        assert process.process is not None
        pid = process.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            # Past the session timeout, and past the broker noticing it.
            await asyncio.sleep(self.session_timeout_s + 3.0)
        finally:
            os.kill(pid, signal.SIGCONT)

    async def _measure_recovery(self, fault: Fault) -> None:
        ended = self._loop.time()
        try:
            await self.probe()
        except Exception:
            log.exception("the probe after %s on %s failed", fault.kind, fault.target)
            return
        fault.recovered_s = self._loop.time() - ended


def _kill_and_restart(process: ServiceProcess) -> None:
    process.kill()
    process.start()


def _crash_at(process: ServiceProcess, point: str) -> None:
    """Restart `process` with `point` armed, let it die there, and restart it clean."""
    process.kill()
    process.extra_env["SAMVERKAN_FAILPOINTS"] = json.dumps([point])
    try:
        # It may well die before it answers /health: the load does not stop for it.
        with contextlib.suppress(RuntimeError):
            process.start()
        try:
            process.wait_exit(20)
        except subprocess.TimeoutExpired:
            log.warning("%s never reached %s; killed instead", process.name, point)
            process.kill()
    finally:
        process.extra_env.pop("SAMVERKAN_FAILPOINTS", None)
    process.start()
