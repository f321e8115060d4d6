"""What a caseworker can do with a handoff, as forms: one per event the service allows next.

The service answers each handoff with `allowed_actions` (event types, from the contracts'
state machine); this table says which of its endpoints makes each event and which coded
field the form asks for. Events the services make by themselves (received, expired) and the
redirect (a new referral, made from the referral form) are not offered here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from contracts.codes import (
    CancelReason,
    ContactChannel,
    FailureReason,
    Outcome,
    PauseReason,
    RejectionReason,
)


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


ACTIONS: dict[str, Action] = {
    "ReferralAccepted": Action("accept"),
    "ConcernAcknowledged": Action("acknowledge"),
    "ReferralRejected": Action("reject", "reason", RejectionReason),
    "CaseworkerAssigned": Action("assign", "caseworker"),
    "ContactAttempted": Action("contact-attempts", "channel", ContactChannel),
    "FirstContactMade": Action("first-contact", "channel", ContactChannel),
    "ReferralPaused": Action("pause", "reason", PauseReason),
    "ReferralResumed": Action("resume"),
    "ReferralCompleted": Action("complete", "outcome", Outcome),
    "ReferralFailed": Action("fail", "reason", FailureReason),
    "ReferralCancelled": Action("cancel", "reason", CancelReason),
    "ReferralEnteredInError": Action("entered-in-error"),
}
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
