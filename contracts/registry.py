"""From bytes to the right event model, or a typed error naming what is wrong; never a crash."""

import json
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from contracts.envelope import Event
from contracts.topics import EVENT_TOPICS

REGISTRY: dict[tuple[str, int], type[Event]] = {
    (model.model_fields["event_type"].default, model.model_fields["schema_version"].default): model
    for topic in EVENT_TOPICS
    for model in topic.events
}


class DecodeProblem(StrEnum):
    """The ways a message can fail to be a valid event."""

    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_VERSION = "unknown_version"
    INVALID_FIELD = "invalid_field"


@dataclass
class DecodeError(Exception):
    """A message that is not a valid event: what is wrong, and which field."""

    problem: DecodeProblem
    field: str | None
    detail: str

    def __str__(self) -> str:
        where = f" at '{self.field}'" if self.field else ""
        return f"{self.problem.value}{where}: {self.detail}"


def decode(raw: bytes | str) -> Event:
    """Parse `raw` as an event of a registered type and version, or raise DecodeError."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(DecodeProblem.NOT_JSON, None, str(exc)[:200]) from None
    if not isinstance(data, dict):
        raise DecodeError(DecodeProblem.NOT_AN_OBJECT, None, f"got {type(data).__name__}")
    event_type, version = data.get("event_type"), data.get("schema_version")
    if not isinstance(event_type, str):
        raise DecodeError(DecodeProblem.MISSING_TYPE, "event_type", "missing or not a string")
    if not any(key[0] == event_type for key in REGISTRY):
        raise DecodeError(DecodeProblem.UNKNOWN_TYPE, "event_type", f"'{event_type[:80]}'")
    model = REGISTRY.get((event_type, version)) if isinstance(version, int) else None
    if model is None:
        raise DecodeError(
            DecodeProblem.UNKNOWN_VERSION, "schema_version", f"{event_type} v{version!r}"
        )
    return validate(model, data)


def validate(model: type[Event], data: dict[str, object]) -> Event:
    """Validate `data` as `model`, turning the first validation error into a DecodeError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise DecodeError(DecodeProblem.INVALID_FIELD, field, first["msg"]) from None


def encode(event: Event) -> bytes:
    """The wire form of an event (UTF-8 JSON)."""
    return event.model_dump_json().encode()
