"""Who may do what on the Kafka broker: one SCRAM principal per service, ACLs from one table.

Every service logs in as its own principal (SASL/SCRAM-SHA-256, named like the service). It may
write the topics it produces, read the topics it consumes, use only its own consumer groups
(``samverkan.<service>.*``) and write dead letters; nothing else. ``GRANTS`` says which topics
those are, taken from the list of services (contracts/services.py), and every ACL is derived
from it, so a new service is one entry in that list. ``admin`` is the only super user: the
broker itself, topic creation, provisioning.

Passwords are random per stack, never built in. The local runner keeps them in its work
directory; docker-compose generates them in a volume (``python -m deploy credentials``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from contracts.services import ALL_SERVICES
from contracts.topics import DEAD_LETTER, Topic

__all__ = [
    "ADMIN",
    "GRANTS",
    "MECHANISM",
    "Credentials",
    "Grant",
    "Permission",
    "broker_properties",
    "create_principals",
    "grant",
    "permissions",
    "scram_format_argument",
    "write_compose_files",
]

#: The SASL mechanism of every client. SCRAM keeps the password off the wire and stores only a
#: salted hash in the broker's metadata log.
MECHANISM = "SCRAM-SHA-256"
#: The one super user.
ADMIN = "admin"
#: Listener names (also in docker-compose.yml): clients and the broker itself on CLIENT, the
#: broker's own link to its controller on CONTROLLER.
CLIENT_LISTENER = "CLIENT"
CONTROLLER_LISTENER = "CONTROLLER"
_ITERATIONS = 4096
_VISIBLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Grant:
    """The contract topics one service's principal may write and read."""

    writes: tuple[Topic, ...] = ()
    reads: tuple[Topic, ...] = ()


#: One entry per service with a Kafka login, from contracts/services.py; the ACLs below are
#: derived from it.
GRANTS: dict[str, Grant] = {
    s.name: Grant(writes=s.writes, reads=s.reads) for s in ALL_SERVICES if s.kafka_login
}


def consumer_group_prefix(service: str) -> str:
    """Every consumer group of a service starts with this (see services.kit.runtime)."""
    return f"samverkan.{service}."


@dataclass(frozen=True, order=True)
class Permission:
    """One ALLOW rule: a principal may do an operation on a topic or a group (or a prefix)."""

    principal: str
    operation: str  # "WRITE" or "READ"
    resource: str  # "TOPIC" or "GROUP"
    name: str
    prefixed: bool = False


def permissions(topic_prefix: str = "") -> list[Permission]:
    """Every rule the services need on the contract topics under ``topic_prefix``.

    Writing implies describing (metadata) and, for an idempotent producer, getting a producer
    id; reading a topic implies describing it; reading a group allows joining and committing.
    Each service also writes dead letters, which none of them reads.
    """
    rules: set[Permission] = set()
    for service, granted in GRANTS.items():
        principal = f"User:{service}"
        for topic in {*granted.writes, DEAD_LETTER}:
            rules.add(Permission(principal, "WRITE", "TOPIC", topic_prefix + topic.name))
        for topic in granted.reads:
            rules.add(Permission(principal, "READ", "TOPIC", topic_prefix + topic.name))
        group = consumer_group_prefix(service)
        rules.add(Permission(principal, "READ", "GROUP", group, prefixed=True))
    return sorted(rules)


