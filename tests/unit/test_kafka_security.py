"""The Kafka principals and ACLs are derived from one table, for the local runner and compose."""

import stat
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from contracts.topics import DEAD_LETTER
from deploy.kafka_security import (
    ADMIN,
    GRANTS,
    Credentials,
    broker_properties,
    permissions,
    scram_format_argument,
    write_compose_files,
)
from deploy.services import SERVICES
from services.kit.settings import KafkaSettings

pytestmark = [pytest.mark.unit, pytest.mark.lawful]

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_has_a_grant():
    assert set(SERVICES) <= set(GRANTS)
    assert ADMIN not in GRANTS, "the admin is a super user, not a service"


def test_rules_follow_the_table_and_name_only_the_topics_under_the_prefix():
    rules = permissions("t1.")
    for service, granted in GRANTS.items():
        mine = {(r.operation, r.resource, r.name, r.prefixed) for r in rules
                if r.principal == f"User:{service}"}  # fmt: skip
        assert mine == {
            *(("WRITE", "TOPIC", "t1." + t.name, False) for t in (*granted.writes, DEAD_LETTER)),
            *(("READ", "TOPIC", "t1." + t.name, False) for t in granted.reads),
            ("READ", "GROUP", f"samverkan.{service}.", True),
        }, service
    # Only groups are granted by prefix; no service reads dead letters.
    assert all(r.resource == "GROUP" for r in rules if r.prefixed)
    assert not [r for r in rules if r.operation == "READ" and r.name.endswith(DEAD_LETTER.name)]


def test_the_broker_denies_by_default_and_trusts_only_the_admin():
    credentials = Credentials.generate()
    properties = broker_properties(credentials)
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == f"User:{ADMIN}"
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    password = credentials.password(ADMIN)
    assert password in scram_format_argument(credentials)
    assert all(credentials.password(s) not in "".join(properties.values()) for s in GRANTS)


def test_passwords_are_random_per_stack_and_kept_once_made(tmp_path):
    first, second = Credentials.generate(), Credentials.generate()
    assert set(first.passwords) == {ADMIN, *GRANTS}
    assert not set(first.passwords.values()) & set(second.passwords.values())
    first.save(tmp_path)
    assert Credentials.load(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "school" / "password").stat().st_mode) == 0o600
    assert Credentials.load(tmp_path).including() == first


def test_compose_files_keep_passwords_between_runs(tmp_path):
    made = write_compose_files(tmp_path)
    assert write_compose_files(tmp_path) == made
    broker = tmp_path / "broker"
    assert scram_format_argument(made) in (broker / "admin.scram").read_text()
    assert "super.users=User:admin" in (broker / "server.properties").read_text()
    assert made.password(ADMIN) in (broker / "admin-client.properties").read_text()


def test_a_service_logs_in_or_refuses_to_start(tmp_path):
    with pytest.raises(ValidationError, match="SAMVERKAN_KAFKA_PASSWORD"):
        KafkaSettings(username="school")
    (tmp_path / "password").write_text("s3cret\n")
    settings = KafkaSettings(username="school", password_file=tmp_path / "password")
    options = settings.client_options()
    assert options["sasl_plain_password"] == "s3cret"
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert "s3cret" not in repr(settings)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _mounts(service: dict) -> list[dict]:
    return [v for v in service.get("volumes", []) if isinstance(v, dict)]


def test_compose_broker_has_no_unauthenticated_listener(compose):
    env = compose["services"]["kafka"]["environment"]
    protocols = dict(
        pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}
    (mount,) = _mounts(compose["services"]["kafka"])
    assert mount["volume"]["subpath"] == "broker"
    assert "admin.scram" in " ".join(compose["services"]["kafka"]["command"])


def test_compose_services_log_in_as_themselves_with_only_their_own_password(compose):
    services = compose["services"]
    for name in (n for n in GRANTS if n in services):
        env = services[name]["environment"]
        assert env["SAMVERKAN_KAFKA_USERNAME"] == name
        (mount,) = [
            m
            for m in _mounts(services[name])
            if m["source"] == "kafka-credentials" and m["target"] == "/run/secrets/kafka"
        ]
        assert mount["volume"]["subpath"] == name, name
        assert mount.get("read_only") is True
        assert env["SAMVERKAN_KAFKA_PASSWORD_FILE"] == f"{mount['target']}/password"
        # Besides its own Kafka password, only the services' shared application secrets.
        others = [m["volume"]["subpath"] for m in _mounts(services[name]) if m is not mount]
        assert others in ([], ["app"]), name
    topics = services["topics"]
    assert "--credentials" in topics["command"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
