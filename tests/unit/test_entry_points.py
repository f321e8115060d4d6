"""The command lines the Makefile runs start and describe themselves (`--help`), so that a
broken entry point is caught before anyone runs `make bench` or `make chaos`."""

import subprocess
import sys

import pytest

from deploy.kafka_jars import REPO_ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("module", ["bench", "chaos", "deploy", "contracts"])
def test_the_command_line_answers_help(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