@dataclass(frozen=True)
class Credentials:
    """The password of every principal of one stack (admin and each service)."""

    passwords: Mapping[str, str]

    @classmethod
    def generate(cls, principals: Iterable[str] = (ADMIN, *GRANTS)) -> Credentials:
        """Fresh random passwords."""
        return cls({}).including(principals)

    def including(self, principals: Iterable[str] = (ADMIN, *GRANTS)) -> Credentials:
        """These credentials plus a fresh password for every principal that has none yet."""
        # URL-safe characters: they need no quoting in JAAS entries or in --add-scram.
        extra = {p: secrets.token_urlsafe(24) for p in principals if p not in self.passwords}
        return Credentials({**self.passwords, **extra})

    def password(self, principal: str) -> str:
        """The password of ``principal``."""
        try:
            return self.passwords[principal]
        except KeyError:
            raise KeyError(
                f"no Kafka principal {principal!r}: add the service to contracts/services.py"
            ) from None

    def client_config(self, principal: str) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients that log in as ``principal``.

        Add ``bootstrap_servers``; ``KafkaServer.client_config`` does.
        """
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": principal,
            "sasl_plain_password": self.password(principal),
        }

    def service_env(self, principal: str) -> dict[str, str]:
        """The SAMVERKAN_KAFKA_* variables that log a service process in as ``principal``."""
        return {
            "SAMVERKAN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SAMVERKAN_KAFKA_SASL_MECHANISM": MECHANISM,
            "SAMVERKAN_KAFKA_USERNAME": principal,
            "SAMVERKAN_KAFKA_PASSWORD": self.password(principal),
        }

    @classmethod
    def load(cls, directory: Path) -> Credentials:
        """Read ``directory/<principal>/password`` files (empty when there are none)."""
        if not directory.is_dir():
            return cls({})
        return cls(
            {
                entry.parent.name: entry.read_text().strip()
                for entry in sorted(directory.glob("*/password"))
            }
        )

    def save(self, directory: Path, *, mode: int = 0o600) -> None:
        """Write one ``<principal>/password`` file each, so that a container can be given
        only its own (docker-compose mounts one sub-directory per service)."""
        for principal, password in self.passwords.items():
            folder = directory / principal
            folder.mkdir(parents=True, exist_ok=True)
            _write_secret(folder / "password", password + "\n", mode)


def _write_secret(path: Path, text: str, mode: int) -> None:
    # Created owner-only, then filled, then given its mode: never readable by others too early.
    # A read-only file from an earlier run is replaced rather than opened for writing.
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def broker_properties(credentials: Credentials) -> dict[str, str]:
    """The security part of the broker's ``server.properties``.

    Clients and the broker itself (inter-broker traffic) use SCRAM on the CLIENT listener. The
    broker's link to its controller uses PLAIN with the one user named in its JAAS entry:
    SCRAM credentials live in the metadata log that the controller serves, so Kafka does not
    support them on controller listeners of a real quorum. Either way the controller port
    answers nobody without the admin password; an anonymous super user there would let any
    local process bypass every ACL with admin requests sent straight to the controller.
    """
    password = credentials.password(ADMIN)
    client = CLIENT_LISTENER.lower()
    controller = CONTROLLER_LISTENER.lower()
    return {
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.{client}.{MECHANISM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required"
            f' username="{ADMIN}" password="{password}";'
        ),
        f"listener.name.{controller}.sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        f"listener.name.{controller}.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
            f' username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # Deny by default: a topic nobody was granted is the admin's alone.
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def scram_format_argument(credentials: Credentials) -> str:
    """``kafka-storage format --add-scram`` value that creates the admin's SCRAM credential.

    The admin must exist before the broker starts: it is the broker's own inter-broker login
    and the only one able to create the others.
    """
    return f"{MECHANISM}=[name={ADMIN},password={credentials.password(ADMIN)}]"


def write_compose_files(directory: Path) -> Credentials:
    """Passwords for docker-compose, kept when ``directory`` has them, and the broker's files.

    ``<principal>/password`` for each principal, one sub-directory each so that a container
    mounts only its own; ``broker/``: ``server.properties`` (the security part, which the
    apache/kafka image takes as the base of its configuration), ``admin.scram`` (the format
    argument) and ``admin-client.properties`` (for its health check). Readable by everyone:
    the containers run as different users, and each sees only the sub-directory it mounts.
    The broker's files are also writable by their owner, because the image copies them and
    then appends to the copy.
    """
    credentials = Credentials.load(directory).including()
    credentials.save(directory, mode=0o444)
    broker = directory / "broker"
    broker.mkdir(parents=True, exist_ok=True)
    admin_login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="{ADMIN}" password="{credentials.password(ADMIN)}";'
    )
    files = {
        "server.properties": _properties(broker_properties(credentials)),
        "admin.scram": scram_format_argument(credentials) + "\n",
        "admin-client.properties": _properties(
            {
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": MECHANISM,
                "sasl.jaas.config": admin_login,
            }
        ),
    }
    for name, text in files.items():
        _write_secret(broker / name, text, 0o644)
    for folder in (directory, *(path.parent for path in directory.glob("*/*"))):
        folder.chmod(0o755)
    return credentials


def _properties(values: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def _admin_client(admin: Mapping[str, Any]) -> AdminClient:
    """A librdkafka admin client from aiokafka-style settings (see Credentials.client_config)."""
    return AdminClient(
        {
            "bootstrap.servers": admin["bootstrap_servers"],
            "security.protocol": admin.get("security_protocol", "PLAINTEXT"),
            "sasl.mechanism": admin.get("sasl_mechanism", MECHANISM),
            "sasl.username": admin.get("sasl_plain_username", ""),
            "sasl.password": admin.get("sasl_plain_password", ""),
        }
    )


async def _results(futures: Iterable[Future[Any]]) -> list[Any]:
    return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))


async def create_principals(
    admin: Mapping[str, Any], credentials: Credentials, principals: Iterable[str] = GRANTS
) -> None:
    """Create or update the SCRAM credential of each service principal, as ``admin``.

    Idempotent; returns once the broker lists every one of them.
    """
    wanted = sorted(set(principals) - {ADMIN})
    if not wanted:
        return
    client = _admin_client(admin)
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, _ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(p, info, credentials.password(p).encode()) for p in wanted
    ]
    await _results(client.alter_user_scram_credentials(upserts).values())
    deadline = time.monotonic() + _VISIBLE_TIMEOUT_S
    while True:
        try:
            described = client.describe_user_scram_credentials(wanted)
            await _results(described.values() if isinstance(described, dict) else [described])
            return
        except Exception:  # not yet visible on the broker: ask again until the deadline
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.05)


_OPERATIONS = {"READ": AclOperation.READ, "WRITE": AclOperation.WRITE}
_RESOURCES = {"TOPIC": ResourceType.TOPIC, "GROUP": ResourceType.GROUP}


def _binding(rule: Permission) -> AclBinding:
    pattern = ResourcePatternType.PREFIXED if rule.prefixed else ResourcePatternType.LITERAL
    return AclBinding(
        _RESOURCES[rule.resource],
        rule.name,
        pattern,
        rule.principal,
        "*",
        _OPERATIONS[rule.operation],
        AclPermissionType.ALLOW,
    )


async def grant(admin: Mapping[str, Any], topic_prefix: str = "") -> None:
    """Create the ACLs of ``permissions(topic_prefix)``, as ``admin``.

    Idempotent; returns once the broker enforces all of them, so a client started next is
    not refused by a rule still on its way from the controller.
    """
    client = _admin_client(admin)
    wanted = [_binding(rule) for rule in permissions(topic_prefix)]
    await _results(client.create_acls(wanted).values())
    resources = {(b.restype, b.name, b.resource_pattern_type) for b in wanted}
    expected = {_key(b) for b in wanted}
    deadline = time.monotonic() + _VISIBLE_TIMEOUT_S
    while True:
        filters = [
            # None is "any principal, any host" (the library's stubs say str).
            AclBindingFilter(
                restype,
                name,
                pattern,
                None,  # type: ignore[arg-type]
                None,  # type: ignore[arg-type]
                AclOperation.ANY,
                AclPermissionType.ANY,
            )
            for restype, name, pattern in resources
        ]
        found = await _results(client.describe_acls(f) for f in filters)
        if expected <= {_key(b) for bindings in found for b in bindings}:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"ACLs for prefix {topic_prefix!r} not in force after 30 s")
        await asyncio.sleep(0.05)


def _key(binding: AclBinding) -> tuple[object, ...]:
    return (
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.operation,
        binding.permission_type,
    )
