"""Small process and log helpers shared by the server wrappers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, or a note when it is missing."""
    try:
        with path.open("rb") as handle:
            # Read only the end: broker logs can grow large in long runs.
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def pid_exists(pid: int) -> bool:
    """Tell whether ``pid`` still has a process table entry (zombies count).

    Zombies count on purpose: PostgreSQL's stale-lock check uses ``kill(pid, 0)``,
    which succeeds on a zombie, and the init process of these machines reaps
    orphans only every second or two.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_alive(pid: int) -> bool:
    """Tell whether ``pid`` is a live process (present and not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and
    # may itself contain spaces or parentheses.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Return the PIDs whose parent is ``pid`` (read from /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has vanished; return False when ``timeout`` ran out."""
    deadline = time.monotonic() + timeout
    while pid_exists(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def cmdline(pid: int) -> list[str]:
    """Return the command line of ``pid`` (empty when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code and return its result.

    The servers' ``start()`` is synchronous but probes readiness with asyncio
    clients. Inside a running event loop (an async test or fixture) a nested
    ``asyncio.run`` is forbidden, so the probe then runs on a private loop in a
    worker thread; the calling loop is blocked meanwhile, as with any sync call.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="deploy-probe") as pool:
        return pool.submit(asyncio.run, coro).result()
