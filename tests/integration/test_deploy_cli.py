"""`python -m deploy up` runs the stack until SIGTERM and then leaves nothing behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy._process import pid_exists

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"deploy up exited early ({proc.returncode}):\n{output}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.2)


def test_up_serves_until_sigterm_then_stops_both_servers(tmp_path: Path) -> None:
    workdir = tmp_path / "stack"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy",
            "up",
            "--workdir",
            str(workdir),
            "--databases",
            "cli_one,cli_two",
            "--topics",
            "cli.events:2",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(workdir / "stack.json", proc, timeout=120)
        info = json.loads((workdir / "stack.json").read_text())
        assert set(info["databases"]) == {"cli_one", "cli_two"}
        kafka_pid = int((workdir / "kafka" / "kafka.pid").read_text())
        pg_pid = int((workdir / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])

        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0, output
    assert info["kafka_bootstrap"] in output
    assert "stopped" in output
    assert not (workdir / "stack.json").exists()
    # The broker is our child's child and the postmaster was reparented to init,
    # which may reap it a moment later: allow for that.
    deadline = time.monotonic() + 10
    while (pid_exists(kafka_pid) or pid_exists(pg_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_exists(kafka_pid)
    assert not pid_exists(pg_pid)
    assert os.listdir(workdir / "kafka" / "data")
