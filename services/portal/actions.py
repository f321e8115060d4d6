"""What a caseworker can do with a handoff, as forms: one per event the service allows next.

The service answers each handoff with `allowed_actions` (event types, from the contracts'
state machine); the contracts' event table says which of its endpoints makes each event, and
the event model which coded field the form asks for. Events the services make by themselves
(received, expired) and the redirect (a new referral, made from the referral form) are not
offered here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from contracts import Event
from contracts.catalogue import EVENT_TABLE, Meaning, type_of
from contracts.events import ReferralRedirected


@dataclass(frozen=True)
class Action:
    """One action: the service's path under /referrals/{id}/ and the field its form asks for.

    `codes` lists the values of a coded field; a field without codes is a free identifier
    (the caseworker to assign).
    """

    path: str
    field: str | None = None
    codes: type[StrEnum] | None = None

    @property
    def choices(self) -> list[str]:
        """The coded values offered, in the contracts' order."""
        return [c.value for c in self.codes] if self.codes is not None else []


def _action_of(meaning: Meaning) -> Action:
    """The form for an action: the one field its event carries beyond the envelope, if any,
    with its codes when the field is coded."""
    own = [n for n in meaning.model.model_fields if n not in Event.model_fields]
    if not own:
        return Action(meaning.action or "")
    annotation = meaning.model.model_fields[own[0]].annotation
    codes = annotation if isinstance(annotation, type) and issubclass(annotation, StrEnum) else None
    return Action(meaning.action or "", own[0], codes)


# Offered: the actions a person takes on an existing handoff. The services make received and
# expired by themselves, and a redirect is a new referral, made from the referral form.
ACTIONS: dict[str, Action] = {
    name: _action_of(meaning)
    for name, meaning in EVENT_TABLE.items()
    if meaning.action is not None
    and not meaning.made_by_system
    and meaning.model is not ReferralRedirected
}
#: Allowed when a rejected or failed referral may be passed on as a new referral.
REDIRECT = type_of(ReferralRedirected)
BY_PATH: dict[str, Action] = {a.path: a for a in ACTIONS.values()}


def offered(allowed: Iterable[str]) -> list[Action]:
    """The forms to show for the event types a service allows, in the table's order."""
    wanted = set(allowed)
    return [action for event, action in ACTIONS.items() if event in wanted]


def body_of(action: Action, agency: str, value: str | None) -> dict[str, str] | None:
    """The service's request body for `action` by `agency`; None if the field's value is
    missing or not one of its codes."""
    if action.field is None:
        return {"agency": agency}
    if not value or (action.codes is not None and value not in action.choices):
        return None
    return {"agency": agency, action.field: value}
