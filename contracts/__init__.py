"""Samverkan's shared contracts: pure data, no I/O.

The event envelope and legal bases, the v1 event catalogue, coded values, the referral state
machine, topics and keys, and the decoder from bytes to events.
"""

from contracts.envelope import (
    ConsentBasis,
    DisclosureBasis,
    DutyBasis,
    Event,
    LegalBasis,
    LegalDuty,
    utc_now,
)
from contracts.registry import REGISTRY, DecodeError, DecodeProblem, decode, encode
from contracts.topics import ALL_TOPICS, DEAD_LETTER, EVENT_TOPICS, topic_for

__all__ = [
    "ALL_TOPICS",
    "DEAD_LETTER",
    "EVENT_TOPICS",
    "REGISTRY",
    "ConsentBasis",
    "DecodeError",
    "DecodeProblem",
    "DisclosureBasis",
    "DutyBasis",
    "Event",
    "LegalBasis",
    "LegalDuty",
    "decode",
    "encode",
    "topic_for",
    "utc_now",
]
