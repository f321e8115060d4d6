"""Crash points for fault tests: an armed point kills the process on the spot (SIGKILL), as a
power cut would. Armed only through settings; unarmed points cost one set look-up."""

import os
import signal

_armed: frozenset[str] = frozenset()


def arm(names: frozenset[str]) -> None:
    """Arm the named points for this process."""
    global _armed
    _armed = names


def crash_point(name: str) -> None:
    """Die here if `name` is armed."""
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)
