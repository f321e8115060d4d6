"""Memory and CPU of the processes under benchmark, sampled in the background while they work,
and how busy the machine was with anything else meanwhile."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

Pids = Callable[[], Mapping[str, int | None]]


@dataclass
class Footprint:
    """Peak resident memory per service; CPU per process and phase (percent of one core);
    and per phase the machine's busy share with the part no benchmarked process used."""

    interval_s: float = 0.25
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_percent: dict[str, dict[str, float]] = field(default_factory=dict)
    machine_percent: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def watching(self, phase: str, services: Pids, infrastructure: Pids) -> Iterator[None]:
        """Sample until the block ends: the RSS of `services()`, the CPU of those and of
        `infrastructure()` (e.g. the broker, the database server and its backends)."""
        stop = threading.Event()
        first: dict[str, float] = {}
        machine_start, started = _machine_busy(), time.monotonic()

        def sample() -> None:
            while True:
                for name, pid in services().items():
                    rss = _rss_mb(pid)
                    if rss is not None:
                        self.rss_mb[name] = round(max(self.rss_mb.get(name, 0.0), rss), 1)
                for name, (pid, tree) in _cpu_sources(services, infrastructure).items():
                    if name not in first and (spent := _cpu_s(pid, tree)) is not None:
                        first[name] = spent
                if stop.wait(self.interval_s):
                    return

        sampler = threading.Thread(target=sample, name=f"footprint-{phase}", daemon=True)
        sampler.start()
        try:
            yield
        finally:
            stop.set()
            sampler.join()
            elapsed = max(time.monotonic() - started, 1e-9)
            used: dict[str, float] = {}
            for name, (pid, tree) in _cpu_sources(services, infrastructure).items():
                spent = _cpu_s(pid, tree)
                if spent is not None and name in first:
                    used[name] = round(100 * (spent - first[name]) / elapsed, 1)
            self.cpu_percent[phase] = used
            cores = os.cpu_count() or 1
            busy = 100 * (_machine_busy() - machine_start) / elapsed / cores
            ours = sum(used.values()) / cores
            self.machine_percent[phase] = {
                "busy": round(busy, 1),
                "benchmarked": round(ours, 1),
                "other": round(max(busy - ours, 0.0), 1),
            }


def _cpu_sources(services: Pids, infrastructure: Pids) -> dict[str, tuple[int | None, bool]]:
    """Whose CPU is counted, and whether with its descendants (the database's backends)."""
    return {
        **{name: (pid, False) for name, pid in services().items()},
        **{name: (pid, True) for name, pid in infrastructure().items()},
        "runner": (os.getpid(), False),
    }


def _rss_mb(pid: int | None) -> float | None:
    """Resident memory of a live process; None once it is gone or exiting (a process that
    has exited but is not yet reaped reports 0 bytes, which is no measurement)."""
    if pid is None:
        return None
    try:
        rss = psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None
    return rss / 2**20 if rss > 0 else None


def _cpu_s(pid: int | None, tree: bool) -> float | None:
    """CPU seconds of a process, with `tree` also of its descendants (reaped ones included)."""
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system
        if not tree:
            return float(total)
        total += times.children_user + times.children_system
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.Error:
                continue
            total += child_times.user + child_times.system
        return float(total)
    except psutil.Error:
        return None


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent not idle."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))
