"""Debian's Chromium for the web interface tests, installed once with apt-get.

Playwright drives it (`executable_path`); Playwright's own browser download is never used,
since a machine here reaches only the package registries. `python -m deploy.browser`
installs it when it is missing (as root, like PostgreSQL) and prints its path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

#: What every test launch passes: headless, no sandbox (root in a container), and no attempt
#: to reach the network, which here is closed and would leave Chromium waiting.
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def ensure_chromium() -> Path:
    """Chromium's path, installing Debian's package first if it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"{CHROMIUM} is missing: install Debian's chromium (`sudo apt-get install -y"
            " chromium`) for the web interface tests"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
    ):
        result = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"`{' '.join(command)}` failed ({result.returncode}):\n{tail}")
    if not CHROMIUM.exists():
        raise RuntimeError(f"apt-get installed chromium but {CHROMIUM} is missing")
    return CHROMIUM


if __name__ == "__main__":
    try:
        print(f"Chromium        : {ensure_chromium()}")
    except RuntimeError as exc:
        sys.exit(str(exc))
