"""The event table in contracts is the one place that says what an event type means: every
event type of the catalogue has an entry, nothing outside contracts spells an event type's
name (translations and tests aside), and what derives from the table agrees with it."""

import re
from pathlib import Path

import pytest

from contracts import EVENT_TOPICS, Event
from contracts.catalogue import EVENT_TABLE, Meaning, type_of
from contracts.lifecycle import OPENING_EVENTS, TRANSITIONS
from services.features.handoffs.api import ACTIONS, handoff_router
from services.portal import actions as portal_actions

pytestmark = [pytest.mark.unit, pytest.mark.structure]

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = frozenset(type_of(model) for topic in EVENT_TOPICS for model in topic.events)
# Where a name may be spelt: the contracts themselves, the translations keyed by it, and
# migrations (applied once and never edited, so they keep the words they were written with).
ALLOWED = ("contracts/", "services/portal/i18n.py")
SCANNED = ("services", "deploy", "chaos", "bench")
SUFFIXES = {".py", ".html", ".js", ".sql", ".yaml", ".yml"}


def missing_entries(catalogue: frozenset[str], table: dict[str, Meaning]) -> list[str]:
    """Event types of the catalogue without an entry in the table, and entries without one."""
    return sorted(catalogue ^ set(table))


def spelt_names(root: Path, names: frozenset[str]) -> list[str]:
    """`path:line: name` for each event type name in a string literal outside contracts."""
    alternatives = "|".join(sorted(names))
    quoted = re.compile(rf"""["']({alternatives})["']""")
    found = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.suffix not in SUFFIXES or relative.startswith(ALLOWED):
                continue
            if "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                found += [f"{relative}:{number}: {m}" for m in quoted.findall(line)]
    return found


def test_every_event_type_of_the_catalogue_has_an_entry():
    assert len(CATALOGUE) == 26
    assert missing_entries(CATALOGUE, EVENT_TABLE) == []


def test_a_missing_entry_is_found():
    table = dict(EVENT_TABLE)
    del table["ReferralPaused"]
    assert missing_entries(CATALOGUE, table) == ["ReferralPaused"]


def test_no_event_type_is_spelt_outside_contracts():
    assert spelt_names(ROOT, CATALOGUE) == []


def test_a_spelt_event_type_is_found(tmp_path):
    service = tmp_path / "services" / "somewhere"
    service.mkdir(parents=True)
    (service / "rules.py").write_text('LATE = frozenset({"ReferralExpired"})\n')
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "fine.py").write_text('NAME = "ReferralExpired"\n')
    assert spelt_names(tmp_path, CATALOGUE) == ["services/somewhere/rules.py:1: ReferralExpired"]


def test_non_handoff_events_say_so():
    for name, meaning in EVENT_TABLE.items():
        on_handoff_topic = any(
            meaning.model in topic.events
            for topic in EVENT_TOPICS
            if topic.name.endswith("handoffs.v1")
        )
        assert meaning.handoff == on_handoff_topic, name
        if not meaning.handoff:
            assert meaning.action is None and not meaning.steps and not meaning.shares, name


def test_the_state_machine_is_the_tables_rows():
    assert {t.event_type for t in TRANSITIONS} | set(OPENING_EVENTS) == {
        name for name, meaning in EVENT_TABLE.items() if meaning.handoff
    }
    # A cancel may be made by either side: one event type, two rows.
    assert len([t for t in TRANSITIONS if t.event_type == "ReferralCancelled"]) == 2


def own_fields(model: type[Event]) -> set[str]:
    return set(model.model_fields) - set(Event.model_fields)


def test_the_loops_action_routes_are_the_tables_actions():
    with_action = {m.action: m.model for m in EVENT_TABLE.values() if m.action}
    routed = {path: event for path, (_, event) in ACTIONS.items()}
    assert routed == {a: m for a, m in with_action.items() if a != "redirect"}
    paths = {route.path for route in handoff_router().routes}  # type: ignore[attr-defined]
    assert {f"/referrals/{{referral_id}}/{action}" for action in with_action} <= paths
    for path, (body, event) in ACTIONS.items():
        assert set(body.model_fields) - {"agency"} == own_fields(event), path


def test_the_portal_offers_the_actions_people_take():
    offered = {name: action.path for name, action in portal_actions.ACTIONS.items()}
    expected = {
        name: m.action
        for name, m in EVENT_TABLE.items()
        if m.action and not m.made_by_system and m.action != "redirect"
    }
    assert offered == expected
    for name, action in portal_actions.ACTIONS.items():
        fields = own_fields(EVENT_TABLE[name].model)
        assert ({action.field} if action.field else set()) == fields, name
