"""Valid sample events for tests, built from the models' own field types."""

import typing
import uuid
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from contracts import ConsentBasis, Event, utc_now
from contracts.registry import REGISTRY

SUBJECT = "5" * 64
_BY_NAME: dict[str, Any] = {
    "receiver": "ale.social",
    "new_receiver": "goteborg.employment",
    "producer": "ale.school",
    "recipients": ("ale.social",),
    "caseworker": "anna.lind",
    "accessor": "anna.lind",
    "municipality": "1440",
    "months_after_exit": 6,
}


def _value(name: str, field: FieldInfo) -> Any:
    if name in _BY_NAME:
        return _BY_NAME[name]
    annotation = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if typing.get_origin(annotation) in (typing.Union, None) and args else annotation
    if typing.get_origin(annotation) is tuple:
        base = typing.get_args(annotation)[0]
        return (_scalar(base),)
    return _scalar(base if base is not None else annotation)


def _scalar(kind: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next(iter(kind))
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind in (datetime, AwareDatetime):
        return utc_now() + timedelta(days=14)
    if kind is date:
        return date(2026, 11, 1)
    if kind is bool:
        return True
    if kind is int:
        return 1
    return "x"


def sample(model: type[Event], **overrides: Any) -> Event:
    """A valid instance of `model` with envelope defaults, overridden by `overrides`."""
    data: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": utc_now(),
        "producer": "ale.school",
        "correlation_id": uuid.uuid4(),
        "subject": SUBJECT,
        "legal_basis": ConsentBasis(consent_id=uuid.uuid4()),
    }
    for name, field in model.model_fields.items():
        if name not in data and field.is_required():
            data[name] = _value(name, field)
    data.update(overrides)
    return model.model_validate(data)


def all_samples() -> list[Event]:
    """One valid sample of every registered event type and version."""
    return [sample(model) for model in REGISTRY.values()]
