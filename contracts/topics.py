"""Kafka topics: names, partition counts, and which events travel on which topic.

Topics are per event family, so that one referral's events (keyed by its id) share a
partition and keep their order, whichever agency produced them.
"""

from dataclasses import dataclass

from contracts.envelope import Event
from contracts.events import (
    ACCESS_EVENTS,
    CONSENT_EVENTS,
    HANDOFF_EVENTS,
    PARTICIPATION_EVENTS,
    SIGNAL_EVENTS,
)


@dataclass(frozen=True)
class Topic:
    """A Kafka topic and the event types it carries."""

    name: str
    partitions: int
    events: tuple[type[Event], ...]


HANDOFFS = Topic("samverkan.handoffs.v1", 6, HANDOFF_EVENTS)
CONSENTS = Topic("samverkan.consents.v1", 3, CONSENT_EVENTS)
SIGNALS = Topic("samverkan.signals.v1", 3, SIGNAL_EVENTS)
PARTICIPATION = Topic("samverkan.participation.v1", 3, PARTICIPATION_EVENTS)
ACCESS = Topic("samverkan.access.v1", 3, ACCESS_EVENTS)
DEAD_LETTER = Topic("samverkan.deadletter.v1", 3, ())

EVENT_TOPICS: tuple[Topic, ...] = (HANDOFFS, CONSENTS, SIGNALS, PARTICIPATION, ACCESS)
ALL_TOPICS: tuple[Topic, ...] = (*EVENT_TOPICS, DEAD_LETTER)

_TOPIC_OF: dict[str, Topic] = {
    model.model_fields["event_type"].default: topic
    for topic in EVENT_TOPICS
    for model in topic.events
}


def topic_for(event: Event | str) -> Topic:
    """The topic an event (or event type name) is published on."""
    name = event if isinstance(event, str) else event.event_type
    return _TOPIC_OF[name]


def message_key(event: Event) -> bytes:
    """Kafka key: the correlation (referral) id."""
    return event.key


def topic_specs(prefix: str = "") -> list[tuple[str, int]]:
    """(name, partitions) for every topic, optionally prefixed to isolate a test or tenant."""
    return [(prefix + t.name, t.partitions) for t in ALL_TOPICS]
