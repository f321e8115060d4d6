import json
import uuid

import pytest

from contracts import DecodeError, DecodeProblem, decode, encode, topic_for
from contracts.documents import asyncapi_document
from contracts.events import ReferralRequested
from contracts.registry import REGISTRY
from contracts.topics import ALL_TOPICS
from tests.factories import all_samples, sample

pytestmark = [pytest.mark.unit, pytest.mark.contracts]


@pytest.mark.parametrize("event", all_samples(), ids=lambda e: e.event_type)
def test_every_event_round_trips_through_the_wire_form(event):
    assert decode(encode(event)) == event


def test_every_event_type_has_a_topic_and_is_keyed_by_correlation_id():
    for event in all_samples():
        assert topic_for(event) in ALL_TOPICS
        assert event.key == str(event.correlation_id).encode()


def _valid() -> dict:
    return json.loads(encode(sample(ReferralRequested)))


@pytest.mark.parametrize(
    ("raw", "problem", "field"),
    [
        (b"\xff\xfe not json", DecodeProblem.NOT_JSON, None),
        (b'{"event_type": "ReferralRequested"', DecodeProblem.NOT_JSON, None),
        (b"[1, 2]", DecodeProblem.NOT_AN_OBJECT, None),
        (b'{"schema_version": 1}', DecodeProblem.MISSING_TYPE, "event_type"),
        (
            b'{"event_type": "ReferralTeleported", "schema_version": 1}',
            DecodeProblem.UNKNOWN_TYPE,
            "event_type",
        ),
        (
            b'{"event_type": "ReferralRequested", "schema_version": 7}',
            DecodeProblem.UNKNOWN_VERSION,
            "schema_version",
        ),
        (
            b'{"event_type": "ReferralRequested", "schema_version": "1"}',
            DecodeProblem.UNKNOWN_VERSION,
            "schema_version",
        ),
    ],
)
def test_decoder_names_the_problem(raw, problem, field):
    with pytest.raises(DecodeError) as err:
        decode(raw)
    assert err.value.problem is problem
    assert err.value.field == field


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("subject", "199001011234", "subject"),
        ("receiver", "Not An Agency!", "receiver"),
        ("reason", "bored", "reason"),
        ("occurred_at", "2026-11-01T10:00:00", "occurred_at"),
        ("legal_basis", {"kind": "gut_feeling"}, "legal_basis"),
        ("legal_basis", {"kind": "consent"}, "legal_basis.consent.consent_id"),
        ("data_categories", [], "data_categories"),
    ],
)
def test_decoder_names_the_offending_field(field, value, where):
    data = _valid()
    data[field] = value
    with pytest.raises(DecodeError) as err:
        decode(json.dumps(data))
    assert err.value.problem is DecodeProblem.INVALID_FIELD
    assert err.value.field == where


def test_missing_legal_basis_is_an_invalid_field():
    data = _valid()
    del data["legal_basis"]
    with pytest.raises(DecodeError) as err:
        decode(json.dumps(data))
    assert err.value.field == "legal_basis"


def test_unknown_fields_from_newer_producers_are_dropped_not_kept():
    data = _valid() | {"free_text_note": "should never be stored"}
    event = decode(json.dumps(data))
    assert "free_text_note" not in event.model_dump()


def test_events_are_immutable():
    event = sample(ReferralRequested)
    with pytest.raises(ValueError):
        event.receiver = "other.agency"  # type: ignore[misc]


def test_asyncapi_document_lists_every_event_on_its_topic():
    doc = asyncapi_document()
    messages = doc["components"]["messages"]
    assert set(messages) == {key[0] for key in REGISTRY}
    for event in all_samples():
        channel = doc["channels"][topic_for(event).name.replace(".", "_")]
        assert event.event_type in channel["messages"]


def test_correlation_id_must_be_a_uuid():
    data = _valid() | {"correlation_id": str(uuid.uuid4())[:-1]}
    with pytest.raises(DecodeError) as err:
        decode(json.dumps(data))
    assert err.value.field == "correlation_id"
