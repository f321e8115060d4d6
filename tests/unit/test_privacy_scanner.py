import pytest

from tests.privacy import personnummer_in

pytestmark = [pytest.mark.unit, pytest.mark.lawful]


def test_the_scanner_finds_valid_numbers_in_any_form():
    text = 'x {"pnr": "811218-9876"} 198112189876, 121212+1212 and 7010632391.'
    assert personnummer_in([text]) == ["811218-9876", "198112189876", "121212+1212", "7010632391"]


def test_the_scanner_ignores_what_is_not_a_valid_number():
    text = (
        "811218-9875 (check digit) 811232-9876 (date) 2026-11-23T17:04:05 port 39239 "
        "a1b2811218987612 uuid 12345678-1234-4123-8123-123456789012 offset 1763917445"
    )
    assert personnummer_in([text]) == []
