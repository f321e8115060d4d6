"""What a service refuses to do: one exception for every feature and one HTTP status per
refusal code (the kit answers each with the same JSON body: `error`, `detail`, context).
No I/O, so that domain modules may raise them."""

from typing import Any

STATUS_OF_REFUSAL = {
    "not_found": 404,
    "unknown_referral": 404,
    "not_hosted": 403,
    "not_a_party": 403,
    "illegal_transition": 409,
    "duplicate_open_referral": 409,
    "signal_cleared": 409,
    "already_participating": 409,
    "already_exited": 409,
    "already_followed_up": 409,
    "not_exited": 409,
    "too_early": 409,
    "unknown_receiver": 422,
    "unlawful": 422,
    "consent_unknown": 422,
    "invalid_consent": 422,
    "invalid_date": 422,
    "bad_header": 422,
}


class Refused(Exception):
    """A change or an event that must not take effect, with what a caller needs to
    understand why: a code (its HTTP status, or the dead-letter reason), a detail, context."""

    def __init__(self, code: str, detail: str, **context: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.context = context

    @property
    def status(self) -> int:
        """The HTTP status that answers this refusal."""
        return STATUS_OF_REFUSAL.get(self.code, 400)


class NotYet(Exception):
    """An event that needs something that has not arrived yet (its consent, which travels on
    another topic): retried for a while, then dead-lettered."""
