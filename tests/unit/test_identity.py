from datetime import date

import pytest

from services.kit.identity import InvalidPersonnummer, Pseudonymizer, luhn_ok, parse_personnummer

pytestmark = [pytest.mark.unit, pytest.mark.lawful]
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "canonical", "born"),
    [
        ("811218-9876", "198112189876", date(1981, 12, 18)),
        ("8112189876", "198112189876", date(1981, 12, 18)),
        ("198112189876", "198112189876", date(1981, 12, 18)),
        ("19811218-9876", "198112189876", date(1981, 12, 18)),
        ("080229-1234", None, date(2008, 2, 29)),  # leap day; check digit computed below
        ("121212+1212", "191212121212", date(1912, 12, 12)),  # '+': 100 or older
        ("121212-1212", "201212121212", date(2012, 12, 12)),
        ("701063-2391", "197010632391", date(1970, 10, 3)),  # samordningsnummer: day + 60
    ],
)
def test_valid_numbers_are_canonicalised(text, canonical, born):
    if canonical is None:  # fix the check digit of a synthetic number
        digits = text.replace("-", "")[:9]
        check = next(d for d in "0123456789" if luhn_ok(digits + d))
        text, canonical = f"{digits[:6]}-{digits[6:]}{check}", f"20{digits}{check}"
    identity = parse_personnummer(text, TODAY)
    assert identity.number == canonical
    assert identity.birth_date == born
    assert identity.coordination == text.startswith("701063")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("81121-9876", "format"),
        ("8112189876x", "format"),
        ("811232-9876", "date"),  # 32 December
        ("810229-9876", "date"),  # 1981 was not a leap year
        ("811218-9875", "check digit"),
        ("701093-2391", "date"),  # coordination day 33
        ("20301218-9876", "date"),  # future
    ],
)
def test_invalid_numbers_name_the_rule(text, problem):
    with pytest.raises(InvalidPersonnummer) as err:
        parse_personnummer(text, TODAY)
    assert str(err.value).startswith(problem)


def test_pseudonym_is_keyed_and_stable():
    identity = parse_personnummer("811218-9876", TODAY)
    one, other = Pseudonymizer(b"k" * 32), Pseudonymizer(b"j" * 32)
    assert one.subject_of(identity) == one.subject_of(parse_personnummer("198112189876", TODAY))
    assert one.subject_of(identity) != other.subject_of(identity)
    assert len(one.subject_of(identity)) == 64 and "811218" not in one.subject_of(identity)


def test_a_short_key_is_refused():
    with pytest.raises(ValueError):
        Pseudonymizer(b"short")
