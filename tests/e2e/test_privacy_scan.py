"""Runs last: after the whole suite, no personnummer is on any topic, in any log line or in
any span (the services export spans to their logs in these tests)."""

import pytest

from deploy.stack import Stack
from tests.privacy import every_log_line, every_message, personnummer_in

pytestmark = [pytest.mark.e2e, pytest.mark.lawful]


async def test_no_personnummer_anywhere_on_the_bus_in_logs_or_spans(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
):
    base = tmp_path_factory.getbasetemp()
    messages = await every_message(stack.kafka.client_config())
    lines = every_log_line(stack, base)
    assert len(messages) > 100 and len(lines) > 100, "the suite ran before this scan"
    assert personnummer_in(messages) == []
    assert personnummer_in(lines) == []
