"""The small chaos run: 500 referrals through every service while services are killed,
stopped and restarted and the broker and the database restart; then bad input, the
dead-letter tools, fuzzing from the OpenAPI documents, and a control run without the inbox
check. The summary is written to build/chaos/summary.json, as `make chaos` writes it.
Afterwards no personnummer is on its bus or in its logs."""

import json
import os

import pytest

from chaos.runner import SMALL, passed, run, table
from deploy.kafka_jars import REPO_ROOT
from tests.privacy import every_log_line, every_message, personnummer_in

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


@pytest.mark.timeout(1200)
async def test_nothing_lost_duplicated_or_undone_under_faults(chaos_stack, tmp_path):
    seed = int(os.environ.get("SAMVERKAN_CHAOS_SEED", "6"))
    summary = await run(chaos_stack, SMALL, tmp_path, seed)
    out = REPO_ROOT / "build" / "chaos"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = f"seed {seed}\n{table(summary)}\n{json.dumps(summary['details'], indent=2)}"
    assert passed(summary) == [], report
    assert summary["referrals"] >= SMALL.referrals
    assert set(summary["faults"]) == {
        "kill", "crash_point", "broker_restart", "database_restart", "stop_past_session_timeout"
    }  # fmt: skip
    assert personnummer_in(await every_message(chaos_stack.kafka.client_config())) == []
    assert personnummer_in(every_log_line(chaos_stack, tmp_path)) == []
