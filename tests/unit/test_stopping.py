"""A service stops when told to, even when its background jobs are woken at that moment or
ignore their cancellation."""

import asyncio
import logging
from typing import Any, cast

import pytest

from services.kit import runtime
from services.kit.outbox import OutboxRelay
from services.kit.runtime import Runtime

pytestmark = pytest.mark.unit


async def test_the_relay_stops_when_cancelled_as_a_notification_wakes_it() -> None:
    relay = OutboxRelay(pool=cast(Any, None), publisher=cast(Any, None), idle_poll_s=60)
    sleeping = asyncio.create_task(relay._sleep())
    await asyncio.sleep(0)
    relay._wake.set()  # a NOTIFY arrives...
    sleeping.cancel()  # ...in the same turn as the service's stop
    with pytest.raises(asyncio.CancelledError):
        await sleeping


async def test_stopping_gives_up_on_a_job_that_ignores_its_cancellation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "STOP_TIMEOUT_S", 0.2)
    stubborn_may_end = asyncio.Event()

    async def stubborn() -> None:
        while not stubborn_may_end.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue

    closed: list[str] = []

    async def closer() -> None:
        closed.append("closed")

    parts = dict.fromkeys(("app", "settings", "registry", "pool", "publisher", "broker", "relay"))
    service = Runtime(**cast(Any, parts))
    service.run("stubborn", stubborn())
    service.run("obedient", asyncio.sleep(60))
    service.on_stop(closer)
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        await service.stop()
    assert closed == ["closed"]
    assert "background job stubborn did not stop" in caplog.text
    assert service.tasks[1].cancelled()
    stubborn_may_end.set()
    service.tasks[0].cancel()
    await asyncio.gather(service.tasks[0], return_exceptions=True)
