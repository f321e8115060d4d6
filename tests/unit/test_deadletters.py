"""The dead-letter tools without a broker: reading a dead letter's headers, choosing letters,
one replay per source message, the table, and where the login comes from."""

import argparse
import json

import pytest

from deploy.deadletters import (
    DeadLetter,
    add_arguments,
    client_config,
    for_replay,
    format_table,
    parse_position,
    select,
)

pytestmark = [pytest.mark.unit, pytest.mark.chaos]


def letter(partition=0, offset=0, consumer="social.handoffs", reason="handler_failed",
           source=("samverkan.handoffs.v1", "3", "17"), value=b'{"event_id": "e1", "event_type": "ReferralRequested"}'):  # fmt: skip
    headers = {"dlq.reason": reason, "dlq.detail": "ConsentNotYetKnown('no consent')",
               "dlq.consumer": consumer, "dlq.attempts": "5"}  # fmt: skip
    if source:
        headers |= dict(zip(["dlq.source_topic", "dlq.source_partition", "dlq.source_offset"],
                            source, strict=True))  # fmt: skip
    return DeadLetter(partition, offset, b"key", value, headers)


def test_a_dead_letter_says_why_who_and_where_from():
    found = letter(partition=2, offset=9)
    assert found.position == "2:9"
    assert (found.reason, found.consumer, found.attempts) == (
        "handler_failed",
        "social.handoffs",
        5,
    )
    assert found.source == ("samverkan.handoffs.v1", 3, 17)
    assert (found.event_id, found.event_type) == ("e1", "ReferralRequested")
    assert found.to_json()["source"] == "samverkan.handoffs.v1 3:17"


@pytest.mark.parametrize(
    "value", [b"\xff\x00garbage", b'["not", "an", "object"]', b'{"event_id": 7}']
)
def test_a_message_that_is_not_an_event_has_no_event_id(value):
    assert letter(value=value).event_id is None


def test_a_letter_without_source_headers_has_no_source_and_cannot_be_replayed():
    orphan = letter(source=None)
    assert orphan.source is None
    with pytest.raises(ValueError, match="does not say where it came from"):
        for_replay([orphan])


def test_select_by_reason_consumer_position_and_event():
    letters = [letter(0, 0), letter(0, 1, consumer="audit.log", reason="not_json"),
               letter(1, 0, value=b'{"event_id": "e2"}')]  # fmt: skip
    assert select(letters, reason="not_json") == [letters[1]]
    assert select(letters, consumer="social.handoffs") == [letters[0], letters[2]]
    assert select(letters, positions=[(1, 0), (0, 0)]) == [letters[0], letters[2]]
    assert select(letters, event_ids=["e2"]) == [letters[2]]
    assert select(letters, reason="not_json", consumer="social.handoffs") == []


def test_one_replay_per_source_message_however_many_consumers_gave_up_on_it():
    same = [
        letter(0, 0),
        letter(0, 1, consumer="audit.log"),
        letter(1, 5, consumer="school.handoffs"),
    ]
    other = letter(2, 0, source=("samverkan.handoffs.v1", "3", "18"))
    assert for_replay([*same, other]) == [same[0], other]


@pytest.mark.parametrize("text", ["3", "a:1", "1:", ":2", "1:2:3", "-1:4"])
def test_positions_are_partition_colon_offset(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_position(text)


def test_positions_parse():
    assert parse_position("2:41") == (2, 41)


def test_the_table_shows_each_letter_and_its_detail():
    shown = format_table([letter(1, 4)])
    assert "1:4" in shown and "handler_failed" in shown and "samverkan.handoffs.v1 3:17" in shown
    assert "ConsentNotYetKnown" in shown and shown.endswith("1 dead letter(s)")


def test_the_login_comes_from_stack_json_unless_given(tmp_path):
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"kafka_bootstrap": "127.0.0.1:9999", "kafka_login": {
        "sasl_mechanism": "SCRAM-SHA-256", "passwords": {"admin": "s3cret", "audit": "other"}}}))  # fmt: skip
    config = client_config(stack)
    assert config["bootstrap_servers"] == "127.0.0.1:9999"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("admin", "s3cret")
    password = tmp_path / "password"
    password.write_text("given\n")
    given = client_config(tmp_path / "absent.json", "127.0.0.1:1", "audit", password)
    assert (given["bootstrap_servers"], given["sasl_plain_password"]) == ("127.0.0.1:1", "given")


def test_without_stack_json_or_options_it_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="make run"):
        client_config(tmp_path / "absent.json")


def test_replay_needs_offsets_or_event_ids_but_not_both():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    chosen = parser.parse_args(["replay", "--offset", "0:3", "--offset", "1:4"])
    assert chosen.offset == [(0, 3), (1, 4)]
    for wrong in (["replay"], ["replay", "--offset", "0:1", "--event-id", "e1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(wrong)
