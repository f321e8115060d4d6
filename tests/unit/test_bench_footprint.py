"""The footprint sampler measures live processes only: a service that is stopping while it is
sampled must not be reported as using no memory."""

import subprocess
import sys
import time

import psutil

from bench.footprint import Footprint


def exited_unreaped() -> subprocess.Popen[bytes]:
    """A child that has exited and is left unreaped (a zombie), as a stopping service is for
    a moment."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    return child


def test_a_process_that_has_exited_is_not_measured():
    child = exited_unreaped()
    footprint = Footprint(interval_s=0.01)
    try:
        with footprint.watching("phase", lambda: {"stopping": child.pid}, dict):
            time.sleep(0.05)
    finally:
        child.wait()
    assert "stopping" not in footprint.rss_mb


def test_a_live_process_is_measured():
    footprint = Footprint(interval_s=0.01)
    with footprint.watching("phase", lambda: {"runner": psutil.Process().pid}, dict):
        time.sleep(0.05)
    assert footprint.rss_mb["runner"] > 0
