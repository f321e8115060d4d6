"""The portal speaks Swedish and English completely: every message, every code it shows."""

import re
import string
from enum import StrEnum
from pathlib import Path

import pytest

from contracts import codes
from contracts.lifecycle import ReferralState
from contracts.topics import HANDOFFS
from services.portal.actions import ACTIONS
from services.portal.i18n import CODES, MESSAGES, Texts, choose_language
from services.portal.views import consents

pytestmark = [pytest.mark.unit, pytest.mark.ui]

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "portal" / "templates"
SHOWN_CODES: tuple[type[StrEnum], ...] = (
    ReferralState,
    codes.HandoffKind,
    codes.ReferralReason,
    codes.DataCategory,
    codes.RejectionReason,
    codes.FailureReason,
    codes.CancelReason,
    codes.PauseReason,
    codes.Outcome,
    codes.ContactChannel,
    codes.DropoutReason,
    codes.ConcernCode,
    codes.ConsentGiver,
    codes.ConsentMethod,
    codes.PrincipalRole,
    codes.AccessPurpose,
    codes.AccessedResource,
)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_fields():
    for key, (sv, en) in MESSAGES.items():
        assert sv.strip() and en.strip(), key
        assert fields(sv) == fields(en), key


def test_every_code_the_services_answer_with_has_a_label_in_both_languages():
    wanted = {member.value for enum in SHOWN_CODES for member in enum}
    wanted |= {model.model_fields["event_type"].default for model in HANDOFFS.events}
    missing = sorted(wanted - set(CODES))
    assert not missing
    assert all(sv.strip() and en.strip() for sv, en in CODES.values())


def test_every_message_a_template_names_is_in_the_catalogue():
    named: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        named |= set(re.findall(r"""\bt\(\s*["']([a-z_.\-]+)["']""", template.read_text()))
    named |= {f"action.{a.path}" for a in ACTIONS.values()}
    named |= {f"field.{a.field}" for a in ACTIONS.values() if a.field}
    named |= {f"basis.{kind}" for kind in ("consent", "legal_duty", "necessary_disclosure")}
    named |= {f"consents.done.{done}" for done in consents.DONE}
    named |= {f"consents.{standing}" for standing in consents.STANDINGS}
    named = {key for key in named if not key.endswith(".")}  # dynamic: added above
    assert named, "no template names a message"
    assert not sorted(named - set(MESSAGES))


def test_texts_fill_fields_and_fall_back_to_an_unknown_code():
    assert Texts("sv")("signed_in_as", who="x") == "Inloggad som x"
    assert Texts("en")("signed_in_as", who="x") == "Signed in as x"
    assert Texts("sv").code("accepted") == "Accepterad"
    assert Texts("en").codes(["attendance", "grades"]) == "Attendance, Grades"
    assert Texts("en").code("a_code_from_a_newer_service") == "a_code_from_a_newer_service"
    assert Texts("sv").code(None) == "–"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "chosen"),
    [
        ("en", "sv", "sv", "en"),
        (None, "en", "sv-SE", "en"),
        ("de", None, "en-GB,en;q=0.9", "en"),
        (None, None, "de-DE, sv;q=0.5", "sv"),
        (None, None, "", "sv"),
    ],
)
def test_the_language_is_asked_for_or_swedish(query, cookie, accept, chosen):
    assert choose_language(query, cookie, accept) == chosen
