"""Prometheus metrics of a service process, served at GET /metrics.

Counters and the latency histogram are updated as events are handled; the outbox backlog and
the consumer lag are read when /metrics is scraped, so they are never stale and cost nothing
between scrapes. The metrics are process-wide; their labels name the consumer (which starts
with the service name) or the service.
"""

import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from contracts import EVENT_TOPICS, Event, utc_now
from services.kit import outbox
from services.kit.dependencies import Pool, Settings
from services.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

EVENTS_HANDLED = Counter(
    "samverkan_events_handled",
    "Events whose effect a consumer committed (duplicates are not counted).",
    ["consumer", "event_type"],
)
EVENTS_FAILED = Counter(
    "samverkan_events_failed",
    "Failed attempts to handle an event; every retry counts.",
    ["consumer", "event_type"],
)
EVENTS_DEAD_LETTERED = Counter(
    "samverkan_events_dead_lettered",
    "Messages a consumer gave up on and sent to the dead-letter topic.",
    ["consumer", "reason"],
)
HANDOFF_LATENCY = Histogram(
    "samverkan_handoff_latency_seconds",
    "From when an event occurred at its producer to when a consumer committed its effect;"
    " for an opening event (ReferralRequested, DropoutReported, ConcernReported) this is the"
    " handoff latency.",
    ["consumer", "event_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OUTBOX_BACKLOG = Gauge("samverkan_outbox_backlog", "Staged events not yet published.", ["service"])
CONSUMER_LAG = Gauge(
    "samverkan_consumer_lag",
    "Messages on a topic that a consumer group has not committed yet.",
    ["group", "topic"],
)


def handled(consumer: str, event: Event) -> None:
    """Count an event whose effect `consumer` just committed, and how long it took to get here."""
    EVENTS_HANDLED.labels(consumer, event.event_type).inc()
    latency = (utc_now() - event.occurred_at).total_seconds()
    HANDOFF_LATENCY.labels(consumer, event.event_type).observe(max(latency, 0.0))


async def measure_consumer_lag(settings: ServiceSettings) -> None:
    """Set the lag gauge of each of this service's consumer groups, per contract topic."""
    topics = {settings.kafka.topic(t.name) for t in EVENT_TOPICS}
    admin = AIOKafkaAdminClient(**settings.kafka.client_options())
    ends = AIOKafkaConsumer(**settings.kafka.client_options())
    await admin.start()
    try:
        await ends.start()
        groups = [
            str(group[0])
            for group in await admin.list_consumer_groups()
            if str(group[0]).startswith(f"samverkan.{settings.service}.")
        ]
        for group in groups:
            committed = {
                tp: max(meta.offset, 0)
                for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                if tp.topic in topics
            }
            # A partition the group has not committed on yet lags by all it holds.
            described = await admin.describe_topics(sorted({tp.topic for tp in committed}))
            partitions = [
                TopicPartition(topic["topic"], partition["partition"])
                for topic in described
                for partition in topic["partitions"]
            ]
            latest = await ends.end_offsets(partitions) if partitions else {}
            lag: dict[str, int] = {}
            for tp, end in latest.items():
                lag[tp.topic] = lag.get(tp.topic, 0) + max(end - committed.get(tp, 0), 0)
            for topic, behind in lag.items():
                CONSUMER_LAG.labels(group, topic).set(behind)
    finally:
        with contextlib.suppress(Exception):
            await ends.stop()
        await admin.close()


async def metrics(settings: Settings, pool: Pool) -> Response:
    """The metrics in the Prometheus text format, with the backlog and the lag measured now."""
    OUTBOX_BACKLOG.labels(settings.service).set(await outbox.backlog(pool))
    try:
        await measure_consumer_lag(settings)
    except Exception:
        # A broker hiccup must not hide the other metrics; the gauge keeps its last value.
        log.warning("could not measure consumer lag", exc_info=True)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_router() -> APIRouter:
    """GET /metrics in the Prometheus text format."""
    router = APIRouter(tags=["operations"])
    router.get("/metrics", include_in_schema=False)(metrics)
    return router
